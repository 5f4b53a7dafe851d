/**
 * "Open example": copies examples/quickstart (or, with ntkLens.dataFolder set, an experiment file for a real LM-BFF
 * task pointing at that folder) into a chosen or temporary folder and opens it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { config } from './config';

/**
 * LM-BFF tasks offered by "Open example" when ntkLens.dataFolder is set. The experiment file names only the template
 * `manual`: the engine fills in the task's LM-BFF manual template and label words (src/engine/data/tasks.ts), so they
 * are written down in one place.
 */
const LMBFF_EXAMPLE_TASKS = ['SST-2', 'mr', 'cr', 'subj', 'trec', 'RTE'];

export function lmBffSpec(task: string, dataDir: string): string {
  return [
    `# ${task} with the LM-BFF manual prompt and the no-prompt baseline, on the data in ${dataDir}`,
    `task: ${task}`,
    `data: ${JSON.stringify(path.join(dataDir, task))}`,
    'shots: 16',
    'seeds: [13]',
    `model: ${config.defaultModel()}`,
    'templates:',
    '  - name: manual    # the LM-BFF manual template and label words of the task',
    '  - name: standard  # no prompt: a linear head on [CLS]',
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
        ...LMBFF_EXAMPLE_TASKS.map(t => ({ label: t, description: `LM-BFF task from ${config.dataFolder()}` }))],
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
