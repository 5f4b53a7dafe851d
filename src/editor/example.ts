/**
 * "Open example": copies examples/quickstart (or, with ntkLens.dataFolder set, an experiment file for a real LM-BFF
 * task pointing at that folder) into a chosen or temporary folder and opens it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { config } from './config';

/** The LM-BFF manual template and words for a few tasks (paper Table 1 / LM-BFF's manual prompts). */
const LMBFF_EXAMPLES: Record<string, { template: string; words: Record<string, string> }> = {
  'SST-2': { template: '*cls**sent_0*_It_was*mask*.*sep+*', words: { '0': 'terrible', '1': 'great' } },
  mr: { template: '*cls**sent_0*_It_was*mask*.*sep+*', words: { '0': 'terrible', '1': 'great' } },
  cr: { template: '*cls**sent_0*_It_was*mask*.*sep+*', words: { '0': 'terrible', '1': 'great' } },
  subj: { template: '*cls**sent_0*_This_is*mask*.*sep+*', words: { '0': 'subjective', '1': 'objective' } },
  RTE: { template: '*cls**sent-_0*?*mask*,*+sentl_1**sep+*', words: { not_entailment: 'No', entailment: 'Yes' } },
};

export function lmBffSpec(task: string, dataDir: string): string {
  const e = LMBFF_EXAMPLES[task];
  const words = Object.entries(e.words).map(([k, v]) => `"${k}": ${v}`).join(', ');
  return [
    `# ${task} with the LM-BFF manual prompt, on the data in ${dataDir}`,
    `task: ${task}`,
    `data: ${JSON.stringify(path.join(dataDir, task))}`,
    'shots: 16',
    'seeds: [13]',
    `model: ${config.defaultModel()}`,
    'templates:',
    '  - name: manual',
    `    template: "${e.template}"`,
    `    words: {${words}}`,
    '  - name: standard',
    '',
  ].join('\n');
}

function copyDir(src: string, dst: string): void {
  fs.mkdirSync(dst, { recursive: true });
  for (const entry of fs.readdirSync(src, { withFileTypes: true })) {
    const s = path.join(src, entry.name);
    const d = path.join(dst, entry.name);
    if (entry.isDirectory()) copyDir(s, d);
    else if (!fs.existsSync(d)) fs.copyFileSync(s, d);
  }
}

/** Copies the example into `target` (made if needed) and returns the spec file written. */
export function writeExample(extensionPath: string, target: string, which: string): string {
  if (which === 'quickstart') {
    copyDir(path.join(extensionPath, 'examples', 'quickstart'), target);
    return path.join(target, 'sentiment.ntk.yaml');
  }
  const dataDir = config.dataFolder();
  if (!dataDir) throw new Error('set ntkLens.dataFolder to the folder holding the LM-BFF tasks (or run "Download LM-BFF data")');
  fs.mkdirSync(target, { recursive: true });
  const file = path.join(target, `${which}.ntk.yaml`);
  fs.writeFileSync(file, lmBffSpec(which, dataDir));
  return file;
}

export async function openExample(extensionPath: string): Promise<void> {
  let which = 'quickstart';
  if (config.dataFolder()) {
    const pick = await vscode.window.showQuickPick(
      [{ label: 'quickstart', description: 'tiny movie-review task shipped with ntk-lens' },
        ...Object.keys(LMBFF_EXAMPLES).map(t => ({ label: t, description: `LM-BFF task from ${config.dataFolder()}` }))],
      { title: 'Open an ntk-lens example' },
    );
    if (!pick) return;
    which = pick.label;
  }
  const choice = await vscode.window.showQuickPick(['Choose a folder…', 'Use a temporary folder'], { title: 'Where should the example go?' });
  if (!choice) return;
  let target: string;
  if (choice.startsWith('Choose')) {
    const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Copy example here' });
    if (!picked?.length) return;
    target = path.join(picked[0].fsPath, `ntk-${which}`);
  } else {
    target = fs.mkdtempSync(path.join(os.tmpdir(), `ntk-${which}-`));
  }
  const spec = writeExample(extensionPath, target, which);
  const inWorkspace = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(spec));
  if (inWorkspace) await vscode.window.showTextDocument(vscode.Uri.file(spec));
  else await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(target), { forceNewWindow: false });
}
