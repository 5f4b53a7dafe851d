/**
 * The command table: every `ntkLens.*` command in one place, each a small handler over the RunController, the
 * results store and the panel. Arguments come from CodeLens (specFile, templateName) or, from the palette, from the
 * active editor (template under the cursor, else a quick pick).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { ResultsStore } from '../engine/report/store';
import type { PanelState } from '../protocol';
import { config } from './config';
import { downloadFile, extractTar } from './download-file';
import { openExample } from './example';
import { ResultsPanel } from './panel';
import { latestResult } from './results';
import type { RunController } from './runs';
import { outlineSpec, templateAt } from './spec-outline';

export interface CommandDeps {
  extensionUri: vscode.Uri;
  runs: RunController;
  output: vscode.OutputChannel;
}

async function specText(specFile: string): Promise<string> {
  const open = vscode.workspace.textDocuments.find(d => d.uri.fsPath === specFile);
  return open ? open.getText() : fs.promises.readFile(specFile, 'utf8');
}

function activeSpecFile(): string | undefined {
  const ed = vscode.window.activeTextEditor;
  return ed && ed.document.languageId === 'ntk-template' ? ed.document.uri.fsPath : undefined;
}

/** (specFile, template) from the arguments, else the template under the cursor, else a quick pick. */
async function pickTemplate(specFile?: string, name?: string): Promise<{ specFile: string; name: string } | undefined> {
  specFile ??= activeSpecFile();
  if (!specFile) {
    void vscode.window.showWarningMessage('Open a *.ntk.yaml experiment file first (or run "ntk-lens: Open example").');
    return undefined;
  }
  if (name) return { specFile, name };
  const outline = outlineSpec(await specText(specFile));
  const ed = vscode.window.activeTextEditor;
  if (ed && ed.document.uri.fsPath === specFile) {
    const t = templateAt(outline, { line: ed.selection.active.line, character: ed.selection.active.character });
    if (t) return { specFile, name: t.name };
  }
  if (!outline.templates.length) {
    void vscode.window.showWarningMessage(`${path.basename(specFile)} has no templates: add a "templates:" list.`);
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(outline.templates.map(t => ({ label: t.name, description: t.template ?? '(standard / task default)' })), { title: 'Run which template?' });
  return pick && { specFile, name: pick.label };
}

/** What the panel shows for a template: its newest stored result (maybe stale) and whether it is running now. */
export async function panelStateFor(runs: RunController, specFile: string, name: string): Promise<PanelState> {
  const outline = outlineSpec(await specText(specFile));
  const t = outline.templates.find(x => x.name === name);
  const store = new ResultsStore(config.resultsFolder(specFile));
  const found = t ? latestResult(store, specFile, t) : undefined;
  const stored = found ? store.readTemplateReport(found.entry.key) : undefined;
  return {
    specFile,
    templateName: name,
    classes: stored?.meta.classes ?? (t?.words ? Object.keys(t.words) : []),
    model: stored?.meta.model ?? outline.model?.name ?? config.defaultModel(),
    task: stored?.meta.task ?? outline.task?.name ?? '',
    createdAt: stored?.meta.createdAt,
    stale: found?.stale ?? false,
    report: stored?.report,
    running: !!runs.liveFor(specFile, name),
  };
}

export function registerCommands(deps: CommandDeps): vscode.Disposable[] {
  const { runs, extensionUri, output } = deps;

  const showResults = async (specFile?: string, name?: string) => {
    const target = await pickTemplate(specFile, name);
    if (!target) return;
    ResultsPanel.show(extensionUri, await panelStateFor(runs, target.specFile, target.name), panelActions);
  };

  const runTemplate = async (specFile?: string, name?: string) => {
    const target = await pickTemplate(specFile, name);
    if (!target) return;
    await showResults(target.specFile, target.name);
    const report = await runs.run(target.specFile, [target.name]);
    // Refresh also after a cancel or failure, so the panel drops its "running" state.
    if (ResultsPanel.current?.current?.specFile === target.specFile) {
      ResultsPanel.current.setState(await panelStateFor(runs, target.specFile, ResultsPanel.current.current.templateName));
    }
    return report;
  };

  const exportKernels = async (specFile?: string, name?: string) => {
    const target = await pickTemplate(specFile, name);
    if (!target) return;
    const outline = outlineSpec(await specText(target.specFile));
    const t = outline.templates.find(x => x.name === target.name);
    const store = new ResultsStore(config.resultsFolder(target.specFile));
    const found = t && latestResult(store, target.specFile, t);
    const files = found ? store.kernelFiles(found.entry.key) : [];
    if (!files.length) {
      void vscode.window.showWarningMessage(`No kernels stored for "${target.name}": run the comparison first.`);
      return;
    }
    const dest = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Export kernels here' });
    if (!dest?.length) return;
    for (const f of files) fs.copyFileSync(f, path.join(dest[0].fsPath, `${target.name}-${path.basename(f)}`));
    void vscode.window.showInformationMessage(`Exported ${files.length} kernel file(s) (.npy, float64) to ${dest[0].fsPath}.`);
    return files.length;
  };

  const panelActions = {
    cancel: () => runs.cancel(),
    run: (specFile: string, name: string) => void runTemplate(specFile, name),
    exportKernels: (specFile: string, name: string) => void exportKernels(specFile, name),
  };

  const downloadData = async () => {
    const url = config.lmBffDataUrl();
    let folder = config.dataFolder();
    if (!folder) {
      const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Put LM-BFF data here' });
      if (!picked?.length) return;
      folder = picked[0].fsPath;
    }
    const archive = path.join(folder, 'datasets.tar');
    await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Downloading LM-BFF data from ${url}`, cancellable: true },
      async (progress, token) => {
        const controller = new AbortController();
        token.onCancellationRequested(() => controller.abort());
        let last = 0;
        await downloadFile(url, archive, ({ loaded, total }) => {
          if (!total) return progress.report({ message: `${(loaded / 1e6).toFixed(1)} MB` });
          const pct = (100 * loaded) / total;
          progress.report({ message: `${(loaded / 1e6).toFixed(1)} / ${(total / 1e6).toFixed(1)} MB`, increment: pct - last });
          last = pct;
        }, controller.signal);
        progress.report({ message: 'unpacking' });
        await extractTar(archive, folder!);
      },
    ).then(
      async () => {
        output.appendLine(`LM-BFF data unpacked into ${folder}`);
        if (!config.dataFolder()) await vscode.workspace.getConfiguration('ntkLens').update('dataFolder', folder, vscode.ConfigurationTarget.Global);
        void vscode.window.showInformationMessage(`LM-BFF data is in ${folder} (ntkLens.dataFolder).`);
      },
      (err: Error) => {
        output.appendLine(`download failed: ${err.message}`);
        void vscode.window.showErrorMessage(`ntk-lens: ${err.message}`);
      },
    );
    return archive;
  };

  const table: Record<string, (...args: never[]) => unknown> = {
    'ntkLens.runTemplate': runTemplate,
    'ntkLens.runAllTemplates': async (specFile?: string) => {
      const file = specFile ?? activeSpecFile();
      if (!file) return void vscode.window.showWarningMessage('Open a *.ntk.yaml experiment file first.');
      return runs.run(file);
    },
    'ntkLens.cancelRun': (jobId?: number) => {
      if (!runs.cancel(typeof jobId === 'number' ? jobId : undefined)) void vscode.window.showInformationMessage('ntk-lens: nothing is running.');
    },
    'ntkLens.showResults': showResults,
    'ntkLens.openExample': () => openExample(extensionUri.fsPath),
    'ntkLens.downloadData': downloadData,
    'ntkLens.exportKernels': exportKernels,
  };
  return Object.entries(table).map(([id, fn]) => vscode.commands.registerCommand(id, fn as (...args: unknown[]) => unknown));
}
