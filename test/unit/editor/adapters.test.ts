import { stub, Uri } from '../../support/vscode-stub';
import * as assert from 'assert';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { TemplateCodeLensProvider } from '../../../src/editor/codelens';
import { SpecDiagnostics, toVscodeDiagnostic } from '../../../src/editor/diagnostics';
import { downloadFile, extractTar } from '../../../src/editor/download-file';
import { TemplateHoverProvider } from '../../../src/editor/hover';
import { panelHtml } from '../../../src/editor/panel';
import { ResultsStore } from '../../../src/engine/report/store';
import { fakeTemplateReport } from '../../support/fake-engine';

const SPEC = ['task: custom', 'templates:', '  - name: it-was', '    template: "*cls**sent_0*_It_was*mask*.*sep+*"', '    words: {negative: terrible, positive: great}', '  - name: movie', '    template: "*cls**sent_0*_Movie*mask*.*sep+*"', ''].join('\n');
const doc = (file: string, text = SPEC) => ({ uri: Uri.file(file), getText: () => text, languageId: 'ntk-template' }) as never;
const noRuns = { liveFor: () => undefined, isQueued: () => false };

describe('editor adapters (vscode stubbed)', () => {
  let ws: string;
  let spec: string;
  beforeEach(() => {
    stub.reset();
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-ws-'));
    stub.workspaceFolder = ws;
    spec = path.join(ws, 'a.ntk.yaml');
  });
  afterEach(() => fs.rmSync(ws, { recursive: true, force: true }));

  function storeResult(name: string, template: string) {
    const r = { ...fakeTemplateReport(name, 0.841), template };
    new ResultsStore(path.join(ws, '.ntk')).writeTemplateReport('0123456789abcdef', r, { specFile: spec, templateName: name, model: 'ntk-mini', task: 'custom', createdAt: '2026-02-01T00:00:00Z' });
  }

  it('CodeLens: a run lens above each template; the summary once a result exists; "stale" when the template changed', () => {
    const p = new TemplateCodeLensProvider(noRuns);
    assert.deepStrictEqual(p.provideCodeLenses(doc(spec)).map(l => [l.range.start.line, l.command!.title, l.command!.arguments]),
      [[2, '▶ Run NTK comparison', [spec, 'it-was']], [5, '▶ Run NTK comparison', [spec, 'movie']]]);
    storeResult('it-was', '*cls**sent_0*_It_was*mask*.*sep+*');
    storeResult('movie', '*cls**sent_0*_Film*mask*.*sep+*');
    const lenses = p.provideCodeLenses(doc(spec));
    const titles = lenses.map(l => `${l.range.start.line} ${l.command!.title}`);
    assert.deepStrictEqual(titles, ['2 ▶ Run NTK comparison', '2 kernel 84.1 · FT 85.1 · agree 90% · inconclusive', '5 ▶ Run NTK comparison', '5 $(history) stale: kernel 84.1 · FT 85.1 · agree 90% · inconclusive']);
    const v = fakeTemplateReport('it-was').verdict;
    assert.strictEqual(v.status, 'inconclusive', 'the fake report, judged by the real verdict code');
    assert.strictEqual((lenses[1].command as { tooltip?: string }).tooltip, `${v.text}\nwhy: ${v.reason}`, 'the tooltip: verdict text and reason');
  });

  it('CodeLens reads the verdict status from the index alone (no report.json); an entry from before schema 2 still renders', async () => {
    storeResult('it-was', '*cls**sent_0*_It_was*mask*.*sep+*');
    const store = new ResultsStore(path.join(ws, '.ntk'));
    fs.rmSync(path.join(store.root, '0123456789abcdef', 'report.json'));
    const p = new TemplateCodeLensProvider(noRuns);
    assert.strictEqual(p.provideCodeLenses(doc(spec))[1].command!.title, 'kernel 84.1 · FT 85.1 · agree 90% · inconclusive');
    // an old entry: no verdictStatus / verdictReason
    for (const f of fs.readdirSync(store.indexDir())) {
      const file = path.join(store.indexDir(), f);
      const e = JSON.parse(fs.readFileSync(file, 'utf8'));
      assert.strictEqual(e.verdictStatus, 'inconclusive');
      assert.match(e.verdictReason, /straddles its threshold/);
      delete e.verdictStatus;
      delete e.verdictReason;
      e.verdict = 'kernel-like (an old verdict)';
      fs.writeFileSync(file, JSON.stringify(e));
    }
    const old = p.provideCodeLenses(doc(spec))[1].command as { title: string; tooltip?: string };
    assert.deepStrictEqual([old.title, old.tooltip], ['kernel 84.1 · FT 85.1 · agree 90%', 'kernel-like (an old verdict)']);
    // and the hover: '–' in the verdict column, the old text, no reason, no warnings (report.json is gone)
    const h = new TemplateHoverProvider(async () => ({ model: 'm', tokens: [] }));
    const md = ((await h.provideHover(doc(spec), { line: 3, character: 20 } as never))!.contents[0] as { value: string }).value;
    assert.match(md, /\| \*\*it-was\*\* \| 84\.1 \| 85\.1 \| 90% \| – \| ntk-mini \|/);
    assert.ok(md.endsWith('**it-was**: kernel-like (an old verdict)'), md);
  });

  it('CodeLens while running: the progress and a Cancel lens carrying the job id; queued templates say so', () => {
    const p = new TemplateCodeLensProvider({
      liveFor: (_f: string, t: string) => (t === 'it-was' ? { jobId: 4, specFile: spec, progress: 'fine-tuning 412/1000' } : undefined),
      isQueued: (_f: string, t: string) => t === 'movie',
    } as never);
    assert.deepStrictEqual(p.provideCodeLenses(doc(spec)).map(l => [l.command!.title, l.command!.command, l.command!.arguments]), [
      ['$(sync~spin) fine-tuning 412/1000', 'ntkLens.showResults', [spec, 'it-was']], ['Cancel', 'ntkLens.cancelRun', [4]],
      ['$(clock) queued', 'ntkLens.cancelRun', []],
    ]);
  });

  it('CodeLens reads results from ntkLens.resultsFolder when set', () => {
    stub.settings['ntkLens.resultsFolder'] = 'elsewhere';
    storeResult('it-was', 'x'); // written to <ws>/.ntk: not the configured folder
    assert.strictEqual(new TemplateCodeLensProvider(noRuns).provideCodeLenses(doc(spec)).length, 2);
  });

  it('hover on the task or a template shows the results table; on a label word its token ids (cached)', async () => {
    storeResult('it-was', '*cls**sent_0*_It_was*mask*.*sep+*');
    let lookups = 0;
    const h = new TemplateHoverProvider(async (_f, _t, words) => { lookups++; return { model: 'ntk-mini', tokens: words.map(w => ({ word: w, ids: [42], pieces: [w] })) }; });
    const onTask = await h.provideHover(doc(spec), { line: 0, character: 8 } as never);
    const taskMd = (onTask!.contents[0] as { value: string }).value;
    assert.match(taskMd, /\| template \| kernel SGD \| FT \| agree SGD \| verdict \| model \| date \|/);
    assert.match(taskMd, /\| it-was \| 84\.1 \| 85\.1 \| 90% \| inconclusive \| ntk-mini \| 2026-02-01 \|/);
    assert.ok(!taskMd.includes('why:') && !taskMd.includes('warning'), 'on the task name: the table only');
    const onTemplate = await h.provideHover(doc(spec), { line: 3, character: 20 } as never);
    const shown = (onTemplate!.contents[0] as { value: string; supportThemeIcons: boolean }).value;
    assert.match(shown, /\| \*\*it-was\*\* \|/);
    const v = fakeTemplateReport('it-was');
    assert.ok(shown.includes(`**it-was**: ${v.verdict.text}\n\n*why:* ${v.verdict.reason}`), "the template's verdict and its reason, as the summary code wrote them");
    assert.ok(shown.endsWith(`$(warning) **1 warning**:\n- ${v.warnings[0].message}`), `the warnings of report.json: ${shown}`);
    assert.ok((onTemplate!.contents[0] as { supportThemeIcons: boolean }).supportThemeIcons);
    const onWord = await h.provideHover(doc(spec), { line: 4, character: 24 } as never);
    assert.match((onWord!.contents[0] as { value: string }).value, /class \*\*negative\*\*: `terrible` → token id `42`/);
    await h.provideHover(doc(spec), { line: 4, character: 24 } as never);
    assert.strictEqual(lookups, 1, 'token ids are cached per (model, word)');
    assert.strictEqual(await h.provideHover(doc(spec), { line: 1, character: 2 } as never), undefined);
  });

  it('hover on a multi-token label word warns; a failing lookup still shows the word with the reason', async () => {
    const multi = new TemplateHoverProvider(async () => ({ model: 'm', tokens: [{ word: 'terrible', ids: [1, 2], pieces: ['terr', '##ible'] }] }));
    const md = ((await multi.provideHover(doc(spec), { line: 4, character: 24 } as never))!.contents[0] as { value: string }).value;
    assert.match(md, /`1`, `2`.*one token per label word/s);
    const failing = new TemplateHoverProvider(async () => { throw new Error('no tokenizer in /m'); });
    assert.match(((await failing.provideHover(doc(spec), { line: 4, character: 24 } as never))!.contents[0] as { value: string }).value, /unavailable: no tokenizer in \/m/);
  });

  it('diagnostics: engine 1-based positions become 0-based ranges; only the latest validation of a file is shown', async () => {
    const d = toVscodeDiagnostic({ line: 4, column: 15, endLine: 4, endColumn: 40, message: 'no *mask*', severity: 'warning' });
    assert.deepStrictEqual([{ ...d.range.start }, { ...d.range.end }, d.severity, d.source], [{ line: 3, character: 14 }, { line: 3, character: 39 }, 1, 'ntk-lens']);
    const resolvers: ((v: never[]) => void)[] = [];
    const diags = new SpecDiagnostics(() => new Promise(r => resolvers.push(r as never)), () => undefined, 1);
    const first = diags.validateNow(doc(spec));
    const second = diags.validateNow(doc(spec));
    resolvers[1]([{ line: 1, column: 1, endLine: 1, endColumn: 2, message: 'new', severity: 'error' }] as never);
    resolvers[0]([{ line: 1, column: 1, endLine: 1, endColumn: 2, message: 'old', severity: 'error' }] as never);
    await Promise.all([first, second]);
    assert.deepStrictEqual(stub.diagnostics.get(`file://${spec}`)!.map(x => x.message), ['new']);
  });

  it('panel HTML: strict CSP with a fresh nonce, no inline script or style, resources via asWebviewUri', () => {
    const webview = { cspSource: 'vscode-resource:', asWebviewUri: (u: Uri) => `vscode-resource:${u.fsPath}` } as never;
    const a = panelHtml(webview, Uri.file('/ext') as never);
    const b = panelHtml(webview, Uri.file('/ext') as never);
    const nonce = /nonce-([A-Za-z0-9+/=]+)/.exec(a)![1];
    assert.ok(nonce.length >= 22 && !b.includes(nonce), 'a fresh 16-byte nonce each time');
    assert.match(a, /default-src 'none'/);
    assert.match(a, new RegExp(`<script nonce="${nonce.replace(/[+/=]/g, '\\$&')}" src="vscode-resource:/ext/dist/webview/main.js"></script>`));
    assert.ok(!/<script(?![^>]*src=)/.test(a) && !/<style/.test(a) && !/style="/.test(a), 'no inline script or style');
    assert.ok(!/https?:\/\//.test(a), 'no remote content');
  });
});

describe('editor/download-file against a 127.0.0.1 server', () => {
  let server: http.Server;
  let base: string;
  let dir: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-dl-'));
    fs.mkdirSync(path.join(dir, 'src', 'SST-2'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'src', 'SST-2', 'train.tsv'), 'sentence\tlabel\ngood\t1\n');
    execFileSync('tar', ['-cf', path.join(dir, 'datasets.tar'), '-C', path.join(dir, 'src'), 'SST-2']);
    const tar = fs.readFileSync(path.join(dir, 'datasets.tar'));
    server = http.createServer((req, res) => {
      if (req.url === '/moved') return res.writeHead(302, { location: '/datasets.tar' }).end();
      if (req.url === '/datasets.tar') return res.writeHead(200, { 'content-length': tar.length }).end(tar);
      if (req.url === '/short') { res.writeHead(200, { 'content-length': 1000 }); res.write('abc'); return res.destroy(); }
      res.writeHead(404).end();
    });
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => { server.close(); fs.rmSync(dir, { recursive: true, force: true }); });

  it('downloads through a redirect with progress up to the full size, then unpacks the tar', async () => {
    const progress: number[] = [];
    const dest = path.join(dir, 'out', 'datasets.tar');
    await downloadFile(`${base}/moved`, dest, p => progress.push(p.loaded / p.total!));
    assert.strictEqual(progress[progress.length - 1], 1);
    await extractTar(dest, path.join(dir, 'out'));
    assert.strictEqual(fs.readFileSync(path.join(dir, 'out', 'SST-2', 'train.tsv'), 'utf8'), 'sentence\tlabel\ngood\t1\n');
    assert.ok(!fs.existsSync(`${dest}.part`));
  });

  it('a 404, a truncated body and a non-http URL are errors naming the URL and the setting', async () => {
    await assert.rejects(downloadFile(`${base}/nope`, path.join(dir, 'x'), () => undefined), /\/nope: HTTP 404; check ntkLens\.lmBffDataUrl/);
    await assert.rejects(downloadFile(`${base}/short`, path.join(dir, 'y'), () => undefined), /short/);
    assert.ok(!fs.existsSync(path.join(dir, 'y')) && !fs.existsSync(path.join(dir, 'y.part')));
    await assert.rejects(downloadFile('ftp://x/y', path.join(dir, 'z'), () => undefined), /ntkLens\.lmBffDataUrl: "ftp:\/\/x\/y" is not an http/);
  });
});
