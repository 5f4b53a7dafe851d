// A causal (decoder-only) LM in the real extension host: everything the BERT suite checks on ntk-mini, on a tiny
// random GPT-2 (2 layers, hidden 32) with a byte-level BPE tokenizer, written by the test into <workspace>/gpt2/
// (test/support/tiny-causal-files.ts: no tfjs, the extension host never loads it). The run is the real engine in the
// worker (wasm, ntkLens.workers 1): 4 fine-tuning steps, 1 seed, 8 test examples, a few seconds.
// Registered by extension.test.ts after its own suite (scripts/vscode-e2e.sh bundles the listed entry points only).
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { RunController } from '../../../src/editor/runs';
import type { Report, TemplateReport } from '../../../src/engine/report/types';
import { writeTinyCausalFiles, type TinyCausalFiles } from '../../support/tiny-causal-files';

// the figures the CodeLens must show, computed from the stored report independently of src/editor (also ui.e2e.js's)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const figures = require('../figures') as { summaryLine(r: TemplateReport): string; statusLabel(s: string): string };

/** Polls f until it gives a value (also suite/modernbert.ts). */
export const until = async <T>(f: () => T | undefined | false | Promise<T | undefined | false>, what: string, ms = 30000): Promise<T> => {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise(r => setTimeout(r, 150));
  }
};
export const hoverText = (hs: vscode.Hover[]) => hs.flatMap(h => h.contents.map(c => (c as vscode.MarkdownString).value ?? String(c))).join('\n');
const HINT = 'for causal models the label word is predicted after the prompt: end the template with *mask*';
const TEMPLATE = '*cls**sent_0*_it_was*mask*';
const NAME = 'gpt2-it-was';

