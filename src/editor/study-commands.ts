/**
 * The study commands: ntkLens.runStudy, cancelStudy, submitStudy, openStudyTable, exportStudyTable, and what the
 * study panel asks for (open a cell's result in the results panel, a job's log). Arguments come from the CodeLens
 * (the study file) or, from the palette, from the active editor. Tests pass every answer as an argument instead of
 * a dialog: submitStudy(file, {partition, time, maxParallel}), exportStudyTable(file, format, target).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { ResultsStore } from '../engine/report/store';
import { config } from './config';
import { ResultsPanel, type PanelActions } from './panel';
import { StudyPanel, type StudyPanelActions } from './study-panel';
import { TABLE_FORMATS, type StudyPanelState, type TableFormatName } from './study-protocol';
import { STUDY_LANGUAGE, type StudyController } from './study-runs';

export const isStudyFile = (f: string) => /\.ntk-study\.ya?ml$/.test(f);

function activeStudyFile(): string | undefined {
  const ed = vscode.window.activeTextEditor;
  return ed && ed.document.languageId === STUDY_LANGUAGE ? ed.document.uri.fsPath : undefined;
}

function studyArg(file: unknown): string | undefined {
  const f = typeof file === 'string' ? file : file instanceof vscode.Uri ? file.fsPath : activeStudyFile();
  if (!f) void vscode.window.showWarningMessage('Open a *.ntk-study.yaml study file first (`ntk-lens study init` writes one).');
  return f;
}

const SLURM_TIME = /^(\d+-)?\d+(:\d{1,2}){0,2}$/;

export interface StudyCommandDeps {
  extensionUri: vscode.Uri;
  studies: StudyController;
  output: vscode.OutputChannel;
  /** Remembers the last Slurm answers (workspace state). */
  memento?: vscode.Memento;
}

