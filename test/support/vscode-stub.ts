/**
 * Makes `require('vscode')` resolve to a small fake (a Module._load hook, as vscode-python's vscode-mock.ts) so the
 * editor adapters run under plain mocha. Import it first in a test file. Value classes are real enough to compare;
 * `stub` lets a test set configuration values, workspace folders and trust, and see messages shown.
 */
import Module = require('module');

export class Position { constructor(public line: number, public character: number) {} }
export class Range {
  start: Position; end: Position;
  constructor(a: number, b: number, c: number, d: number) { this.start = new Position(a, b); this.end = new Position(c, d); }
}
export class CodeLens { constructor(public range: Range, public command?: { title: string; command: string; arguments?: unknown[]; tooltip?: string }) {} }
export class MarkdownString { supportThemeIcons = false; constructor(public value = '') {} }
export class Hover { contents: MarkdownString[]; constructor(c: MarkdownString, public range?: Range) { this.contents = [c]; } }
export class Diagnostic { source?: string; constructor(public range: Range, public message: string, public severity: number) {} }
export class CompletionItem { insertText?: string; detail?: string; constructor(public label: string, public kind?: number) {} }
export class EventEmitter<T> {
  private listeners: ((e: T) => void)[] = [];
  event = (l: (e: T) => void) => { this.listeners.push(l); return { dispose: () => (this.listeners = this.listeners.filter(x => x !== l)) }; };
  fire(e: T) { for (const l of this.listeners) l(e); }
  dispose() { this.listeners = []; }
}
export class Uri {
  constructor(public fsPath: string) {}
  static file(p: string) { return new Uri(p); }
  static joinPath(u: Uri, ...parts: string[]) { return new Uri([u.fsPath, ...parts].join('/')); }
  toString() { return `file://${this.fsPath}`; }
}

export const stub = {
  settings: {} as Record<string, unknown>,
  workspaceFolder: undefined as string | undefined,
  isTrusted: true,
  messages: [] as string[],
  diagnostics: new Map<string, Diagnostic[]>(),
  reset() { this.settings = {}; this.workspaceFolder = undefined; this.isTrusted = true; this.messages = []; this.diagnostics.clear(); },
};

const fake = {
  Position, Range, CodeLens, MarkdownString, Hover, Diagnostic, CompletionItem, EventEmitter, Uri,
  DiagnosticSeverity: { Error: 0, Warning: 1, Information: 2, Hint: 3 },
  CompletionItemKind: { Property: 9, EnumMember: 19, Keyword: 13 },
  ViewColumn: { Beside: -2, One: 1, Two: 2 },
  ProgressLocation: { Notification: 15 },
  StatusBarAlignment: { Left: 1, Right: 2 },
  workspace: {
    getConfiguration: (section: string) => ({ get: (key: string) => stub.settings[`${section}.${key}`] }),
    get workspaceFolders() { return stub.workspaceFolder ? [{ uri: Uri.file(stub.workspaceFolder) }] : undefined; },
    getWorkspaceFolder: (u: Uri) => (stub.workspaceFolder && u.fsPath.startsWith(stub.workspaceFolder) ? { uri: Uri.file(stub.workspaceFolder) } : undefined),
    get isTrusted() { return stub.isTrusted; },
    asRelativePath: (p: string) => p,
    textDocuments: [],
  },
  languages: {
    createDiagnosticCollection: () => ({
      set: (u: Uri, d: Diagnostic[]) => stub.diagnostics.set(u.toString(), d),
      delete: (u: Uri) => stub.diagnostics.delete(u.toString()),
      dispose: () => undefined,
    }),
  },
  window: {
    showWarningMessage: (m: string) => { stub.messages.push(m); return Promise.resolve(undefined); },
    showInformationMessage: (m: string) => { stub.messages.push(m); return Promise.resolve(undefined); },
    showErrorMessage: (m: string) => { stub.messages.push(m); return Promise.resolve(undefined); },
  },
};

const M = Module as unknown as { _load: (req: string, ...rest: unknown[]) => unknown };
const orig = M._load;
M._load = function (req: string, ...rest: unknown[]) {
  return req === 'vscode' ? fake : orig.call(this, req, ...rest);
};
