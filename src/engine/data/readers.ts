/**
 * Readers for the data files of a task: GLUE TSV with a header, header-less (or headed) CSV, `pool/*.json`
 * and JSONL. Every row becomes an `Example` that remembers its file and 1-based line. A malformed row (wrong number
 * of fields, unknown label, empty text) is an error naming `file:line`, unless `skipMalformed` is set: then it is
 * counted in `skipped` with its reason. Nothing is dropped silently.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError, Example } from './example';
import { parseDelimited } from './csv';
import { ColumnRef, TableLayout, TaskInfo } from './tasks';

export interface SkippedRow {
  file: string;
  line: number;
  reason: string;
}

/** The examples of one file, the rows skipped (only with `skipMalformed`) and notes on odd but accepted rows. */
export interface FileRead {
  file: string;
  examples: Example[];
  skipped: SkippedRow[];
  /** e.g. a text that is only whitespace (LM-BFF keeps it, so do we): `file:line: ...`. */
  warnings: string[];
}

export interface ReadOptions {
  /** Skip and count malformed rows instead of failing (LM-BFF itself skips QQP rows that are too short). */
  skipMalformed?: boolean;
  /** The layout of the file, when it is not the task's own (e.g. a pool file). Default: by extension, see `layoutFor`. */
  layout?: TableLayout;
}

/** Layout of LM-BFF's `pool/{train,dev}.json` files. */
export const POOL_JSON_LAYOUT: TableLayout = { kind: 'pool-json', header: false, columns: { textA: 'text_a', textB: 'text_b', label: 'label' }, rowWidth: 'any' };

/** `.json` files are pools; anything else has the task's layout. */
export function layoutFor(task: TaskInfo, file: string): TableLayout {
  return file.toLowerCase().endsWith('.json') ? POOL_JSON_LAYOUT : task.layout;
}

/** Human description of a layout, for "file not found" and header errors. */
export function describeLayout(task: TaskInfo, layout: TableLayout = task.layout): string {
  const col = (c: ColumnRef): string =>
    typeof c === 'string' ? `'${c}'` : c === -1 ? 'the last column' : c < 0 ? `column ${c} from the end` : `column ${c + 1}`;
  const labels = `labels ${task.labels.map((l) => `'${l}'`).join(', ')}`;
  if (layout.kind === 'pool-json') return `a JSON object {"<i>": {"text_a": ..., "text_b": ..., "label": ...}} with ${labels}`;
  const { textA, textB, label } = layout.columns;
  const cols = `text_a in ${col(textA)}${textB === undefined ? '' : `, text_b in ${col(textB)}`}, label in ${col(label)}`;
  if (layout.kind === 'jsonl') return `JSON lines with keys ${cols.replace(/ in /g, ' = ')} (${labels})`;
  const what = layout.kind === 'tsv' ? 'a tab-separated file (no quoting)' : 'a comma-separated file (RFC 4180 quotes)';
  return `${what} ${layout.header ? 'with' : 'without'} a header line; ${cols}; ${labels}`;
}

/** Reads one data file of a task. A missing file is an error naming the path and the expected layout. */
export function loadSplitFile(task: TaskInfo, file: string, opts: ReadOptions = {}): FileRead {
  const layout = opts.layout ?? layoutFor(task, file);
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
    throw new DataError(`Data file not found: ${file}. Task '${task.name}' expects here ${describeLayout(task, layout)}.`, file);
  }
  return readExamplesFromText(fs.readFileSync(file, 'utf8'), file, task, layout, opts);
}

