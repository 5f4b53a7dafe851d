// Studies in the real extension host (code-server 4.100.3): a one-job study over the LM-BFF SST-2 data in the shared
// data folder (16-shot, seed 13, prompt mode, 16 dev and 16 test examples, 8 fine-tuning steps, ntk-mini, wasm),
// written into the test workspace. Its CodeLens runs `ntk-lens study run --events` (dist/cli.js, a child process of
// the extension); the study panel's table must hold what `ntk-lens study report --format json` of the same store says.
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { StudyPanelState, StudyTableJson } from '../../../src/editor/study-protocol';
import type { StudyController, StudyRunResult } from '../../../src/editor/study-runs';

const until = async <T>(f: () => T | undefined | false | Promise<T | undefined | false>, what: string, ms = 30000): Promise<T> => {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise(r => setTimeout(r, 200));
  }
};
const hoverText = (hs: vscode.Hover[]) => hs.flatMap(h => h.contents.map(c => (c as vscode.MarkdownString).value ?? String(c))).join('\n');

describe('studies in a real extension host (real CLI, ntk-mini, wasm)', () => {
  const ws = vscode.workspace.workspaceFolders![0].uri.fsPath;
  const file = path.join(ws, 'tiny.ntk-study.yaml');
  const out = path.join(ws, '.ntk');
  let api: { studies: StudyController; studyPanelState: () => StudyPanelState | undefined };
  let cli: string;
  let doc: vscode.TextDocument;
  const report = (format: string) => execFileSync(process.execPath, [cli, 'study', 'report', file, '--out', out, '--format', format], { encoding: 'utf8', maxBuffer: 1 << 26 });

  before(async function () {
    const ext = vscode.extensions.getExtension('ntk-lens.ntk-lens');
    assert.ok(ext, 'extension ntk-lens.ntk-lens is installed');
    api = (await ext.activate()) as typeof api;
    const root = fs.realpathSync(ext.extensionPath);
    cli = path.join(root, 'dist', 'cli.js');
    const data = path.resolve(root, '..', 'shared', 'data', 'lm-bff');
    if (!fs.existsSync(path.join(data, 'SST-2', 'k-shot', '16-13', 'train.tsv'))) {
      console.log(`no LM-BFF data in ${data}: the study tests are skipped`);
      return this.skip();
    }
    fs.writeFileSync(file, [
      '# a one-job study for the real-VS-Code tests',
      'model: ntk-mini',
      `data: ${data}`,
      'tasks: [SST-2]',
      'shots: 16',
      'seeds: [13]',
      'modes: [prompt]',
      'test_limit: 16',
      'dev_limit: 16',
      'max_length: 64',
      'backend: wasm',
      'finetune: {optimizer: sgd, learning_rate: 1.0e-2, steps: 8, batch_size: 8, eval_every: 4}',
      'kernel: {kinds: [sgd], solver: lstsq}',
      '',
    ].join('\n'));
    doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
  });

  it('gives *.ntk-study.yaml the ntk-study language, its diagnostics as you type, and the study commands', async () => {
    assert.strictEqual(doc.languageId, 'ntk-study');
    const cmds = await vscode.commands.getCommands(true);
    for (const c of ['runStudy', 'submitStudy', 'openStudyTable', 'exportStudyTable', 'cancelStudy']) assert.ok(cmds.includes(`ntkLens.${c}`), c);
    const ed = await vscode.window.showTextDocument(doc);
    const line = doc.getText().split('\n').findIndex(l => l.startsWith('tasks:'));
    await ed.edit(e => e.replace(new vscode.Range(line, 8, line, 13), 'SST-3'));
    const diag = await until(() => vscode.languages.getDiagnostics(doc.uri).find(d => /Unknown task 'SST-3'/.test(d.message)), 'the diagnostic of an unknown task');
    assert.deepStrictEqual([diag.range.start.line, diag.range.start.character, diag.severity], [line, 8, vscode.DiagnosticSeverity.Error]);
    await vscode.commands.executeCommand('undo');
    await until(() => vscode.languages.getDiagnostics(doc.uri).length === 0, 'the diagnostics to clear after undo');
    if (doc.isDirty) await doc.save();
  });

  it('shows ▶ Run study with the engine estimate, runs it from the lens, and the panel table holds what `study report` says', async () => {
    const lens = await until(async () => {
      const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
      return lenses.find(l => /^▶ Run study \(1 job, ~\d+ (s|min)\)$/.test(l.command?.title ?? ''));
    }, 'the Run study lens with its estimate (`study jobs --json`)', 60000);
    const titles = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri)).map(l => l.command?.title);
    assert.deepStrictEqual(titles.slice(1), ['Submit to Slurm…', 'Open table']);
    assert.deepStrictEqual(lens.command!.arguments, [file]);

    const running = vscode.commands.executeCommand<StudyRunResult | undefined>(lens.command!.command, ...lens.command!.arguments!);
    const tab = await until(() => vscode.window.tabGroups.all.flatMap(g => g.tabs).find(t => t.input instanceof vscode.TabInputWebview && t.label.startsWith('Study')), 'the study panel tab');
    assert.strictEqual(tab.label, 'Study: tiny.ntk-study.yaml');
    await until(() => api.studyPanelState()?.running, 'the panel to show the run');
    const lensWhileRunning = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
    assert.ok(lensWhileRunning.some(l => /^\$\(sync~spin\) study: \d\/1 done/.test(l.command?.title ?? '')) && lensWhileRunning.some(l => l.command?.title === 'Cancel'),
      lensWhileRunning.map(l => l.command?.title).join(' | '));

    const result = await running;
    assert.deepStrictEqual(result, { done: 1, failed: 0, cancelled: false, code: 0 }, 'the study ran (see the ntk-lens output channel if not)');
    const state = await until(() => { const s = api.studyPanelState(); return s && !s.running && s.tables?.[0]?.rows[0]?.cells[0]?.summary ? s : undefined; }, 'the table cell to fill');
    assert.strictEqual(state.studyFile, file);
    assert.strictEqual(state.tableSource, 'event', "the table of the run's own table event");
    assert.deepStrictEqual(state.jobs.map(j => [j.index, j.label, j.state]), [[0, 'ntk-mini SST-2 16-shot prompt seed 13', 'done']]);
    assert.ok(state.jobs[0].logFile && fs.existsSync(state.jobs[0].logFile), `the job's log ${state.jobs[0].logFile} exists`);

    // the same figures as `ntk-lens study report --format json` of the same store
    const expected = JSON.parse(report('json')) as StudyTableJson[];
    const cell = state.tables![0].rows[0].cells[0];
    const want = expected[0].rows[0].cells[0];
    assert.deepStrictEqual([cell.key, cell.seeds, cell.missing, cell.failed], [want.key, [13], [], []]);
    assert.deepStrictEqual(cell.summary, want.summary);
    assert.deepStrictEqual(cell.verdict, want.verdict);
    assert.deepStrictEqual(state.tables![0].summary, expected[0].summary);
    const ft = cell.summary!.finetune!.mean;
    assert.ok(ft >= 0 && ft <= 1 && cell.summary!.finetune!.n === 1, `FT accuracy ${ft}`);

    // after the run: the lens says every job is done
    await until(async () => (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri))
      .some(l => l.command?.title === '▶ Run study (1 job, all done)'), 'the "all done" lens', 60000);
  });

  it('hover on the task shows its cell; a cell opens in the results panel; the table exports as md', async () => {
    const line = doc.getText().split('\n').findIndex(l => l.startsWith('tasks:'));
    const text = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', doc.uri, new vscode.Position(line, 10)));
    const cell = api.studyPanelState()!.tables![0].rows[0].cells[0];
    const ftText = (100 * cell.summary!.finetune!.mean).toFixed(1);
    assert.ok(text.includes(`| prompt | ${ftText} |`), text);

    assert.strictEqual(await vscode.commands.executeCommand('ntkLens.openStudyCell', file, cell.key), true);
    // the tab model follows the renderer asynchronously: wait for the cell's tab (an earlier results tab may linger)
    const cellTab = 'NTK: SST-2 16-shot prompt (ntk-mini)';
    await until(() => vscode.window.tabGroups.all.flatMap(g => g.tabs).find(t => t.input instanceof vscode.TabInputWebview && t.label === cellTab), `the results panel tab "${cellTab}"`);

    const target = path.join(ws, 'tiny.table.md');
    assert.strictEqual(await vscode.commands.executeCommand('ntkLens.exportStudyTable', file, 'md', target), target);
    const md = fs.readFileSync(target, 'utf8');
    assert.strictEqual(md, report('md'));
    assert.ok(md.includes(`| SST-2 | acc | ${ftText} |`), md);
  });
});
