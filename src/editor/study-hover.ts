/**
 * Hover on a task name in a study file's `tasks:` list: that task's cells (each model × shots × mode) as the results
 * index has them — FT, each kernel, agreement, verdict, seeds, date — and the verdicts' reasons. Reads the index
 * only (the cells are written there when the study's table is built), never report.json.
 */
import * as vscode from 'vscode';
import { ResultsStore } from '../engine/report/store';
import type { KernelKind } from '../engine/report/types';
import { parseStudy } from '../engine/study/study-file';
import { config } from './config';
import { cellIndexName, taskHoverMarkdown } from './study-format';

/** The 0-based character offset of (line, character) in `text`. */
export function offsetAt(text: string, line: number, character: number): number {
  let offset = 0;
  for (let l = 0; l < line; l++) {
    const nl = text.indexOf('\n', offset);
    if (nl < 0) return text.length;
    offset = nl + 1;
  }
  return offset + character;
}

export class StudyHoverProvider implements vscode.HoverProvider {
  provideHover(doc: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const text = doc.getText();
    const file = doc.uri.fsPath;
    const study = parseStudy(text, file).study;
    if (!study?.ranges.tasks) return undefined; // no `tasks:` list (the default tasks are named nowhere in the file)
    const at = offsetAt(text, position.line, position.character);
    const task = study.tasks.find(t => t.range.offset <= at && at < Math.max(t.range.endOffset, t.range.offset + 1));
    if (!task) return undefined;
    const kinds = ((study.kernel?.kinds as KernelKind[] | undefined) ?? ['sgd']);
    let md: string;
    try {
      const store = new ResultsStore(config.resultsFolder(file));
      const cells = study.models.flatMap(model => study.shots.flatMap(shots => study.modes.map(mode => ({
        model, shots, mode, entry: store.latest(study.file, cellIndexName(task.task.name, shots, mode, model)),
      }))));
      md = taskHoverMarkdown(task.task.name, cells, kinds);
    } catch (err) {
      md = `ntk-lens: cannot read the results of ${task.task.name}: ${(err as Error).message}`;
    }
    const r = task.range;
    return new vscode.Hover(new vscode.MarkdownString(md), new vscode.Range(r.line - 1, r.column - 1, r.endLine - 1, r.endColumn - 1));
  }
}
