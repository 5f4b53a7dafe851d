/**
 * CodeLens above every template item: "▶ Run NTK comparison"; the last result's summary with its verdict status (opens
 * the panel; the tooltip has the verdict's text and reason), marked stale when the template changed; while running,
 * the phase and step and a Cancel lens. Reads only the results index, never report.json.
 */
import * as vscode from 'vscode';
import { ResultsStore } from '../engine/report/store';
import { config } from './config';
import { summaryLine, verdictTooltip } from './format';
import { latestResult } from './results';
import type { RunController } from './runs';
import { outlineSpec } from './spec-outline';

export class TemplateCodeLensProvider implements vscode.CodeLensProvider {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;

  constructor(private readonly runs: Pick<RunController, 'liveFor' | 'isQueued'>) {}

  refresh(): void {
    this.changed.fire();
  }

  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const specFile = doc.uri.fsPath;
    const store = new ResultsStore(config.resultsFolder(specFile));
    const lenses: vscode.CodeLens[] = [];
    for (const t of outlineSpec(doc.getText()).templates) {
      const line = t.item.start.line;
      const range = new vscode.Range(line, 0, line, 0);
      const live = this.runs.liveFor(specFile, t.name);
      if (live) {
        lenses.push(new vscode.CodeLens(range, { title: `$(sync~spin) ${live.progress}`, command: 'ntkLens.showResults', arguments: [specFile, t.name] }));
        lenses.push(new vscode.CodeLens(range, { title: 'Cancel', command: 'ntkLens.cancelRun', arguments: [live.jobId] }));
        continue;
      }
      if (this.runs.isQueued(specFile, t.name)) {
        lenses.push(new vscode.CodeLens(range, { title: '$(clock) queued', command: 'ntkLens.cancelRun', arguments: [] }));
      } else {
        lenses.push(new vscode.CodeLens(range, { title: '▶ Run NTK comparison', command: 'ntkLens.runTemplate', arguments: [specFile, t.name] }));
      }
      const result = latestResult(store, specFile, t);
      if (result) {
        const title = `${result.stale ? '$(history) stale: ' : ''}${summaryLine(result.entry)}`;
        lenses.push(new vscode.CodeLens(range, {
          title,
          tooltip: result.stale ? 'The template changed since this result was computed: run it again' : verdictTooltip(result.entry),
          command: 'ntkLens.showResults',
          arguments: [specFile, t.name],
        }));
      }
    }
    return lenses;
  }

  dispose(): void {
    this.changed.dispose();
  }
}
