/** Completion of keys, task names, enum values and LM-BFF template pieces in `*.ntk.yaml` files. */
import * as fs from 'fs';
import * as vscode from 'vscode';
import { suggestionsAt } from './completion-items';

const KIND = { key: vscode.CompletionItemKind.Property, value: vscode.CompletionItemKind.EnumMember, piece: vscode.CompletionItemKind.Keyword };

export class SpecCompletionProvider implements vscode.CompletionItemProvider {
  private schema: object | undefined;

  /** `schemaPath`: schemas/ntk.schema.json inside the extension; missing or broken → built-in lists. */
  constructor(schemaPath: string) {
    try {
      this.schema = JSON.parse(fs.readFileSync(schemaPath, 'utf8'));
    } catch {
      this.schema = undefined;
    }
  }

  provideCompletionItems(doc: vscode.TextDocument, pos: vscode.Position): vscode.CompletionItem[] {
    return suggestionsAt(doc.getText(), pos.line, pos.character, this.schema).map(s => {
      const item = new vscode.CompletionItem(s.label, KIND[s.kind]);
      item.insertText = s.insertText;
      item.detail = s.detail;
      return item;
    });
  }
}
