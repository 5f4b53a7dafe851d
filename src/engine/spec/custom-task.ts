/** `task: custom` in an experiment file: the user's columns, labels, files and metrics. */
import { isScalar, isSeq } from 'yaml';
import type { Node } from 'yaml';
import { customTask, TaskInfo } from '../data/tasks';
import { Checker, Field } from './checker';
import { didYouMean } from './suggest';

/** `task: custom`: columns, labels, files (relative to `data`), optional metrics. */
export function parseCustomTask(c: Checker, f: Map<string, Field>, taskField: Field): TaskInfo | undefined {
  const where = c.nodeRange(taskField.key);
  let ok = true;
  const need = (k: string, what: string): Field | undefined => {
    const fk = f.get(k);
    if (!fk) { c.error(where, `'task: custom' needs '${k}': ${what}.`); ok = false; }
    return fk;
  };
  const colsF = need('columns', 'the columns {text_a, text_b (optional), label}: header names or 0-based indices');
  const labelsF = need('labels', 'the label values in class order, e.g. [negative, positive]');
  const filesF = need('files', 'the files {train, dev, test}, relative to data');
  const columns: { textA?: string | number; textB?: string | number; label?: string | number } = {};
  if (colsF) {
    const m = c.fields(colsF.value, "'columns'", ['text_a', 'text_b', 'label'], c.nodeRange(colsF.key));
    if (!m) ok = false;
    else {
      for (const [k, fk] of m) {
        const s = c.scalar(fk, k);
        const v = s?.value;
        if (typeof v === 'string' && v !== '') columns[k === 'text_a' ? 'textA' : k === 'text_b' ? 'textB' : 'label'] = v;
        else if (typeof v === 'number' && Number.isInteger(v) && v >= 0) columns[k === 'text_a' ? 'textA' : k === 'text_b' ? 'textB' : 'label'] = v;
        else { if (s) c.at(s, `'${k}' must be a column name or a 0-based column index.`); ok = false; }
      }
      if (columns.textA === undefined || columns.label === undefined) { c.at(colsF.value, "'columns' needs 'text_a' and 'label'."); ok = false; }
    }
  }
  const labels: string[] = [];
  if (labelsF) {
    if (!isSeq(labelsF.value) || labelsF.value.items.length < 2) { c.at(labelsF.value ?? labelsF.key, "'labels' must be a list of at least two label values."); ok = false; }
    else {
      for (const item of labelsF.value.items as Node[]) {
        const v = isScalar(item) ? item.value : undefined;
        if (typeof v !== 'string' && typeof v !== 'number') { c.at(item, 'A label must be a single value.'); ok = false; continue; }
        if (labels.includes(String(v))) { c.at(item, `Label '${v}' is listed twice.`); ok = false; continue; }
        labels.push(String(v));
      }
    }
  }
  const files: Record<string, string> = {};
  if (filesF) {
    const m = c.fields(filesF.value, "'files'", ['train', 'dev', 'test'], c.nodeRange(filesF.key));
    if (!m) ok = false;
    else {
      for (const [k, fk] of m) { const s = c.str(fk, k); if (s === undefined) ok = false; else files[k] = s; }
      const missing = ['train', 'dev', 'test'].filter((k) => !(k in files) && !m.has(k));
      if (missing.length > 0) { c.at(filesF.value, `'files' needs ${missing.join(', ')}.`); ok = false; }
      else if (ok && !/\.(tsv|csv|jsonl|json)$/i.test(files.train)) { c.at((m.get('train') as Field).value, 'The train file must end in .tsv, .csv or .jsonl (that gives its format).'); ok = false; }
    }
  }
  let metrics: ('acc' | 'f1')[] | undefined;
  const metricsF = f.get('metrics');
  if (metricsF) {
    if (!isSeq(metricsF.value)) { c.at(metricsF.value ?? metricsF.key, "'metrics' must be a list of acc, f1."); ok = false; }
    else {
      metrics = [];
      for (const item of metricsF.value.items as Node[]) {
        const v = isScalar(item) ? String(item.value) : '';
        if (v !== 'acc' && v !== 'f1') { c.at(item, `Unknown metric '${v}'; use acc or f1.${didYouMean(v, ['acc', 'f1'])}`); ok = false; }
        else if (v === 'f1' && labels.length !== 2) { c.at(item, 'f1 is binary F1 (the last label is positive): it needs exactly two labels.'); ok = false; }
        else metrics.push(v);
      }
    }
  }
  if (!ok || columns.textA === undefined || columns.label === undefined) return undefined;
  return customTask({
    labels, metrics, files: files as { train: string; dev: string; test: string },
    columns: { textA: columns.textA, textB: columns.textB, label: columns.label },
  });
}
