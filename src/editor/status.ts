/** Status bar item: the running job and the queue behind it; clicking it cancels the running job. */
import * as vscode from 'vscode';
import type { QueueSnapshot } from './run-queue';

export function statusText(s: QueueSnapshot, progress?: string): string | undefined {
  if (!s.running) return undefined;
  const queued = s.queued.length ? ` (+${s.queued.length} queued)` : '';
  return `$(beaker~spin) NTK ${progress ?? s.running.label}${queued}`;
}

export class QueueStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('ntkLens.queue', vscode.StatusBarAlignment.Left, 10);

  constructor() {
    this.item.name = 'ntk-lens runs';
    this.item.command = 'ntkLens.cancelRun';
  }

  update(s: QueueSnapshot, progress?: string): void {
    const text = statusText(s, progress);
    if (!text) return this.item.hide();
    this.item.text = text;
    this.item.tooltip = [`Running: ${s.running!.label}`, ...s.queued.map((q, i) => `${i + 1}. ${q.label}`), '', 'Click to cancel the running job'].join('\n');
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}