export function causalSuite(): void {
  describe('a causal LM in a real extension host (tiny random GPT-2, byte-level BPE, real engine, wasm)', () => {
    const ws = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const dir = path.join(ws, 'gpt2');
    let files: TinyCausalFiles;
    let file: vscode.Uri;
    let doc: vscode.TextDocument;
    let runs: RunController;
    let report: Report | undefined;
    const lines = () => doc.getText().split('\n');
    const lenses = () => vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', file);
    const stored = (key: string) => (JSON.parse(fs.readFileSync(path.join(ws, '.ntk', key, 'report.json'), 'utf8')) as { report: TemplateReport }).report;

    before(async () => {
      const ext = vscode.extensions.getExtension('ntk-lens.ntk-lens');
      assert.ok(ext, 'extension ntk-lens.ntk-lens is installed');
      runs = ((await ext.activate()) as { runs: RunController }).runs;
      files = await writeTinyCausalFiles(dir, {
        specName: 'gpt2.ntk.yaml', steps: 4,
        templates: `  - name: ${NAME}\n    template: "${TEMPLATE}"\n    words: {"0": terrible, "1": great}`,
      });
      file = vscode.Uri.file(files.specFile);
      await vscode.workspace.getConfiguration('ntkLens').update('workers', 1, vscode.ConfigurationTarget.Workspace);
      doc = await vscode.workspace.openTextDocument(file);
      await vscode.window.showTextDocument(doc);
    });

    after(async () => {
      await vscode.workspace.getConfiguration('ntkLens').update('workers', undefined, vscode.ConfigurationTarget.Workspace);
    });

    it('diagnostics: a *mask* that is not the last piece is an error located at the *mask*, with the causal hint; undo clears it', async () => {
      assert.strictEqual(doc.languageId, 'ntk-template');
      const errors = () => vscode.languages.getDiagnostics(file).filter(d => d.severity === vscode.DiagnosticSeverity.Error);
      const ed = await vscode.window.showTextDocument(doc);
      const line = lines().findIndex(l => l.includes(TEMPLATE));
      const col = doc.lineAt(line).text.indexOf(TEMPLATE);
      const bad = '*cls**mask*_it_was*sent_0*';
      await ed.edit(e => e.replace(new vscode.Range(line, col, line, col + TEMPLATE.length), bad));
      const diag = await until(() => errors().find(d => d.message.includes('*mask* must be the last piece')), 'the located error of a *mask* that is not last');
      assert.ok(diag.message.includes(`template '${NAME}'`), diag.message);
      assert.ok(diag.message.includes(HINT), `the causal hint in: ${diag.message}`);
      const maskAt = col + bad.indexOf('*mask*') + 1; // the engine locates the piece's name inside its asterisks
      assert.deepStrictEqual([diag.range.start.line, diag.range.start.character, diag.range.end.line, diag.range.end.character], [line, maskAt, line, maskAt + 4]);
      assert.strictEqual(doc.getText(diag.range), 'mask');
      assert.strictEqual(diag.source, 'ntk-lens');
      await vscode.commands.executeCommand('undo');
      assert.ok(doc.getText().includes(TEMPLATE), 'undo restored the template');
      // the validation of the restored (valid) file replaces the error: no error at all on the causal file
      await until(() => errors().length === 0, 'the error to clear after undo');
      if (doc.isDirty) await doc.save();
    });

    it('a ▶ Run NTK comparison CodeLens above the template runs it: a complete report (kernels, FT, verdict) of the gpt2 model, stored, shown in the panel', async () => {
      const all = await lenses();
      const run = all.filter(l => l.command?.title === '▶ Run NTK comparison');
      assert.strictEqual(run.length, 1, all.map(l => l.command?.title).join(' | '));
      const itemLine = lines().findIndex(l => l.includes(`name: ${NAME}`));
      assert.strictEqual(run[0].range.start.line, itemLine, 'the lens sits on the template item');
      assert.deepStrictEqual(run[0].command!.arguments, [files.specFile, NAME]);
      assert.ok(!all.some(l => /kernel \d|FT \d/.test(l.command?.title ?? '')), 'no result yet');

      report = await vscode.commands.executeCommand<Report | undefined>(run[0].command!.command, ...run[0].command!.arguments!);
      assert.ok(report, 'the run returned a report (see the ntk-lens output channel if not)');
      assert.strictEqual(report.model.modelType, 'gpt2');
      assert.strictEqual(fs.realpathSync(report.model.dir), fs.realpathSync(files.modelDir));
      assert.strictEqual(report.backend, 'wasm');
      assert.deepStrictEqual(report.classes, ['0', '1']);
      assert.strictEqual(report.templates.length, 1);
      const t = report.templates[0];
      assert.strictEqual(t.name, NAME);
      assert.strictEqual(t.mode, 'prompt');
      assert.deepStrictEqual(t.labelTokenIds, [files.vocab['Ġterrible'], files.vocab['Ġgreat']], 'the label words are the single "Ġword" tokens');
      const s = t.seeds[0];
      assert.deepStrictEqual(t.seeds.map(x => x.seed), [13]);
      const k = s.kernels.sgd!;
      assert.ok(k && k.testScores.length === 8 && k.test.acc >= 0 && k.test.acc <= 1, 'the SGD kernel regression on the 8 test examples');
      assert.strictEqual(s.finetune!.testLogits.length, 8);
      assert.strictEqual(s.finetune!.lossCurve.length, 4, '4 fine-tuning steps');
      assert.ok(Number.isFinite(s.diagnostics.kernelChange!) && Number.isFinite(s.diagnostics.linearization!.relative), 'kernel change and linearisation');
      assert.ok(t.summary.kernels.sgd && t.summary.finetune && t.summary.agreement.sgd, 'the summary has kernel, FT and agreement');
      assert.ok(['kernel-like', 'not-kernel-like', 'inconclusive'].includes(t.verdict.status), t.verdict.status);
      assert.ok(t.verdict.text && t.verdict.evidence.length > 0, 'the verdict quotes its evidence');

      // what the extension got from the worker is what the results store holds
      const index = JSON.parse(fs.readFileSync(path.join(ws, '.ntk', 'index.json'), 'utf8')) as { entries: { key: string; templateName: string; verdictStatus?: string }[] };
      const entry = index.entries.find(e => e.key === t.key && e.templateName === NAME);
      assert.ok(entry, 'the index lists the run');
      assert.strictEqual(entry.verdictStatus, t.verdict.status);
      const onDisk = stored(t.key);
      assert.deepStrictEqual(onDisk.summary, t.summary);
      assert.deepStrictEqual(onDisk.verdict, t.verdict);
      assert.deepStrictEqual(onDisk.seeds.map(x => x.kernels.sgd?.test), t.seeds.map(x => x.kernels.sgd?.test));
      assert.ok(fs.readdirSync(path.join(ws, '.ntk', t.key, 'kernels')).some(f => f.endsWith('.npy')), 'the kernels are stored as .npy');

      // the panel beside shows this template
      const tab = await until(() => vscode.window.tabGroups.all.flatMap(g => g.tabs).find(x => x.input instanceof vscode.TabInputWebview && x.label === `NTK: ${NAME}`), `the panel tab "NTK: ${NAME}"`);
      assert.strictEqual(tab.group.viewColumn, vscode.ViewColumn.Two);
      assert.strictEqual(runs.queue.snapshot().running, undefined);
    });

    it('hover on a label word shows its one byte-level BPE token: " great" → "Ġgreat", from the tokenizer next to this file', async () => {
      const line = lines().findIndex(l => /^\s*words:/.test(l));
      for (const [label, word] of [['1', 'great'], ['0', 'terrible']]) {
        const pos = new vscode.Position(line, doc.lineAt(line).text.indexOf(word) + 2);
        const text = await until(async () => {
          const t = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', file, pos));
          return t.includes('token id') ? t : undefined;
        }, `the token hover of "${word}"`);
        const id = files.vocab[`Ġ${word}`];
        assert.ok(id !== undefined, `Ġ${word} is in the vocabulary`);
        assert.ok(text.includes(`Label word for class **${label}**: \`${word}\` → token id \`${id}\` (\`Ġ${word}\`) in `), text);
        assert.ok(!text.includes('one token per label word'), `a single token, no warning: ${text}`);
      }
      // another experiment with its own `model: ./model` (other words first: " great" has another id there) shows
      // its own tokenizer's ids, not those of the same model name next to the first file
      const other = await writeTinyCausalFiles(path.join(ws, 'gpt2-other'), { specName: 'gpt2.ntk.yaml', extraWords: ['superb', 'awful'] });
      const otherId = other.vocab['Ġgreat'];
      assert.notStrictEqual(otherId, files.vocab['Ġgreat'], 'the two tokenizers give " great" different ids');
      const otherDoc = await vscode.workspace.openTextDocument(vscode.Uri.file(other.specFile));
      const wline = otherDoc.getText().split('\n').findIndex(l => /^\s*words:/.test(l));
      const pos = new vscode.Position(wline, otherDoc.lineAt(wline).text.indexOf('great') + 2);
      const text = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', otherDoc.uri, pos));
      assert.ok(text.includes(`\`great\` → token id \`${otherId}\` (\`Ġgreat\`) in `) && text.includes(other.modelDir), text);
      await vscode.window.showTextDocument(doc);
    });

    it('the CodeLens and the hover then carry the last result (summary, verdict status and reason, the task table)', async () => {
      assert.ok(report, 'the run of the previous test returned a report');
      const t = stored(report.templates[0].key);
      const want = figures.summaryLine(t);
      const summary = await until(async () => (await lenses()).find(l => l.command?.title === want), `the summary CodeLens "${want}"`);
      assert.strictEqual(summary.command!.tooltip, t.verdict.reason ? `${t.verdict.text}\nwhy: ${t.verdict.reason}` : t.verdict.text);
      assert.deepStrictEqual(summary.command!.arguments, [files.specFile, NAME]);
      assert.ok((await lenses()).some(l => l.command?.title === '▶ Run NTK comparison'), 'the ▶ Run lens is back');

      const tline = lines().findIndex(l => l.includes(TEMPLATE));
      const onTemplate = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', file, new vscode.Position(tline, doc.lineAt(tline).text.indexOf('_it_was') + 2)));
      assert.ok(onTemplate.includes(`**${NAME}**: ${t.verdict.text}`), onTemplate);
      if (t.verdict.reason) assert.ok(onTemplate.includes(`*why:* ${t.verdict.reason}`), onTemplate);
      assert.match(onTemplate, new RegExp(`\\| \\*\\*${NAME}\\*\\* \\|.* \\| ${figures.statusLabel(t.verdict.status)} \\|`), 'the task table highlights this result');

      // an edited template marks the result stale; undo brings it back
      const ed = await vscode.window.showTextDocument(doc);
      const col = doc.lineAt(tline).text.indexOf('_it_was');
      await ed.edit(e => e.replace(new vscode.Range(tline, col, tline, col + 7), '_it_is'));
      const titles = (await lenses()).map(l => l.command?.title ?? '');
      assert.ok(titles.some(x => x.startsWith('$(history) stale: ')), titles.join(' | '));
      await vscode.commands.executeCommand('undo');
      await until(async () => (await lenses()).some(l => l.command?.title === want), 'the summary lens after undo');
    });
  });
}
