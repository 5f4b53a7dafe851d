/**
 * Where things are in a `*.ntk.yaml` file, for CodeLens, hover and completion: the task, the model and every template
 * item with the source ranges of its name, template string and label words. Pure (yaml only, no vscode), tolerant of
 * half-typed files: whatever parses is reported, the engine validator (src/engine/spec/) reports the errors.
 * Positions are 0-based { line, character } as in the VS Code API.
 */
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, type Node } from 'yaml';

export interface Pos { line: number; character: number }
export interface Span { start: Pos; end: Pos }

export interface TemplateOutline {
  name: string;
  /** Template text, or null for the standard (no-prompt) item. */
  template: string | null;
  words: Record<string, string> | null;
  /** The whole list item. */
  item: Span;
  nameSpan?: Span;
  templateSpan?: Span;
  wordSpans: { label: string; word: string; span: Span }[];
}

export interface SpecOutline {
  task?: { name: string; span: Span };
  model?: { name: string; span: Span };
  templates: TemplateOutline[];
  /** Spans of the top-level keys (for completion and hover). */
  keys: { key: string; span: Span }[];
}

export function outlineSpec(text: string): SpecOutline {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, keepSourceTokens: false, prettyErrors: false });
  const span = (node: Node | null | undefined): Span | undefined => {
    const r = node?.range;
    if (!r) return undefined;
    const a = lc.linePos(r[0]);
    const b = lc.linePos(r[1]);
    return { start: { line: a.line - 1, character: a.col - 1 }, end: { line: b.line - 1, character: b.col - 1 } };
  };
  const out: SpecOutline = { templates: [], keys: [] };
  if (!isMap(doc.contents)) return out;
  for (const pair of doc.contents.items) {
    if (!isPair(pair) || !isScalar(pair.key)) continue;
    const key = String(pair.key.value);
    const keySpan = span(pair.key);
    if (keySpan) out.keys.push({ key, span: keySpan });
    const value = pair.value as Node | null;
    if ((key === 'task' || key === 'model') && isScalar(value) && value.value !== null) {
      const s = span(value);
      if (s) out[key] = { name: String(value.value), span: s };
    }
    if (key === 'templates' && isSeq(value)) {
      value.items.forEach((itemNode, index) => {
        const item = span(itemNode as Node);
        if (!item) return;
        const t: TemplateOutline = { name: `#${index + 1}`, template: null, words: null, item, wordSpans: [] };
        if (isScalar(itemNode)) {
          // `- manual`: a name only (the task's default template)
          t.name = String(itemNode.value);
          t.nameSpan = item;
        } else if (isMap(itemNode)) {
          for (const p of itemNode.items) {
            if (!isPair(p) || !isScalar(p.key)) continue;
            const k = String(p.key.value);
            const v = p.value as Node | null;
            if (k === 'name' && isScalar(v)) {
              t.name = String(v.value);
              t.nameSpan = span(v);
            } else if (k === 'template' && isScalar(v) && v.value !== null) {
              t.template = String(v.value);
              t.templateSpan = span(v);
            } else if (k === 'words' && isMap(v)) {
              t.words = {};
              for (const w of v.items) {
                if (!isPair(w) || !isScalar(w.key) || !isScalar(w.value)) continue;
                const label = String(w.key.value);
                const word = String(w.value.value);
                t.words[label] = word;
                const s = span(w.value as Node);
                if (s) t.wordSpans.push({ label, word, span: s });
              }
            }
          }
        }
        // the item's first line is where its CodeLens goes
        t.item = { start: item.start, end: item.end };
        out.templates.push(t);
      });
    }
  }
  return out;
}

export function contains(s: Span, p: Pos): boolean {
  const after = p.line > s.start.line || (p.line === s.start.line && p.character >= s.start.character);
  const before = p.line < s.end.line || (p.line === s.end.line && p.character <= s.end.character);
  return after && before;
}

/** The template item under a position, if any. */
export function templateAt(outline: SpecOutline, p: Pos): TemplateOutline | undefined {
  return outline.templates.find(t => contains(t.item, p));
}
