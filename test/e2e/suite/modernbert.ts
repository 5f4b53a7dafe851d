// ModernBERT in the real extension host: a tiny random ModernBertForMaskedLM (4 layers, rotary, GeGLU, local windows
// shorter than the prompts) with a ModernBERT-layout byte-level BPE tokenizer, written by the test into
// <workspace>/modernbert/ (test/support/tiny-modernbert-files.ts: no tfjs). The ▶ Run lens runs the real engine in the
// worker (wasm, ntkLens.workers 1); then the summary lens and the label-word hover. Registered by extension.test.ts.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { Report, TemplateReport } from '../../../src/engine/report/types';
import { writeTinyModernBertFiles, type TinyModernBertFiles } from '../../support/tiny-modernbert-files';
import { hoverText, until } from './causal';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const figures = require('../figures') as { summaryLine(r: TemplateReport): string };

const NAME = 'modernbert-it-was';

export function modernBertSuite(): void {
  describe('ModernBERT in a real extension host (tiny random ModernBERT, byte-level BPE with [MASK], real engine, wasm)', () => {
    const ws = vscode.workspace.workspaceFolders![0].uri.fsPath;
    let files: TinyModernBertFiles;
    let file: vscode.Uri;
    let doc: vscode.TextDocument;
    const lenses = () => vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', file);

    before(async () => {
      await vscode.extensions.getExtension('ntk-lens.ntk-lens')!.activate();
      files = await writeTinyModernBertFiles(path.join(ws, 'modernbert'), {
        templates: `  - name: ${NAME}\n    template: "*cls**sent_0*_It_was*mask*.*sep+*"\n    words: {"0": terrible, "1": great}`,
      });
      file = vscode.Uri.file(files.specFile);
      await vscode.workspace.getConfiguration('ntkLens').update('workers', 1, vscode.ConfigurationTarget.Workspace);
      doc = await vscode.workspace.openTextDocument(file);
      await vscode.window.showTextDocument(doc);
    });

    after(async () => {
      await vscode.workspace.getConfiguration('ntkLens').update('workers', undefined, vscode.ConfigurationTarget.Workspace);
    });

    it('▶ Run NTK comparison runs it: a complete report of the modernbert model (kernels, FT, verdict); the summary lens and the label hover follow', async () => {
      const run = (await lenses()).filter(l => l.command?.title === '▶ Run NTK comparison');
      assert.strictEqual(run.length, 1);
      const report = await vscode.commands.executeCommand<Report | undefined>(run[0].command!.command, ...run[0].command!.arguments!);
      assert.ok(report, 'the run returned a report (see the ntk-lens output channel if not)');
      assert.strictEqual(report.model.modelType, 'modernbert');
      assert.strictEqual(fs.realpathSync(report.model.dir), fs.realpathSync(files.modelDir));
      const t = report.templates[0];
      assert.strictEqual(t.name, NAME);
      assert.deepStrictEqual(t.labelTokenIds, [files.vocab['Ġterrible'], files.vocab['Ġgreat']], 'the label words are the single "Ġword" tokens');
      for (const kind of ['sgd', 'asymmetric-signgd'] as const) {
        const k = t.seeds[0].kernels[kind]!;
        assert.ok(k && k.testScores.length === 8 && k.test.acc >= 0 && k.test.acc <= 1, `the ${kind} kernel regression on the 8 test examples`);
      }
      assert.strictEqual(t.seeds[0].finetune!.lossCurve.length, 4, '4 fine-tuning steps');
      assert.ok(['kernel-like', 'not-kernel-like', 'inconclusive'].includes(t.verdict.status), t.verdict.status);

      const stored = (JSON.parse(fs.readFileSync(path.join(ws, '.ntk', t.key, 'report.json'), 'utf8')) as { report: TemplateReport }).report;
      const want = figures.summaryLine(stored);
      await until(async () => (await lenses()).find(l => l.command?.title === want), `the summary CodeLens "${want}"`);

      const line = doc.getText().split('\n').findIndex(l => /^\s*words:/.test(l));
      const pos = new vscode.Position(line, doc.lineAt(line).text.indexOf('great') + 2);
      const text = await until(async () => {
        const h = hoverText(await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', file, pos));
        return h.includes('token id') ? h : undefined;
      }, 'the token hover of "great"');
      assert.ok(text.includes(`\`great\` → token id \`${files.vocab['Ġgreat']}\` (\`Ġgreat\`) in `), text);
    });
  });
}