export function registerStudyCommands(deps: StudyCommandDeps): vscode.Disposable[] {
  const { extensionUri, studies, output, memento } = deps;
  let ownResultsPanel: ResultsPanel | undefined;

  const showPanel = (file: string): StudyPanel => StudyPanel.show(extensionUri, studies.session(file), panelActions);

  const runStudy = async (fileArg?: unknown) => {
    const file = studyArg(fileArg);
    if (!file) return undefined;
    const result = studies.run(file);
    showPanel(file);
    return result;
  };

  const openStudyTable = async (fileArg?: unknown): Promise<StudyPanelState | undefined> => {
    const file = studyArg(fileArg);
    if (!file) return undefined;
    const panel = showPanel(file);
    if (studies.isRunning(file)) return studies.session(file);
    if (!vscode.workspace.isTrusted) {
      panel.error('Trust this workspace to read the study table (it reads the model files to find each cell\'s results).');
      return studies.session(file);
    }
    try {
      await studies.refreshTable(file);
    } catch (err) {
      output.appendLine(`[study] table of ${file}: ${(err as Error).message}`);
      if (StudyPanel.current?.state?.studyFile === file) StudyPanel.current.error((err as Error).message);
    }
    return studies.session(file);
  };

  const exportStudyTable = async (fileArg?: unknown, formatArg?: string, target?: string): Promise<string | undefined> => {
    const file = studyArg(fileArg);
    if (!file) return undefined;
    let format = (TABLE_FORMATS as readonly string[]).includes(formatArg ?? '') ? (formatArg as TableFormatName) : undefined;
    format ??= (await vscode.window.showQuickPick([...TABLE_FORMATS], { title: 'Export the study table as' })) as TableFormatName | undefined;
    if (!format) return undefined;
    if (!target) {
      const base = path.basename(file).replace(/\.ntk-study\.ya?ml$/, '');
      const picked = await vscode.window.showSaveDialog({
        defaultUri: vscode.Uri.file(path.join(path.dirname(file), `${base}.table.${format}`)),
        filters: { [`${format} table`]: [format] },
        saveLabel: 'Export table',
      });
      if (!picked) return undefined;
      target = picked.fsPath;
    }
    try {
      const text = await studies.tableText(file, format);
      fs.writeFileSync(target, text);
      void vscode.window.showInformationMessage(`Study table written to ${target}.`);
      return target;
    } catch (err) {
      void vscode.window.showErrorMessage(`ntk-lens: the table could not be exported: ${(err as Error).message}`);
      return undefined;
    }
  };

  const submitStudy = async (fileArg?: unknown, given?: { partition?: string; time?: string; maxParallel?: number }): Promise<string | undefined> => {
    const file = studyArg(fileArg);
    if (!file) return undefined;
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage('ntk-lens submits nothing from an untrusted workspace: trust this folder first.');
      return undefined;
    }
    let opts = given;
    if (!opts) {
      const last = memento?.get<{ partition?: string; time?: string; maxParallel?: number }>('ntkLens.slurm') ?? {};
      const partition = await vscode.window.showInputBox({ title: 'Submit to Slurm (1/3)', prompt: 'Partition (empty: the cluster\'s default)', value: last.partition ?? '' });
      if (partition === undefined) return undefined;
      const time = await vscode.window.showInputBox({
        title: 'Submit to Slurm (2/3)', prompt: 'Time limit per job, Slurm format (empty: from the engine\'s estimate)', value: last.time ?? '', placeHolder: '2:00:00',
        validateInput: v => (!v || SLURM_TIME.test(v.trim()) ? undefined : 'Slurm time: minutes, MM:SS, HH:MM:SS or D-HH[:MM[:SS]]'),
      });
      if (time === undefined) return undefined;
      const par = await vscode.window.showInputBox({
        title: 'Submit to Slurm (3/3)', prompt: 'Most array tasks running at once (empty: no limit)', value: last.maxParallel ? String(last.maxParallel) : '',
        validateInput: v => (!v || /^[1-9]\d*$/.test(v.trim()) ? undefined : 'A positive whole number, or empty'),
      });
      if (par === undefined) return undefined;
      opts = { partition: partition.trim() || undefined, time: time.trim() || undefined, maxParallel: par.trim() ? Number(par.trim()) : undefined };
      await memento?.update('ntkLens.slurm', opts);
    }
    const doc = vscode.workspace.textDocuments.find(d => d.uri.fsPath === file);
    if (doc?.isDirty) await doc.save();
    try {
      const answer = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Submitting the study to Slurm…' }, () => studies.submit(file, opts!));
      output.appendLine(`[study] submitted ${file}:\n${answer.trimEnd()}`);
      const first = answer.trim().split(/\r?\n/).slice(0, 3).join(' · ');
      void vscode.window.showInformationMessage(`Slurm: ${first || 'submitted'}`, 'Show output').then(c => { if (c === 'Show output') output.show(true); });
      studies.invalidate(file);
      return answer;
    } catch (err) {
      output.appendLine(`[study] submit of ${file} failed: ${(err as Error).message}`);
      void vscode.window.showErrorMessage(`ntk-lens: ${(err as Error).message}`, 'Show log').then(c => { if (c === 'Show log') output.show(true); });
      return undefined;
    }
  };

  // The results panel keeps the actions it was created with: a cell opens it with actions that know study files
  // (and hand template files to the ordinary commands), replacing a panel created by the template commands.
  const resultsActions: PanelActions = {
    cancel: () => void vscode.commands.executeCommand('ntkLens.cancelRun'),
    run: (specFile, name) => void (isStudyFile(specFile) ? runStudy(specFile) : vscode.commands.executeCommand('ntkLens.runTemplate', specFile, name)),
    exportKernels: (specFile, name) => void (isStudyFile(specFile) ? exportCellKernels(specFile) : vscode.commands.executeCommand('ntkLens.exportKernels', specFile, name)),
  };

  const exportCellKernels = async (file: string) => {
    const key = ResultsPanel.current?.current?.report?.key;
    const files = key ? new ResultsStore(config.resultsFolder(file)).kernelFiles(key) : [];
    if (!files.length) return void vscode.window.showWarningMessage('No kernels stored for this cell.');
    const dest = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Export kernels here' });
    if (!dest?.length) return;
    for (const f of files) fs.copyFileSync(f, path.join(dest[0].fsPath, `${key}-${path.basename(f)}`));
    void vscode.window.showInformationMessage(`Exported ${files.length} kernel file(s) (.npy, float64) to ${dest[0].fsPath}.`);
  };

  /** Shows a study cell's stored result (by its key) in the results panel. */
  const openCell = (file: string, key: string): boolean => {
    const stored = new ResultsStore(config.resultsFolder(file)).readTemplateReport(key);
    if (!stored) {
      StudyPanel.current?.error(`No stored result for cell ${key}: rebuild the table (Refresh).`);
      return false;
    }
    if (ResultsPanel.current && ResultsPanel.current !== ownResultsPanel) ResultsPanel.current.dispose();
    ownResultsPanel = ResultsPanel.show(extensionUri, {
      specFile: stored.meta.specFile, templateName: stored.meta.templateName, classes: stored.meta.classes ?? [], model: stored.meta.model,
      task: stored.meta.task, createdAt: stored.meta.createdAt, stale: false, report: stored.report, running: false,
    }, resultsActions);
    return true;
  };

  const panelActions: StudyPanelActions = {
    run: file => void runStudy(file),
    cancel: file => void studies.cancel(file),
    refresh: file => void openStudyTable(file),
    exportTable: (file, format) => void exportStudyTable(file, format),
    openCell: (file, key) => void openCell(file, key),
    openLog: (_file, log) => void vscode.window.showTextDocument(vscode.Uri.file(log), { preview: true, viewColumn: vscode.ViewColumn.One }).then(undefined, (err: Error) => {
      void vscode.window.showErrorMessage(`ntk-lens: cannot open the job's log ${log}: ${err.message}`);
    }),
  };

  const table: Record<string, (...args: never[]) => unknown> = {
    'ntkLens.runStudy': runStudy,
    'ntkLens.cancelStudy': (fileArg?: unknown) => {
      if (!studies.cancel(typeof fileArg === 'string' ? fileArg : undefined)) void vscode.window.showInformationMessage('ntk-lens: no study is running.');
    },
    'ntkLens.submitStudy': submitStudy,
    'ntkLens.openStudyTable': openStudyTable,
    'ntkLens.exportStudyTable': exportStudyTable,
    'ntkLens.openStudyCell': (file: string, key: string) => openCell(file, key),
  };
  return [
    ...Object.entries(table).map(([id, fn]) => vscode.commands.registerCommand(id, fn as (...args: unknown[]) => unknown)),
    studies.onDidChange(file => {
      if (StudyPanel.current?.state?.studyFile === file) StudyPanel.current.setState(studies.session(file));
    }),
  ];
}
