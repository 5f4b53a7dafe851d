/**
 * Hover on the task name or a template: a table of every stored result of the task (kernel accuracy per kind, FT,
 * agreement, verdict status, model, date); on a template also its verdict text, the reason and its warnings (the one
 * report.json of that result is read for them). On a label word: its token id(s) in the file's model (asked from the worker, cached).
 */
import * as path from 'path';
import * as vscode from 'vscode';
import { ResultsStore } from '../engine/report/store';
import type { RunWarning } from '../engine/report/types';
import { config } from './config';
import { resultsTable, templateVerdictMarkdown } from './format';
import { latestResult } from './results';
import { contains, outlineSpec, type Span } from './spec-outline';

export type LabelTokenLookup = (specFile: string, text: string, words: string[]) => Promise<{ model: string; tokens: { word: string; ids: number[]; pieces: string[] }[] }>;

const toRange = (s: Span) => new vscode.Range(s.start.line, s.start.character, s.end.line, s.end.character);

export class TemplateHoverProvider implements vscode.HoverProvider {
  private readonly tokenCache = new Map<string, { ids: number[]; pieces: string[]; model: string }>();

  constructor(private readonly lookupTokens: LabelTokenLookup) {}

  async provideHover(doc: vscode.TextDocument, position: vscode.Position): Promise<vscode.Hover | undefined> {
    const text = doc.getText();
    const outline = outlineSpec(text);
    const p = { line: position.line, character: position.character };
    const specFile = doc.uri.fsPath;
    const task = outline.task?.name;
    const model = outline.model?.name ?? config.defaultModel();

    for (const t of outline.templates) {
      const word = t.wordSpans.find(w => contains(w.span, p));
      if (word) return this.labelWordHover(specFile, text, model, word.label, word.word, toRange(word.span));
    }

    const onTask = outline.task && contains(outline.task.span, p);
    const template = outline.templates.find(t => contains(t.item, p) && (!t.templateSpan || contains(t.templateSpan, p) || (t.nameSpan && contains(t.nameSpan, p))));
    if (!onTask && !template) return undefined;
    if (!task) return undefined;
    const store = new ResultsStore(config.resultsFolder(specFile));
    let md: string;
    try {
      const highlight = template ? latestResult(store, specFile, template) : undefined;
      md = resultsTable(store.list({ task }), { title: `Task ${task}`, highlightKey: highlight?.entry.key });
      if (highlight) {
        let warnings: RunWarning[] | undefined;
        try {
          warnings = store.readTemplateReport(highlight.entry.key)?.report.warnings;
        } catch {
          warnings = undefined; // the table and the verdict come from the index; the warnings only from report.json
        }
        md += `\n\n${templateVerdictMarkdown(template!.name, highlight.entry, { stale: highlight.stale, warnings })}`;
      }
    } catch (err) {
      md = `ntk-lens: cannot read the results in ${store.root}: ${(err as Error).message}`;
    }
    const range = onTask ? toRange(outline.task!.span) : toRange((template!.templateSpan ?? template!.nameSpan ?? template!.item));
    const ms = new vscode.MarkdownString(md);
    ms.supportThemeIcons = true; // $(warning)
    return new vscode.Hover(ms, range);
  }

  private async labelWordHover(specFile: string, text: string, model: string, label: string, word: string, range: vscode.Range): Promise<vscode.Hover> {
    // a relative `model:` (./model) is a different checkpoint next to each file: the folder is part of the key
    const cacheKey = `${path.dirname(specFile)}\u0000${model}\u0000${word}`;
    let hit = this.tokenCache.get(cacheKey);
    if (!hit) {
      try {
        const r = await this.lookupTokens(specFile, text, [word]);
        const t = r.tokens.find(x => x.word === word);
        if (t) {
          hit = { ids: t.ids, pieces: t.pieces, model: r.model };
          this.tokenCache.set(cacheKey, hit);
        }
      } catch (err) {
        return new vscode.Hover(new vscode.MarkdownString(`Label word for class **${label}**: \`${word}\`\n\n(token ids unavailable: ${(err as Error).message})`), range);
      }
    }
    if (!hit) return new vscode.Hover(new vscode.MarkdownString(`Label word for class **${label}**: \`${word}\``), range);
    const single = hit.ids.length === 1;
    const md =
      `Label word for class **${label}**: \`${word}\` → token id${single ? '' : 's'} ` +
      `${hit.ids.map(i => `\`${i}\``).join(', ')} (${hit.pieces.map(p => `\`${p}\``).join(' ')}) in ${hit.model}` +
      (single ? '' : '\n\n$(warning) LM-BFF needs one token per label word: choose a single-token synonym.');
    const ms = new vscode.MarkdownString(md);
    ms.supportThemeIcons = true;
    return new vscode.Hover(ms, range);
  }
}
