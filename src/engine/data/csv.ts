/**
 * Delimited-text parsing: RFC 4180 CSV (what pandas reads for LM-BFF's header-less CSV files) and GLUE TSV
 * (tabs, no quoting: Python's `csv.reader(delimiter='\t', quotechar=None)` in the GLUE processors).
 */
import { DataError } from './example';

/** One record of a delimited file: its fields and the 1-based line on which it starts. */
export interface DelimitedRecord {
  fields: string[];
  line: number;
}

export interface DelimitedOptions {
  delimiter: ',' | '\t';
  /** true: fields may be wrapped in double quotes (`""` inside is one quote; delimiters and newlines are literal). */
  quoting: boolean;
  /** Used in error messages. */
  file?: string;
}

/**
 * Splits text into records. Handles `\n` and `\r\n`, a leading byte-order mark, and a missing final newline.
 * With quoting: a field that starts with `"` runs to the matching closing quote (`""` is an escaped quote; commas,
 * tabs and newlines inside are kept); a quote inside an unquoted field is an ordinary character (as in pandas and
 * Python's csv module); text between a closing quote and the next delimiter is an error. An unterminated quote is
 * an error naming the line where it opened. A blank line is kept as a record with one empty field (the caller
 * reports it), except blank lines at the very end of the file.
 */
export function parseDelimited(text: string, opts: DelimitedOptions): DelimitedRecord[] {
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const records = opts.quoting ? parseQuoted(src, opts) : parseUnquoted(src, opts.delimiter);
  while (records.length > 0 && isBlank(records[records.length - 1])) records.pop();
  return records;
}

function isBlank(r: DelimitedRecord): boolean {
  return r.fields.length === 1 && r.fields[0] === '';
}

function parseUnquoted(src: string, delimiter: string): DelimitedRecord[] {
  const lines = src.split('\n');
  return lines.map((l, i) => ({ fields: (l.endsWith('\r') ? l.slice(0, -1) : l).split(delimiter), line: i + 1 }));
}

function parseQuoted(src: string, opts: DelimitedOptions): DelimitedRecord[] {
  const where = opts.file ?? '<text>';
  const records: DelimitedRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let fieldStarted = false; // a character (or a quote) of the current field has been read
  let line = 1; // line of the character at i
  let recordLine = 1; // line where the current record started
  let i = 0;
  const n = src.length;
  const special = opts.delimiter === ',' ? /[,\n]|\r\n/g : /[\t\n]|\r\n/g;
  while (i < n) {
    const ch = src[i];
    if (ch === '"' && !fieldStarted) {
      // A quoted field runs to the closing quote; "" inside is one quote.
      const openLine = line;
      fieldStarted = true;
      i++;
      for (;;) {
        if (i >= n) {
          throw new DataError(`${where}:${openLine}: unterminated quoted field (the '"' opened on this line is never closed); close it, and write a quote inside a field as ""`, opts.file, openLine);
        }
        const q = src.indexOf('"', i);
        if (q < 0) { i = n; continue; }
        const chunk = src.slice(i, q);
        for (let p = chunk.indexOf('\n'); p >= 0; p = chunk.indexOf('\n', p + 1)) line++;
        field += chunk;
        i = q;
        if (src[i + 1] === '"') { field += '"'; i += 2; continue; }
        i++;
        break;
      }
      const next = src[i];
      if (i < n && next !== opts.delimiter && next !== '\n' && !(next === '\r' && src[i + 1] === '\n')) {
        throw new DataError(`${where}:${line}: unexpected text after a closing quote; wrap the whole field in quotes and write a quote inside it as ""`, opts.file, line);
      }
      continue;
    }
    if (ch === opts.delimiter) {
      fields.push(field);
      field = '';
      fieldStarted = false;
      i++;
      continue;
    }
    if (ch === '\n' || (ch === '\r' && src[i + 1] === '\n')) {
      fields.push(field);
      records.push({ fields, line: recordLine });
      fields = [];
      field = '';
      fieldStarted = false;
      i += ch === '\r' ? 2 : 1;
      line++;
      recordLine = line;
      continue;
    }
    // Plain characters up to the next delimiter or line end (a quote here is an ordinary character).
    special.lastIndex = i;
    const m = special.exec(src);
    const stop = m ? m.index : n;
    field += src.slice(i, Math.max(stop, i + 1));
    fieldStarted = true;
    i = Math.max(stop, i + 1);
  }
  if (fieldStarted || fields.length > 0) {
    fields.push(field);
    records.push({ fields, line: recordLine });
  }
  return records;
}
