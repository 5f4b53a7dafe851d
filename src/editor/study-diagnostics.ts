/**
 * Diagnostics for study files as the user types: every error of the engine's study validator (`parseStudy`: YAML,
 * keys, tasks, shots, seeds, modes, overrides, and `finetune`/`kernel` by the experiment file's own parsers) at its
 * file:line:column range. Parsing needs YAML and the task registry only (no engine numerics), so it runs here in the
 * extension host, debounced per file; deeper checks (data folders, checkpoints) are `ntk-lens study check`'s.
 */
import * as vscode from 'vscode';
import { parseStudy } from '../engine/study/study-file';
import { toVscodeDiagnostic } from './diagnostics';
import { STUDY_LANGUAGE } from './study-runs';

export class StudyDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('ntk-lens-study');
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly delayMs = 300) {}

  schedule(doc: vscode.TextDocument): void {
    if (doc.languageId !== STUDY_LANGUAGE) return;
    const key = doc.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(key, setTimeout(() => { this.timers.delete(key); this.validateNow(doc); }, this.delayMs));
  }

  validateNow(doc: vscode.TextDocument): void {
    const { errors } = parseStudy(doc.getText(), doc.uri.fsPath);
    this.collection.set(doc.uri, errors.map(e => toVscodeDiagnostic({ ...e, severity: e.severity })));
  }

  clear(doc: vscode.TextDocument): void {
    clearTimeout(this.timers.get(doc.uri.toString()));
    this.collection.delete(doc.uri);
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.collection.dispose();
  }
}
