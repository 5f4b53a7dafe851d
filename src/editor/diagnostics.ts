/**
 * Diagnostics from the engine validator (template pieces, mask, label words as tokens of the file's model) as the
 * user types: debounced, run in the light validation worker (tokenizer loading never blocks the extension host),
 * latest edit wins.
 */
import * as vscode from 'vscode';
import type { EngineDiagnostic } from '../protocol';

export type Validate = (specFile: string, text: string) => Promise<EngineDiagnostic[]>;

const SEVERITY: Record<EngineDiagnostic['severity'], vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

/** Engine diagnostics are 1-based (line, column); VS Code ranges are 0-based. */
export function toVscodeDiagnostic(d: EngineDiagnostic): vscode.Diagnostic {
  const range = new vscode.Range(
    Math.max(0, d.line - 1), Math.max(0, d.column - 1),
    Math.max(0, d.endLine - 1), Math.max(0, d.endColumn - 1),
  );
  const diag = new vscode.Diagnostic(range, d.message, SEVERITY[d.severity] ?? vscode.DiagnosticSeverity.Error);
  diag.source = 'ntk-lens';
  return diag;
}

export class SpecDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('ntk-lens');
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly versions = new Map<string, number>();

  constructor(private readonly validate: Validate, private readonly log: (line: string) => void, private readonly delayMs = 350) {}

  /** Schedules validation of `doc` (debounced per file). */
  schedule(doc: vscode.TextDocument): void {
    if (doc.languageId !== 'ntk-template') return;
    const key = doc.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(key, setTimeout(() => void this.validateNow(doc), this.delayMs));
  }

  async validateNow(doc: vscode.TextDocument): Promise<void> {
    const key = doc.uri.toString();
    const version = (this.versions.get(key) ?? 0) + 1;
    this.versions.set(key, version);
    try {
      const diags = await this.validate(doc.uri.fsPath, doc.getText());
      if (this.versions.get(key) === version) this.collection.set(doc.uri, diags.map(toVscodeDiagnostic));
    } catch (err) {
      this.log(`validation of ${doc.uri.fsPath} failed: ${(err as Error).message}`);
    }
  }

  clear(doc: vscode.TextDocument): void {
    this.collection.delete(doc.uri);
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.collection.dispose();
  }
}
