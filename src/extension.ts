/**
 * Wiring only: builds the two worker clients (runs, and light validation/tokenizer requests), the run controller and
 * the editor features, and pushes every disposable into context.subscriptions. No computation happens in the
 * extension host: runs are in a child process forked from dist/worker.js.
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { WorkerClient } from './worker-client';
import { TemplateCodeLensProvider } from './editor/codelens';
import { registerCommands } from './editor/commands';
import { SpecCompletionProvider } from './editor/completion';
import { WORKER_RESTART_KEYS, config } from './editor/config';
import { SpecDiagnostics } from './editor/diagnostics';
import { TemplateHoverProvider } from './editor/hover';
import { ResultsPanel } from './editor/panel';
import { RunController } from './editor/runs';
import { QueueStatus } from './editor/status';
import { StudyCodeLensProvider } from './editor/study-codelens';
import { registerStudyCommands } from './editor/study-commands';
import { StudyDiagnostics } from './editor/study-diagnostics';
import { StudyHoverProvider } from './editor/study-hover';
import { StudyPanel } from './editor/study-panel';
import { STUDY_LANGUAGE, StudyController } from './editor/study-runs';

const SELECTOR: vscode.DocumentSelector = { language: 'ntk-template' };
const STUDY_SELECTOR: vscode.DocumentSelector = { language: STUDY_LANGUAGE };
let workers: WorkerClient[] = [];
let studyController: StudyController | undefined;
const PROGRESS_REFRESH_MS = 1000;

export function activate(context: vscode.ExtensionContext) {
  const output = vscode.window.createOutputChannel('ntk-lens');
  const log = (line: string) => output.appendLine(line);
  const workerPath = path.join(context.extensionPath, 'dist', 'worker.js');
  const makeWorker = () => {
    const mb = config.memoryBudgetMB();
    return new WorkerClient({ workerPath, execArgv: mb ? [`--max-old-space-size=${mb}`] : [], log });
  };
  let runner = makeWorker();
  let progressTimer: NodeJS.Timeout | undefined;
  const validator = new WorkerClient({ workerPath, log });
  workers = [runner, validator];

  const runs = new RunController(() => runner, output);
  const lenses = new TemplateCodeLensProvider(runs);
  const status = new QueueStatus();
  const diagnostics = new SpecDiagnostics((file, text) => validator.validate(file, text), log);
  const hover = new TemplateHoverProvider((file, text, words) => validator.labelTokens(file, text, words, config.hubCacheFolder()));

  context.subscriptions.push(
    output, runs, lenses, status, diagnostics,
    vscode.languages.registerCodeLensProvider(SELECTOR, lenses),
    vscode.languages.registerHoverProvider(SELECTOR, hover),
    vscode.languages.registerCompletionItemProvider(SELECTOR, new SpecCompletionProvider(path.join(context.extensionPath, 'schemas', 'ntk.schema.json')), '*', ':', ' '),
    ...registerCommands({ extensionUri: context.extensionUri, runs, output }),
    runs.onDidChange(kind => {
      status.update(runs.queue.snapshot(), runs.currentProgress());
      // progress lines change many times a second: re-render the CodeLens at most every PROGRESS_REFRESH_MS
      if (kind === 'state') return lenses.refresh();
      if (!progressTimer) progressTimer = setTimeout(() => { progressTimer = undefined; lenses.refresh(); }, PROGRESS_REFRESH_MS);
    }),
    runs.onEvent(({ specFile, event }) => ResultsPanel.current?.event(specFile, event)),
    runs.queue.onDidChange(s => status.update(s, runs.currentProgress())),
    runs.onDidFinish(() => lenses.refresh()),
    vscode.workspace.onDidOpenTextDocument(d => diagnostics.schedule(d)),
    vscode.workspace.onDidChangeTextDocument(e => diagnostics.schedule(e.document)),
    vscode.workspace.onDidCloseTextDocument(d => diagnostics.clear(d)),
    vscode.workspace.onDidSaveTextDocument(() => lenses.refresh()),
    vscode.workspace.onDidChangeConfiguration(e => {
      if (WORKER_RESTART_KEYS.some(k => e.affectsConfiguration(k)) && !runs.queue.snapshot().running) {
        const old = runner;
        runner = makeWorker();
        workers = [runner, validator];
        void old.dispose();
      }
      if (e.affectsConfiguration('ntkLens.resultsFolder')) lenses.refresh();
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => lenses.refresh()),
  );
  // results written by another window or the CLI: refresh the lenses when the index changes
  const watcher = vscode.workspace.createFileSystemWatcher('**/index.json');
  context.subscriptions.push(watcher, watcher.onDidChange(() => lenses.refresh()), watcher.onDidCreate(() => lenses.refresh()));
  for (const d of vscode.workspace.textDocuments) diagnostics.schedule(d);
  // studies (*.ntk-study.yaml): run by the CLI as a child process, never in this host
  const studies = (studyController = new StudyController(context.extensionPath, output));
  const studyLenses = new StudyCodeLensProvider(studies);
  const studyDiagnostics = new StudyDiagnostics();
  const isStudy = (d: vscode.TextDocument) => d.languageId === STUDY_LANGUAGE;
  context.subscriptions.push(
    studies, studyLenses, studyDiagnostics,
    vscode.languages.registerCodeLensProvider(STUDY_SELECTOR, studyLenses),
    vscode.languages.registerHoverProvider(STUDY_SELECTOR, new StudyHoverProvider()),
    ...registerStudyCommands({ extensionUri: context.extensionUri, studies, output, memento: context.workspaceState }),
    studies.onDidChange(() => studyLenses.refresh()),
    vscode.workspace.onDidOpenTextDocument(d => studyDiagnostics.schedule(d)),
    vscode.workspace.onDidChangeTextDocument(e => studyDiagnostics.schedule(e.document)),
    vscode.workspace.onDidCloseTextDocument(d => studyDiagnostics.clear(d)),
    vscode.workspace.onDidSaveTextDocument(d => { if (isStudy(d)) studies.reset(d.uri.fsPath); }),
    watcher.onDidChange(() => studies.invalidateAll()), watcher.onDidCreate(() => studies.invalidateAll()),
    vscode.workspace.onDidGrantWorkspaceTrust(() => studyLenses.refresh()),
  );
  for (const d of vscode.workspace.textDocuments) studyDiagnostics.schedule(d);
  // the API the real-VS-Code tests read (test/e2e/suite): the run controllers and what the study panel shows
  return { runs, studies, studyPanelState: () => StudyPanel.current?.state };
}

export async function deactivate(): Promise<void> {
  await Promise.all([...workers.map(w => w.dispose()), studyController?.stop()]);
}
