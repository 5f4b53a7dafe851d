/** The `templates:` list of an experiment file: prompt templates with label words, or the no-prompt baseline. */
import { isMap, isScalar, isSeq, Scalar } from 'yaml';
import type { Node, Pair } from 'yaml';
import type { TaskInfo } from '../data/tasks';
import { Checker, Field } from './checker';
import { didYouMean } from './suggest';
import { ParameterSet, SourceRange, TemplateRanges, TemplateSpec } from './types';

export const TEMPLATE_KEYS = ['name', 'template', 'words', 'parameters'] as const;
const PARAMETER_SETS: ParameterSet[] = ['all', 'no-embeddings', 'head', 'biases', 'lora'];

/** Range of the text of a scalar inside its quotes, and whether it maps 1:1 onto the value. */
function scalarText(s: Scalar, source: string): { offset: number; exact: boolean } | undefined {
  const r = s.range;
  if (!r) return undefined;
  const quoted = s.type === Scalar.QUOTE_DOUBLE || s.type === Scalar.QUOTE_SINGLE;
  const offset = r[0] + (quoted ? 1 : 0);
  const raw = source.slice(offset, r[1] - (quoted ? 1 : 0));
  return { offset, exact: raw === s.value };
}

export function parseTemplates(c: Checker, f: Field | undefined, task: TaskInfo | undefined, fileStart: SourceRange): TemplateSpec[] | undefined {
  if (!f) {
    if (!task) return undefined; // the task's own error is reported already
    if (!task.template) { c.error(fileStart, "Missing 'templates': a custom task has no default template; list at least one."); return undefined; }
    const r = fileStart;
    return [{
      name: 'manual', mode: 'prompt', template: task.template, words: { ...task.words }, labelWords: task.labels.map((l) => task.words[l]),
      fromTaskDefault: true, ranges: { item: r, name: r, words: {} },
    }];
  }
  if (!isSeq(f.value) || f.value.items.length === 0) {
    c.at(f.value ?? f.key, "'templates' must be a non-empty list of items like '- name: manual' or '- {name: mine, template: ..., words: {...}}'.");
    return undefined;
  }
  const out: TemplateSpec[] = [];
  const names = new Set<string>();
  let ok = true;
  for (const item of f.value.items as Node[]) {
    const m = c.fields(item, 'a template item', TEMPLATE_KEYS, c.nodeRange(item));
    if (!m) { ok = false; continue; }
    const itemRange = c.nodeRange(item);
    const nameField = m.get('name');
    if (!nameField) { c.error(itemRange, "A template item needs a 'name' (use 'manual' for the task's LM-BFF template, or any name)."); ok = false; continue; }
    const name = c.str(nameField, 'name');
    if (name === undefined) { ok = false; continue; }
    if (names.has(name)) { c.at(nameField.value, `Template name '${name}' is used twice; names must be unique.`); ok = false; continue; }
    names.add(name);
    const ranges: TemplateRanges = { item: itemRange, name: c.nodeRange(nameField.value), words: {} };
    const tField = m.get('template');
    const wField = m.get('words');
    const pField = m.get('parameters');
    let parameters: ParameterSet | undefined;
    if (pField) {
      parameters = c.oneOf(pField, 'parameters', PARAMETER_SETS);
      if (parameters === undefined) { ok = false; continue; }
    }
    let template: string | undefined;
    if (tField) {
      template = c.str(tField, 'template');
      if (template === undefined) { ok = false; continue; }
      ranges.template = c.nodeRange(tField.value);
      const text = scalarText(tField.value as Scalar, c.source);
      if (text) ranges.templateText = text;
      if (!template.includes('*mask*')) { c.at(tField.value, "A prompt template must contain '*mask*' (the position whose label-word logits are the outputs)."); ok = false; }
    }
    let words: Record<string, string> | undefined;
    if (wField) {
      if (!task) continue;
      if (!tField && name !== 'manual') { c.at(wField.key, "'words' without a 'template': add the template, or remove the words for the no-prompt baseline."); ok = false; continue; }
      words = parseWords(c, wField, task, ranges);
      if (!words) { ok = false; continue; }
    }
    if (!task) continue;
    let fromTaskDefault = false;
    if (name === 'manual' && (!template || !words)) {
      if (!task.template) { c.at(nameField.value, "A custom task has no default 'manual' template: give 'template' and 'words'."); ok = false; continue; }
      fromTaskDefault = !template && !words;
      template = template ?? task.template;
      words = words ?? { ...task.words };
    }
    if (template && !words) { c.at(tField?.key, `A prompt template needs 'words': one label word per label (${task.labels.join(', ')}).`); ok = false; continue; }
    const own = parameters ? { parameters } : {};
    out.push(template && words
      ? { name, mode: 'prompt', template, words, labelWords: task.labels.map((l) => (words as Record<string, string>)[l]), fromTaskDefault, ranges, ...own }
      : { name, mode: 'standard', fromTaskDefault: false, ranges, ...own });
  }
  return ok ? out : undefined;
}

function parseWords(c: Checker, f: Field, task: TaskInfo, ranges: TemplateRanges): Record<string, string> | undefined {
  if (!isMap(f.value)) { c.at(f.value ?? f.key, `'words' must map each label to a word, e.g. {${task.labels.map((l) => `"${l}": ...`).join(', ')}}.`); return undefined; }
  const words: Record<string, string> = {};
  let ok = true;
  for (const pair of f.value.items as Pair[]) {
    const label = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!task.labels.includes(label)) {
      c.at(pair.key as Node, `Unknown label '${label}' for task '${task.name}'; its labels are ${task.labels.join(', ')}.${didYouMean(label, task.labels)}`);
      ok = false;
      continue;
    }
    const v = pair.value as Node | null;
    const word = isScalar(v) && typeof v.value === 'string' ? v.value : isScalar(v) && typeof v.value === 'number' ? String(v.value) : undefined;
    if (word === undefined || word.trim() === '' || /\s/.test(word)) {
      c.at(v ?? (pair.key as Node), `The word for label '${label}' must be one word without spaces (it is mapped to the single token of ' ' + word).`);
      ok = false;
      continue;
    }
    words[label] = word;
    ranges.words[label] = c.nodeRange(v);
  }
  const missing = task.labels.filter((l) => !(l in words) && ok);
  if (missing.length > 0) { c.at(f.value, `'words' has no word for label${missing.length > 1 ? 's' : ''} ${missing.join(', ')}.`); ok = false; }
  return ok ? words : undefined;
}
