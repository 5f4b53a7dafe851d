/**
 * The study panel (webview beside the study file): the study's table filling in while it runs (rows = tasks; prompt
 * and standard side by side), each job's state with its log, the summary lines, export buttons, and cells that open
 * their result in the results panel. One panel, shown again for another study; strict CSP with a crypto nonce; local
 * resources limited to dist/webview and media. Every message from the webview is checked (isStudyPanelToHost), and
 * what it names (a cell's key, a job's log) must be in the state the host sent.
 */
import * as vscode from 'vscode';
import { panelHtml } from './panel';
import { isStudyPanelToHost, type HostToStudyPanel, type StudyPanelState, type TableFormatName } from './study-protocol';

export const STUDY_PANEL_VIEW_TYPE = 'ntkLens.study';

export interface StudyPanelActions {
  run(studyFile: string): void;
  cancel(studyFile: string): void;
  refresh(studyFile: string): void;
  exportTable(studyFile: string, format: TableFormatName): void;
  openCell(studyFile: string, key: string): void;
  openLog(studyFile: string, logFile: string): void;
}

/**
 * Acts on one message from the webview. Returns what was done ('ready' included), or undefined when the message was
 * dropped: not a StudyPanelToHost, no study shown, a key that is no cell of the shown tables, a job without a log.
 */
export function routeStudyMessage(m: unknown, state: StudyPanelState | undefined, actions: StudyPanelActions): string | undefined {
  if (!isStudyPanelToHost(m)) return undefined; // untrusted input
  if (m.type === 'ready') return 'ready';
  if (!state) return undefined;
  const file = state.studyFile;
  switch (m.type) {
    case 'run': actions.run(file); return 'run';
    case 'cancel': actions.cancel(file); return 'cancel';
    case 'refresh': actions.refresh(file); return 'refresh';
    case 'export': actions.exportTable(file, m.format); return `export ${m.format}`;
    case 'openCell': {
      const known = state.tables?.some(t => t.rows.some(r => r.cells.some(c => c.key === m.key && c.summary)));
      if (!known) return undefined;
      actions.openCell(file, m.key);
      return `openCell ${m.key}`;
    }
    case 'openLog': {
      const log = state.jobs[m.index]?.logFile;
      if (!log) return undefined;
      actions.openLog(file, log);
      return `openLog ${m.index}`;
    }
  }
}

export class StudyPanel implements vscode.Disposable {
  static current: StudyPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private shown: StudyPanelState | undefined;
  private ready = false;
  private pending: HostToStudyPanel[] = [];
  private timer: NodeJS.Timeout | undefined;

  static show(extensionUri: vscode.Uri, state: StudyPanelState, actions: StudyPanelActions): StudyPanel {
    if (StudyPanel.current) StudyPanel.current.panel.reveal(vscode.ViewColumn.Beside, true);
    else {
      const panel = vscode.window.createWebviewPanel(STUDY_PANEL_VIEW_TYPE, 'Study', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
        enableScripts: true,
        retainContextWhenHidden: true,
        localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')],
      });
      StudyPanel.current = new StudyPanel(panel, extensionUri, actions);
    }
    StudyPanel.current.setState(state, true);
    return StudyPanel.current;
  }

  private constructor(readonly panel: vscode.WebviewPanel, extensionUri: vscode.Uri, private readonly actions: StudyPanelActions) {
    panel.webview.html = studyPanelHtml(panel.webview, extensionUri);
    panel.onDidDispose(() => this.dispose(), null, this.disposables);
    panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m), null, this.disposables);
  }

  /** The state shown (tests and the e2e read it). */
  get state(): StudyPanelState | undefined {
    return this.shown;
  }

  /** Shows `state`; updates of the same study are coalesced (events come in bursts), a new study shows at once. */
  setState(state: StudyPanelState, now = false): void {
    const other = this.shown?.studyFile !== state.studyFile;
    this.shown = state;
    this.panel.title = `Study: ${state.studyFile.split(/[\\/]/).pop()}`;
    if (now || other) return this.post({ type: 'show', state });
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      if (this.shown) this.post({ type: 'show', state: this.shown });
    }, 100);
  }

  error(message: string): void {
    this.post({ type: 'error', message });
  }

  private post(m: HostToStudyPanel): void {
    if (!this.ready) {
      if (m.type === 'show') this.pending = this.pending.filter(p => p.type !== 'show');
      this.pending.push(m);
      return;
    }
    void this.panel.webview.postMessage(m);
  }

  private onMessage(m: unknown): void {
    if (routeStudyMessage(m, this.shown, this.actions) !== 'ready') return;
    this.ready = true;
    for (const queued of this.pending.splice(0)) void this.panel.webview.postMessage(queued);
  }

  dispose(): void {
    StudyPanel.current = undefined;
    clearTimeout(this.timer);
    this.panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

/** The Study panel's HTML: the results panel's page (strict CSP, nonce) with the study bundle. */
export function studyPanelHtml(webview: Pick<vscode.Webview, 'asWebviewUri' | 'cspSource'>, extensionUri: vscode.Uri): string {
  return panelHtml(webview, extensionUri, { bundle: 'study', title: 'Study' });
}
