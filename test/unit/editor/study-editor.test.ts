/**
 * The study editor features with vscode stubbed: CodeLens titles (problems, plain, estimated, running), the study
 * panel's message handling (every message checked; a cell or a log must be one the host sent), its HTML (strict CSP,
 * nonce), the hover on a task (from the results index), diagnostics as you type, and the cell texts, which must read
 * as `study report --format md` writes them.
 */
import { stub, Uri } from '../../support/vscode-stub';
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ResultsStore } from '../../../src/engine/report/store';
import { parseStudy } from '../../../src/engine/study/study-file';
import { formatTables, type StudyTable } from '../../../src/engine/study/table';
import { StudyCodeLensProvider, type StudyLensSource } from '../../../src/editor/study-codelens';
import { StudyDiagnostics } from '../../../src/editor/study-diagnostics';
import { cellHeads, cellIndexName, cellTexts, formatDuration, runLensTitle, summaryLines } from '../../../src/editor/study-format';
import { StudyHoverProvider } from '../../../src/editor/study-hover';
import { routeStudyMessage, studyPanelHtml, type StudyPanelActions } from '../../../src/editor/study-panel';
import { isStudyPanelToHost, type StudyPanelState, type StudyTableJson } from '../../../src/editor/study-protocol';
import { fakeTemplateReport } from '../../support/fake-engine';

const STUDY = 'model: ntk-mini\ndata: data\ntasks: [SST-2, mr]\nshots: 16\nseeds: [13, 21]\nmodes: [prompt, standard]\nkernel: {kinds: [sgd]}\n';

