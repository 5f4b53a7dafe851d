/**
 * The results panel (webview beside the template): live progress while a run goes, then the comparison of one
 * template's stored result. Owns its lifetime (one panel, revealed again for another template); strict CSP with a
 * crypto nonce; local resources limited to dist/webview and media; every message from the webview is checked
 * against the PanelToHost union before it is acted on.
 */
import * as crypto from 'crypto';
import * as vscode from 'vscode';
import { isPanelToHost, type HostToPanel, type PanelState, type PanelToHost } from '../protocol';
import type { RunEvent } from '../engine/report/types';

export const PANEL_VIEW_TYPE = 'ntkLens.results';

export interface PanelActions {
  cancel(): void;
  run(specFile: string, templateName: string): void;
  exportKernels(specFile: string, templateName: string): void;
}

export class ResultsPanel implements vscode.Disposable {
  static current: ResultsPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private state: PanelState | undefined;
  private ready = false;
  private readonly outbox: HostToPanel[] = [];

  static show(extensionUri: vscode.Uri, state: PanelState, actions: PanelActions): ResultsPanel {
    if (ResultsPanel.current) {
      ResultsPanel.current.panel.reveal(vscode.ViewColumn.Beside, true);
    } else {
      const panel = vscode.window.createWebviewPanel(PANEL_VIEW_TYPE, 'NTK comparison', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
        enableScripts: true,
        retainContextWhenHidden: true,
        localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')],
      });
      ResultsPanel.current = new ResultsPanel(panel, extensionUri, actions);
    }
    ResultsPanel.current.setState(state);
    return ResultsPanel.current;
  }

  private constructor(readonly panel: vscode.WebviewPanel, extensionUri: vscode.Uri, private readonly actions: PanelActions) {
    panel.webview.html = panelHtml(panel.webview, extensionUri);
    panel.onDidDispose(() => this.dispose(), null, this.disposables);
    panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m), null, this.disposables);
  }

  get current(): PanelState | undefined {
    return this.state;
  }

  setState(state: PanelState): void {
    this.state = state;
    this.panel.title = `NTK: ${state.templateName}`;
    this.post({ type: 'show', state });
  }

  /** Forwards a run event if it concerns the spec file shown. */
  event(specFile: string, event: RunEvent): void {
    if (this.state?.specFile === specFile) this.post({ type: 'event', event });
  }

  error(message: string): void {
    this.post({ type: 'error', message });
  }

  private post(m: HostToPanel): void {
    if (!this.ready) {
      if (m.type === 'show') this.outbox.splice(0, this.outbox.length);
      this.outbox.push(m);
      return;
    }
    void this.panel.webview.postMessage(m);
  }

  private onMessage(m: unknown): void {
    if (!isPanelToHost(m)) return; // untrusted input: anything else is dropped
    const msg: PanelToHost = m;
    switch (msg.type) {
      case 'ready':
        this.ready = true;
        for (const queued of this.outbox.splice(0)) void this.panel.webview.postMessage(queued);
        return;
      case 'cancel':
        return this.actions.cancel();
      case 'run':
        if (this.state) this.actions.run(this.state.specFile, this.state.templateName);
        return;
      case 'exportKernels':
        if (this.state) this.actions.exportKernels(this.state.specFile, this.state.templateName);
        return;
    }
  }

  dispose(): void {
    ResultsPanel.current = undefined;
    this.panel.dispose();
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

/**
 * A webview panel's HTML (the results panel's by default; the Study panel passes its own bundle and title): no
 * inline script or style, CSP `default-src 'none'`, the script allowed by nonce only.
 */
export function panelHtml(
  webview: Pick<vscode.Webview, 'asWebviewUri' | 'cspSource'>,
  extensionUri: vscode.Uri,
  page: { bundle: string; title: string } = { bundle: 'main', title: 'NTK comparison' },
): string {
  const nonce = crypto.randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', `${page.bundle}.js`));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', `${page.bundle}.css`));
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data:`,
    `style-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style}">
<title>${page.title}</title>
</head>
<body>
<main id="app"><p id="empty">Loading…</p></main>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