/** Parses the text of a data file (already read) into examples; `file` is used for `source` and messages. */
export function readExamplesFromText(text: string, file: string, task: TaskInfo, layout: TableLayout, opts: ReadOptions = {}): FileRead {
  const out: FileRead = { file, examples: [], skipped: [], warnings: [] };
  const malformed: SkippedRow[] = [];
  // Pool files always carry a text_b key (null for single-sentence tasks): the task says whether it is used.
  const wantsB = layout.kind === 'pool-json' ? task.numSentences === 2 : layout.columns.textB !== undefined;
  const accept = (row: RawRow): void => {
    const reason = checkRow(row, task, wantsB);
    if (reason !== undefined) { malformed.push({ file, line: row.line, reason }); return; }
    for (const [name, value] of [['text_a', row.textA], ['text_b', wantsB ? row.textB : undefined]] as const) {
      if (value !== undefined && value.trim() === '') {
        out.warnings.push(`${file}:${row.line}: ${name} is only whitespace (kept, as LM-BFF does)`);
      }
    }
    const ex: Example = { textA: row.textA as string, label: (row.label as string).trim(), source: { file, line: row.line } };
    if (wantsB) ex.textB = row.textB;
    out.examples.push(ex);
  };
  if (layout.kind === 'pool-json') readPoolJson(text, file).forEach(accept);
  else if (layout.kind === 'jsonl') readJsonLines(text, file, layout).forEach(accept);
  else readTable(text, file, layout).forEach(accept);

  if (malformed.length > 0) {
    if (!opts.skipMalformed) {
      const first = malformed.slice(0, 5).map((m) => `${m.file}:${m.line}: ${m.reason}`).join('\n');
      const more = malformed.length > 5 ? `\n... and ${malformed.length - 5} more malformed rows` : '';
      throw new DataError(
        `${first}${more}\nFix these rows (expected ${describeLayout(task, layout)}), or set skipMalformed to skip and count them.`,
        file, malformed[0].line);
    }
    out.skipped = malformed;
  }
  return out;
}

/** A row before validation: the cells for text_a/text_b/label (undefined when absent) or the reason it has none. */
interface RawRow {
  line: number;
  textA?: string;
  textB?: string;
  label?: string;
  problem?: string;
}

function checkRow(row: RawRow, task: TaskInfo, wantsB: boolean): string | undefined {
  if (row.problem) return row.problem;
  if (row.textA === undefined) return 'text_a is missing';
  if (row.textA === '') return 'text_a is empty';
  if (wantsB) {
    if (row.textB === undefined) return 'text_b is missing';
    if (row.textB === '') return 'text_b is empty';
  }
  if (row.label === undefined) return 'label is missing';
  const label = row.label.trim();
  if (!task.labels.includes(label)) return `unknown label '${label}' (task '${task.name}' has labels ${task.labels.map((l) => `'${l}'`).join(', ')})`;
  return undefined;
}

/** TSV/CSV rows: checks the width, resolves named/negative columns. */
function readTable(text: string, file: string, layout: TableLayout): RawRow[] {
  const records = parseDelimited(text, { delimiter: layout.kind === 'tsv' ? '\t' : ',', quoting: layout.kind === 'csv', file });
  let header: string[] | undefined;
  if (layout.header) {
    const first = records.shift();
    if (!first) throw new DataError(`${file}: the file is empty; it should start with a header line.`, file);
    header = first.fields.map((h) => h.trim());
  }
  const resolve = (c: ColumnRef | undefined, name: string): number | undefined => {
    if (c === undefined || typeof c === 'number') return c;
    const at = header?.indexOf(c) ?? -1;
    if (at < 0) {
      throw new DataError(`${file}:1: column '${c}' (${name}) is not in the header [${(header ?? []).join(', ')}]; rename the column or fix the columns setting.`, file, 1);
    }
    return at;
  };
  const cols = { textA: resolve(layout.columns.textA, 'text_a'), textB: resolve(layout.columns.textB, 'text_b'), label: resolve(layout.columns.label, 'label') };
  const expectedWidth = layout.rowWidth === 'header' || layout.rowWidth === 'at-least-header' ? header?.length : layout.rowWidth === 'any' ? undefined : layout.rowWidth;
  return records.map(({ fields, line }): RawRow => {
    if (fields.length === 1 && fields[0] === '') return { line, problem: 'blank line (remove it)' };
    if (expectedWidth !== undefined) {
      const ok = layout.rowWidth === 'at-least-header' ? fields.length >= expectedWidth : fields.length === expectedWidth;
      if (!ok) return { line, problem: `${fields.length} fields, expected ${layout.rowWidth === 'at-least-header' ? 'at least ' : ''}${expectedWidth}` };
    }
    const cell = (c: number | undefined): string | undefined => {
      if (c === undefined) return undefined;
      const at = c < 0 ? fields.length + c : c;
      return at >= 0 && at < fields.length ? fields[at] : undefined;
    };
    return { line, textA: cell(cols.textA), textB: cell(cols.textB), label: cell(cols.label) };
  });
}