describe('study editor features (vscode stubbed)', () => {
  let ws: string;
  let file: string;
  const doc = (text = STUDY) => ({ uri: Uri.file(file), getText: () => text, languageId: 'ntk-study' }) as never;
  beforeEach(() => {
    stub.reset();
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-study-ed-'));
    stub.workspaceFolder = ws;
    fs.mkdirSync(path.join(ws, 'data'));
    file = path.join(ws, 'grid.ntk-study.yaml');
    fs.writeFileSync(file, STUDY);
  });
  afterEach(() => fs.rmSync(ws, { recursive: true, force: true }));

  const source = (over: Partial<StudyLensSource> = {}): StudyLensSource => ({
    isRunning: () => false, estimate: () => undefined,
    session: () => ({ studyFile: file, modes: [], jobs: [], running: false }), ...over,
  });
  const lensRows = (p: StudyCodeLensProvider, text?: string) => p.provideCodeLenses(doc(text)).map(l => [l.range.start.line, l.command!.title, l.command!.command, l.command!.arguments]);

  it('CodeLens above the first line: Run (N jobs from the file), Submit to Slurm…, Open table', () => {
    assert.deepStrictEqual(lensRows(new StudyCodeLensProvider(source())), [
      [0, '▶ Run study (8 jobs)', 'ntkLens.runStudy', [file]],
      [0, 'Submit to Slurm…', 'ntkLens.submitStudy', [file]],
      [0, 'Open table', 'ntkLens.openStudyTable', [file]],
    ]);
  });

  it('CodeLens: the estimate only when it lists the same jobs; all done; problems; running with Cancel', () => {
    const labels = ['SST-2', 'mr'].flatMap(t => ['prompt', 'standard'].flatMap(m => [13, 21].map(s => `ntk-mini ${t} 16-shot ${m} seed ${s}`)));
    const rows = (done: (i: number) => boolean) => labels.map((label, index) => ({ index, label, done: done(index), key: null, estimate: { memoryMB: 500, seconds: 450 } }));
    const title = (est: StudyLensSource['estimate']) => new StudyCodeLensProvider(source({ estimate: est })).provideCodeLenses(doc())[0].command!.title;
    assert.strictEqual(title(() => rows(() => false)), '▶ Run study (8 jobs, ~60 min)');
    assert.strictEqual(title(() => rows(i => i < 2)), '▶ Run study (8 jobs, 2 done, ~45 min left)');
    assert.strictEqual(title(() => rows(() => true)), '▶ Run study (8 jobs, all done)');
    assert.strictEqual(title(() => rows(() => false).slice(1)), '▶ Run study (8 jobs)', 'an estimate of another version of the file is not shown');
    const bad = lensRows(new StudyCodeLensProvider(source()), 'model: ntk-mini\ndata: data\ntasks: [SST-3, mr, mr]\n');
    assert.deepStrictEqual(bad, [[0, '$(error) 2 problems in this study file', 'workbench.actions.view.problems', []]]);
    const running = new StudyCodeLensProvider(source({
      isRunning: () => true,
      session: () => ({ studyFile: file, modes: [], running: true, jobs: ['done', 'failed', 'started', 'queued'].map((state, index) => ({ index, label: `j${index}`, state: state as never })) }),
    }));
    assert.deepStrictEqual(lensRows(running), [
      [0, '$(sync~spin) study: 1/4 done, 1 failed, 1 running', 'ntkLens.openStudyTable', [file]],
      [0, 'Cancel', 'ntkLens.cancelStudy', [file]],
    ]);
    assert.deepStrictEqual([formatDuration(9), formatDuration(89.6), formatDuration(600), formatDuration(5400), runLensTitle(1)], ['9 s', '90 s', '10 min', '1.5 h', '▶ Run study (1 job)']);
  });

  const table: StudyTableJson[] = [{
    model: 'ntk-mini', shots: 16, kinds: ['sgd'],
    rows: [{ task: 'SST-2', metric: 'acc', cells: [
      { mode: 'prompt', key: 'aaaaaaaaaaaaaaaa', seeds: [13], missing: [21], failed: [], summary: fakeTemplateReport('p').summary, verdict: fakeTemplateReport('p').verdict },
      { mode: 'standard', key: 'bbbbbbbbbbbbbbbb', seeds: [], missing: [13], failed: [{ seed: 21, index: 3, why: 'exit code 1' }] },
    ] }],
    summary: { prompt: { kernelLike: [], notKernelLike: [], inconclusive: [], incomplete: ['SST-2'] }, standard: { kernelLike: [], notKernelLike: [], inconclusive: [], incomplete: ['SST-2'] } },
  }];
  const state = (): StudyPanelState => ({ studyFile: file, modes: ['prompt', 'standard'], running: false, tables: table,
    jobs: [{ index: 0, label: 'a', state: 'done', logFile: '/logs/job-0.log' }, { index: 1, label: 'b', state: 'queued' }] });

  it('panel messages: each acted on only when it is exactly a known message naming something the host sent', () => {
    const calls: string[] = [];
    const actions: StudyPanelActions = {
      run: f => calls.push(`run ${f}`), cancel: f => calls.push(`cancel ${f}`), refresh: f => calls.push(`refresh ${f}`),
      exportTable: (f, fmt) => calls.push(`export ${fmt} ${f}`), openCell: (_f, k) => calls.push(`cell ${k}`), openLog: (_f, l) => calls.push(`log ${l}`),
    };
    const ok = [{ type: 'ready' }, { type: 'run' }, { type: 'cancel' }, { type: 'refresh' }, { type: 'export', format: 'tex' },
      { type: 'openCell', key: 'aaaaaaaaaaaaaaaa' }, { type: 'openLog', index: 0 }];
    assert.deepStrictEqual(ok.map(m => routeStudyMessage(m, state(), actions)), ['ready', 'run', 'cancel', 'refresh', 'export tex', 'openCell aaaaaaaaaaaaaaaa', 'openLog 0']);
    assert.deepStrictEqual(calls, [`run ${file}`, `cancel ${file}`, `refresh ${file}`, `export tex ${file}`, 'cell aaaaaaaaaaaaaaaa', 'log /logs/job-0.log']);
    const dropped = [
      null, 'run', [], { type: 'run', file: '/etc/passwd' }, { type: 'export', format: 'html' }, { type: 'export' }, { type: 'exec', cmd: 'rm' },
      { type: 'openCell', key: '../../etc' }, { type: 'openCell', key: 'AAAAAAAAAAAAAAAA' },
      { type: 'openCell', key: 'bbbbbbbbbbbbbbbb' }, // a cell without a result
      { type: 'openCell', key: 'cccccccccccccccc' }, // no cell of the shown table
      { type: 'openLog', index: 1 }, { type: 'openLog', index: 9 }, { type: 'openLog', index: -1 }, { type: 'openLog', index: '0' }, { type: 'openLog', index: 0.5 },
    ];
    for (const m of dropped) assert.strictEqual(routeStudyMessage(m, state(), actions), undefined, JSON.stringify(m));
    assert.strictEqual(routeStudyMessage({ type: 'run' }, undefined, actions), undefined, 'no study shown');
    assert.strictEqual(calls.length, 6, 'nothing more was done');
    assert.ok(isStudyPanelToHost({ type: 'export', format: 'json' }) && !isStudyPanelToHost({ type: 'ready', x: 1 }));
  });

  it('panel HTML: strict CSP with a fresh nonce, the study bundle and styles via asWebviewUri, nothing inline or remote', () => {
    const webview = { cspSource: 'vscode-resource:', asWebviewUri: (u: Uri) => `vscode-resource:${u.fsPath}` } as never;
    const a = studyPanelHtml(webview, Uri.file('/ext') as never);
    const nonce = /nonce-([A-Za-z0-9+/=]+)/.exec(a)![1];
    assert.ok(nonce.length >= 22 && !studyPanelHtml(webview, Uri.file('/ext') as never).includes(nonce));
    assert.match(a, /default-src 'none'; img-src vscode-resource: data:; style-src vscode-resource:; font-src vscode-resource:; script-src 'nonce-/);
    assert.ok(a.includes(`<script nonce="${nonce}" src="vscode-resource:/ext/dist/webview/study.js"></script>`));
    assert.ok(a.includes('<link rel="stylesheet" href="vscode-resource:/ext/dist/webview/study.css">'));
    assert.ok(!/<script(?![^>]*src=)/.test(a) && !/<style/.test(a) && !/style="/.test(a) && !/https?:\/\//.test(a));
  });

  it('cell texts and summary lines read as `study report --format md` writes them (missing and failed cells marked)', () => {
    const study = parseStudy(STUDY.replace('tasks: [SST-2, mr]', 'tasks: [SST-2]'), file).study!;
    const report = fakeTemplateReport('p');
    const engine: StudyTable[] = [{ ...table[0], rows: [{ ...table[0].rows[0], cells: [
      { mode: 'prompt', key: 'aaaaaaaaaaaaaaaa', seeds: [13], missing: [21], failed: [], report },
      { mode: 'standard', key: 'bbbbbbbbbbbbbbbb', seeds: [], missing: [13], failed: [{ seed: 21, index: 3, why: 'exit code 1' }] },
    ] }] }];
    const md = formatTables(engine, study, 'md').split('\n');
    const row = table[0].rows[0];
    assert.strictEqual(md[2], `| task | metric | ${['prompt', 'standard'].flatMap(m => cellHeads(['sgd']).map(h => `${m} ${h}`)).join(' | ')} |`);
    assert.strictEqual(md[4], `| SST-2 | acc | ${row.cells.flatMap(c => cellTexts(c, ['sgd'])).join(' | ')} |`);
    assert.ok(md[4].includes('FAILED seed 21 (job 3: exit code 1); missing seed 13') && md[4].includes('inconclusive; missing seed 21'), md[4]);
    assert.deepStrictEqual(md.filter(l => l.startsWith('- ')), summaryLines(table[0]).map(l => `- ${l}`));
  });

  it('hover on a task of the `tasks:` list: its cells from the results index; elsewhere nothing', () => {
    const store = new ResultsStore(path.join(ws, '.ntk'));
    const r = fakeTemplateReport('prompt', 0.8);
    store.writeTemplateReport('0123456789abcdef', r, { specFile: file, templateName: cellIndexName('SST-2', 16, 'prompt', 'ntk-mini'), model: 'ntk-mini', task: 'SST-2', createdAt: '2026-03-01T10:00:00Z' });
    const h = new StudyHoverProvider();
    const at = (line: number, character: number) => h.provideHover(doc(), { line, character } as never);
    const hover = at(2, 9)!; // on "SST-2" in "tasks: [SST-2, mr]"
    const md = (hover.contents[0] as { value: string }).value;
    assert.deepStrictEqual([hover.range!.start.line, hover.range!.start.character, hover.range!.end.character], [2, 8, 13]);
    assert.match(md, /^\*\*SST-2\*\* \(test acc %, mean ± std over seeds\)/);
    assert.ok(md.includes('| cell | FT | K[SGD] | agree | verdict | seeds | computed |'), md);
    assert.ok(md.includes('| prompt | 81.0 | 80.0 | 90.0 | inconclusive | 1 | 2026-03-01 |'), md);
    assert.ok(md.includes('| standard | — | — | — | — | — | not yet |'), md);
    assert.ok(md.includes(`- *prompt:* ${r.verdict.reason}`), md);
    assert.match((at(2, 16)!.contents[0] as { value: string }).value, /\*\*mr\*\*: no results in the store yet/);
    assert.strictEqual(at(0, 3), undefined, 'not on a task');
    assert.strictEqual(at(2, 2), undefined, 'on the key, not a task');
  });

  it('diagnostics: every parseStudy error at its range, as you type (debounced), cleared on close', async () => {
    const d = new StudyDiagnostics(5);
    d.schedule(doc('model: ntk-mini\ndata: data\ntasks: [SST-2, sst2x]\nmodes: [prompt, nope]\n'));
    d.schedule({ ...(doc() as object), languageId: 'yaml' } as never); // another language: ignored
    await new Promise(r => setTimeout(r, 40));
    const diags = stub.diagnostics.get(`file://${file}`)!;
    assert.deepStrictEqual(diags.map(x => [x.range.start.line, x.range.start.character, x.range.end.character, x.severity, x.source]),
      [[2, 15, 20, 0, 'ntk-lens'], [3, 16, 20, 0, 'ntk-lens']]);
    assert.match(diags[0].message, /Unknown task 'sst2x'/);
    d.validateNow(doc());
    assert.deepStrictEqual(stub.diagnostics.get(`file://${file}`), []);
    d.clear(doc());
    assert.ok(!stub.diagnostics.has(`file://${file}`));
    d.dispose();
  });
});
