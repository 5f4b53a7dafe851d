// Integration tests inside the real extension host (code-server 4.100.3 = VS Code 1.100.3), on a small copy of
// examples/quickstart (scripts/vscode-e2e.sh: 8 FT steps, 16 dev, 16 test). The worker runs the real engine on the
// built-in model ntk-mini; the user settings say "ntkLens.backend": "wasm".
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { RunController } from '../../../src/editor/runs';
import type { Report, RunEvent, TemplateReport } from '../../../src/engine/report/types';
import { causalSuite } from './causal';
import { modernBertSuite } from './modernbert';

const until = async <T>(f: () => T | undefined | false | Promise<T | undefined | false>, what: string, ms = 20000): Promise<T> => {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise(r => setTimeout(r, 100));
  }
};
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

describe('ntk-lens in a real extension host (real engine, ntk-mini, wasm)', () => {
  const ws = vscode.workspace.workspaceFolders![0].uri.fsPath;
  const file = vscode.Uri.file(path.join(ws, 'sentiment.ntk.yaml'));
  let runs: RunController;
  let doc: vscode.TextDocument;

  before(async () => {
    const ext = vscode.extensions.getExtension('ntk-lens.ntk-lens');
    assert.ok(ext, 'extension ntk-lens.ntk-lens is installed');
    runs = ((await ext.activate()) as { runs: RunController }).runs;
    doc = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(doc);
  });

  it('gives *.ntk.yaml the ntk-template language and registers every command', async () => {
    assert.strictEqual(doc.languageId, 'ntk-template');
    const cmds = await vscode.commands.getCommands(true);
    for (const c of ['runTemplate', 'runAllTemplates', 'cancelRun', 'showResults', 'openExample', 'downloadData', 'exportKernels']) {
      assert.ok(cmds.includes(`ntkLens.${c}`), c);
    }
  });

  it('shows a ▶ Run CodeLens above each template', async () => {
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', file);
    const runLenses = lenses.filter(l => l.command?.title === '▶ Run NTK comparison');
    // one per template item of the file (`- name: x` or `- x` under templates:), in order
    const list = doc.getText().slice(doc.getText().search(/^templates:/m));
    const names = [...list.matchAll(/^\s*-\s+(?:name:\s*)?([A-Za-z0-9_-]+)\s*$/gm)].map(m => m[1]);
    assert.ok(names.includes('it-was') && names.includes('movie-is'), names.join(', '));
    assert.deepStrictEqual(runLenses.map(l => l.command!.arguments![1]), names);
  });

  it('completes template pieces inside a template string', async () => {
    const line = doc.getText().split('\n').findIndex(l => l.includes('template: "*cls*'));
    const col = doc.lineAt(line).text.indexOf('*cls*') + 1;
    const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', file, new vscode.Position(line, col));
    assert.ok(list.items.some(i => (typeof i.label === 'string' ? i.label : i.label.label) === '*mask*'));
  });

  it('runs a template in the worker on the wasm backend, stores the report it returns, opens the panel beside and shows the summary CodeLens', async () => {
    const report = await vscode.commands.executeCommand<Report | undefined>('ntkLens.runTemplate', file.fsPath, 'it-was');
    assert.ok(report, 'the run returned a report (see the ntk-lens output channel if not)');
    assert.strictEqual(report.backend, 'wasm', 'the worker ran on the backend of the ntkLens.backend setting');
    assert.strictEqual(report.model.id, 'ntk-mini');
    assert.strictEqual(report.templates.length, 1);
    const t = report.templates[0];
    assert.strictEqual(t.name, 'it-was');
    const ft = t.summary.finetune!.mean;
    assert.ok(ft >= 0 && ft <= 1, `FT accuracy ${ft} in [0, 1]`);
    assert.strictEqual(t.seeds[0].finetune!.testLogits.length, 16, 'test_limit: 16 test examples evaluated');
    // what the extension got from the worker is what the results store holds
    const index = JSON.parse(fs.readFileSync(path.join(ws, '.ntk', 'index.json'), 'utf8')) as { entries: { key: string; templateName: string }[] };
    assert.ok(index.entries.some(e => e.key === t.key && e.templateName === 'it-was'), 'the index lists the run');
    const stored = JSON.parse(fs.readFileSync(path.join(ws, '.ntk', t.key, 'report.json'), 'utf8')) as { report: TemplateReport };
    assert.deepStrictEqual(stored.report.summary, t.summary);
    assert.deepStrictEqual(stored.report.seeds.map(x => x.finetune?.test), t.seeds.map(x => x.finetune?.test));
    const tab = await until(() => vscode.window.tabGroups.all.flatMap(g => g.tabs).find(t => t.input instanceof vscode.TabInputWebview), 'the panel tab');
    assert.strictEqual(tab.group.viewColumn, vscode.ViewColumn.Two);
    // the index entry carries the verdict's status and reason: the CodeLens reads them without report.json
    const entry = (index.entries as { key: string; templateName: string; verdictStatus?: string; verdictReason?: string }[]).find(e => e.key === t.key)!;
    assert.deepStrictEqual([entry.verdictStatus, entry.verdictReason], [t.verdict.status, t.verdict.reason]);
    const status = { 'kernel-like': 'kernel-like', 'not-kernel-like': 'not kernel-like', inconclusive: 'inconclusive', none: 'no verdict' }[t.verdict.status];
    const summary = await until(async () => {
      const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', file);
      return lenses.find(l => /^kernel \d+\.\d · FT \d+\.\d · agree \d+% · (kernel-like|not kernel-like|inconclusive|no verdict)$/.test(l.command?.title ?? ''));
    }, 'the summary CodeLens');
    assert.ok(summary.command!.title.includes(`FT ${(100 * ft).toFixed(1)}`), `${summary.command!.title} shows FT ${(100 * ft).toFixed(1)}`);
    assert.ok(summary.command!.title.endsWith(` · ${status}`), `${summary.command!.title} ends with the verdict status ${status}`);
    assert.strictEqual(summary.command!.tooltip, t.verdict.reason ? `${t.verdict.text}\nwhy: ${t.verdict.reason}` : t.verdict.text);
    assert.deepStrictEqual(summary.command!.arguments, [file.fsPath, 'it-was']);
  });

  it('hover on the task name shows the results table', async () => {
    const line = doc.getText().split('\n').findIndex(l => l.startsWith('task:'));
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', file, new vscode.Position(line, 8));
    const text = hovers.flatMap(h => h.contents.map(c => (c as vscode.MarkdownString).value ?? String(c))).join('\n');
    assert.match(text, /\| template \| kernel SGD \| FT \| agree SGD \| verdict \| model \| date \|/);
    assert.match(text, /\| it-was \|.* \| (kernel-like|not kernel-like|inconclusive|no verdict) \| ntk-mini \|/);
  });

  it('hover on a template adds its verdict text, the reason and its warnings from the stored report', async () => {
    const index = JSON.parse(fs.readFileSync(path.join(ws, '.ntk', 'index.json'), 'utf8')) as { entries: { key: string; templateName: string; createdAt: string }[] };
    const key = index.entries.filter(e => e.templateName === 'it-was').sort((a, b) => a.createdAt.localeCompare(b.createdAt)).pop()!.key;
    const stored = (JSON.parse(fs.readFileSync(path.join(ws, '.ntk', key, 'report.json'), 'utf8')) as { report: TemplateReport }).report;
    const line = doc.getText().split('\n').findIndex(l => l.includes('_It_was*'));
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', file, new vscode.Position(line, doc.lineAt(line).text.indexOf('_It_was') + 2));
    const text = hovers.flatMap(h => h.contents.map(c => (c as vscode.MarkdownString).value ?? String(c))).join('\n');
    assert.ok(text.includes(`**it-was**: ${stored.verdict.text}`), text);
    if (stored.verdict.reason) assert.ok(text.includes(`*why:* ${stored.verdict.reason}`), text);
    const n = stored.warnings.length;
    assert.ok(text.includes(n ? `**${n} warning${n === 1 ? '' : 's'}**` : 'no warnings'), `${n} warnings: ${text}`);
    for (const w of stored.warnings.slice(0, 5)) assert.ok(text.includes(`- ${w.message}`), w.message);
  });

  it('an edited template shows its last result as stale', async () => {
    const ed = await vscode.window.showTextDocument(doc);
    const line = doc.getText().split('\n').findIndex(l => l.includes('_It_was*'));
    const col = doc.lineAt(line).text.indexOf('_It_was');
    await ed.edit(e => e.replace(new vscode.Range(line, col, line, col + 7), '_It_is'));
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', file);
    assert.ok(lenses.some(l => l.command?.title.includes('stale:')), lenses.map(l => l.command?.title).join(' | '));
    await vscode.commands.executeCommand('undo');
  });

  it('cancel stops a running job: no more progress afterwards', async () => {
    const started = Date.now();
    const p = vscode.commands.executeCommand('ntkLens.runTemplate', file.fsPath, 'movie-is') as Promise<unknown>;
    await until(() => runs.currentProgress()?.match(/\d+\/\d+/), 'the first progress step', 240000);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', file);
    const cancel = lenses.find(l => l.command?.title === 'Cancel');
    assert.ok(cancel, 'a Cancel lens while running');
    let steps = 0;
    const sub = runs.onEvent(({ event }) => { if (event.type === 'step') steps++; });
    try {
      await vscode.commands.executeCommand(cancel.command!.command, ...(cancel.command!.arguments ?? []));
      assert.strictEqual(await p, undefined, 'a cancelled run resolves without a report');
      assert.strictEqual(runs.queue.snapshot().running, undefined);
      const after = steps;
      await sleep(2000);
      assert.strictEqual(steps, after, 'no progress event arrives after the cancel');
    } finally {
      sub.dispose();
    }
    assert.ok(Date.now() - started < 240000);
  });

  it('passes the ntkLens.backend setting to the worker (cpu here, then back to wasm)', async () => {
    const cfg = vscode.workspace.getConfiguration('ntkLens');
    await cfg.update('backend', 'cpu', vscode.ConfigurationTarget.Workspace);
    const phases: string[] = [];
    const sub = runs.onEvent(({ event }: { event: RunEvent }) => { if (event.type === 'phase') phases.push(event.message); });
    try {
      const p = vscode.commands.executeCommand('ntkLens.runTemplate', file.fsPath, 'movie-is') as Promise<unknown>;
      const load = await until(() => phases.find(m => m.startsWith('backend ')), 'the load phase', 60000);
      assert.match(load, /^backend cpu;/);
      runs.cancel();
      assert.strictEqual(await p, undefined);
    } finally {
      sub.dispose();
      await cfg.update('backend', undefined, vscode.ConfigurationTarget.Workspace);
    }
    assert.strictEqual(vscode.workspace.getConfiguration('ntkLens').get('backend'), 'wasm');
  });

  it('with ntkLens.workers = 2 a two-seed run computes its seeds as parallel jobs of the worker, then the complete report', async () => {
    const two = path.join(ws, 'two-seeds.ntk.yaml');
    const text = fs.readFileSync(file.fsPath, 'utf8');
    assert.match(text, /^seeds: \[13\]$/m);
    fs.writeFileSync(two, text.replace(/^seeds: \[13\]$/m, 'seeds: [21, 87]'));
    const cfg = vscode.workspace.getConfiguration('ntkLens');
    await cfg.update('workers', 2, vscode.ConfigurationTarget.Workspace);
    const logs: string[] = [];
    const progress: string[] = [];
    let templateDone = 0;
    const subs = [
      runs.onEvent(({ specFile, event }) => {
        if (specFile !== two) return;
        if (event.type === 'log') logs.push(event.message);
        if (event.type === 'template-done') templateDone++;
      }),
      runs.onDidChange(() => { const p = runs.currentProgress(); if (p && p !== progress.at(-1)) progress.push(p); }),
    ];
    try {
      const report = await vscode.commands.executeCommand<Report | undefined>('ntkLens.runTemplate', two, 'it-was');
      assert.ok(report, 'the run returned a report (see the ntk-lens output channel if not)');
      assert.ok(logs.some(l => /^parallel jobs: 2 jobs \(0 already done\), 2 workers/.test(l)), `the executor's lines arrive as events:\n${logs.join('\n')}`);
      assert.ok(progress.some(p => /^jobs [012]\/2 done/.test(p)), `the progress counts the jobs: ${progress.join(' | ')}`);
      const logDir = path.join(ws, '.ntk', 'run-logs');
      assert.deepStrictEqual(fs.readdirSync(logDir).sort(), ['job-0.log', 'job-1.log'], 'one log per (template, seed) job');
      assert.match(fs.readFileSync(path.join(logDir, 'job-0.log'), 'utf8'), /seed 21 done/);
      assert.match(fs.readFileSync(path.join(logDir, 'job-1.log'), 'utf8'), /seed 87 done/);
      const t = report.templates[0];
      assert.deepStrictEqual(t.seeds.map(x => x.seed), [21, 87]);
      assert.strictEqual(t.summary.finetune?.n, 2);
      assert.ok(t.verdict.text, 'the report has its verdict');
      assert.strictEqual(templateDone, 1, 'the panel got the complete template report');
      const stored = JSON.parse(fs.readFileSync(path.join(ws, '.ntk', t.key, 'report.json'), 'utf8')) as { report: TemplateReport };
      assert.deepStrictEqual(stored.report.summary, t.summary);
    } finally {
      subs.forEach(s => s.dispose());
      await cfg.update('workers', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });
});

// the same checks on a causal LM (tiny random GPT-2), after the suite above: suite/causal.ts
causalSuite();
// and on ModernBERT (a masked LM built from the shared layer pieces): suite/modernbert.ts
modernBertSuite();