function stringOrUndefined(v: unknown): string | undefined {
  if (v === null || v === undefined) return undefined;
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}

/** JSON lines: one object per non-blank line, columns are keys. */
function readJsonLines(text: string, file: string, layout: TableLayout): RawRow[] {
  const rows: RawRow[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = i + 1;
    const s = raw.replace(/\r$/, '').replace(/^\uFEFF/, '');
    if (s.trim() === '') return; // blank lines separate nothing in JSONL; they are not rows
    let obj: unknown;
    try { obj = JSON.parse(s); } catch (e) { rows.push({ line, problem: `invalid JSON (${(e as Error).message})` }); return; }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) { rows.push({ line, problem: 'not a JSON object' }); return; }
    const rec = obj as Record<string, unknown>;
    const get = (c: ColumnRef | undefined): string | undefined => (c === undefined ? undefined : stringOrUndefined(rec[String(c)]));
    rows.push({ line, textA: get(layout.columns.textA), textB: get(layout.columns.textB), label: get(layout.columns.label) });
  });
  return rows;
}

/** `pool/*.json`: `{"<i>": {"text_a", "text_b", "label"}}`; the line of each entry is the line of its key. */
function readPoolJson(text: string, file: string): RawRow[] {
  let data: unknown;
  try { data = JSON.parse(text.replace(/^\uFEFF/, '')); } catch (e) {
    throw new DataError(`${file}: invalid JSON (${(e as Error).message}); a pool file is {"<i>": {"text_a", "text_b", "label"}}.`, file);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new DataError(`${file}:1: a pool file must be a JSON object {"<i>": {"text_a", "text_b", "label"}}.`, file, 1);
  }
  const lines = topLevelKeyLines(text);
  return Object.entries(data as Record<string, unknown>).map(([key, v]): RawRow => {
    const line = lines.get(key) ?? 1;
    if (typeof v !== 'object' || v === null) return { line, problem: `entry "${key}" is not an object` };
    const e = v as Record<string, unknown>;
    return { line, textA: stringOrUndefined(e.text_a), textB: stringOrUndefined(e.text_b), label: stringOrUndefined(e.label) };
  });
}

/** 1-based line of every key of the outermost JSON object (a small scanner that skips strings and nesting). */
export function topLevelKeyLines(text: string): Map<string, number> {
  const lines = new Map<string, number>();
  let depth = 0;
  let line = 1;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') { line++; continue; }
    if (c === '"') {
      const start = i;
      const startLine = line;
      i++;
      while (i < text.length && text[i] !== '"') { if (text[i] === '\\') i++; else if (text[i] === '\n') line++; i++; }
      if (depth === 1 && expectKey) lines.set(JSON.parse(text.slice(start, i + 1)) as string, startLine);
      expectKey = false;
      continue;
    }
    if (c === '{' || c === '[') { depth++; expectKey = c === '{' && depth === 1; continue; }
    if (c === '}' || c === ']') { depth--; continue; }
    if (c === ',' && depth === 1) expectKey = true;
  }
  return lines;
}

/** Resolves a file name relative to a folder (absolute names are kept). */
export function inFolder(folder: string, file: string): string {
  return path.isAbsolute(file) ? file : path.join(folder, file);
}
