/**
 * Test-set leakage control for the pre-training corpus.
 *
 * No test sentence of the 14 LM-BFF tasks may be in the text ntk-mini is pre-trained on, or the zero-shot and
 * fine-tuning scores measured with it would be inflated. This module reads every test sentence of every task,
 * normalises it, and answers "which test sentences does this line contain?" for corpus lines.
 *
 * Normalisation (`normaliseForOverlap`): lower case, every run of characters that are not letters or digits becomes
 * one space, trimmed. This is stricter than normalising only case and whitespace: "it 's" and "it's" both become
 * "it s", so differences in tokenisation and punctuation do not hide a duplicate.
 *
 * A corpus line contains a test sentence when, after normalisation,
 *   - the line equals the sentence (any length), or
 *   - the sentence has at least `MIN_CONTAINED_WORDS` words and occurs in the line as a contiguous word sequence.
 * Shorter sentences ("family fare .") are only matched by equality: as a substring they occur by chance.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseDelimited } from '../data/csv';

export const MIN_CONTAINED_WORDS = 8;

export function normaliseForOverlap(text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
}

/** One test sentence (a text_a or text_b field of a test row) and the file it came from. */
export interface TestSentence {
  task: string;
  file: string; // relative to the lm-bff folder
  text: string;
}

/** The text columns of the test files, by header name (GLUE TSVs) or by index (LM-BFF's header-less CSVs). */
const TSV_TEXT_COLUMNS = ['sentence', 'sentence1', 'sentence2', 'question', 'question1', 'question2', '#1 String', '#2 String', 'premise', 'hypothesis'];

/**
 * The test files of every task folder: every file named `test*.tsv|csv` (the k-shot test files of every seed, the
 * test-1k files, `original/test.csv`, AG News `test.csv`), plus the files that stand in for a test set where a task
 * has no k-shot test: MNLI/QQP `original/*SURROGATE*` and SNLI `full/*_hf.tsv`. Never `pool/`. Relative to
 * `lmBffDir`, sorted.
 */
export function listTestFiles(lmBffDir: string): string[] {
  const out: string[] = [];
  const isTest = (name: string): boolean => /^test.*\.(tsv|csv)$/.test(name) || /SURROGATE.*\.tsv$/.test(name) || /_hf\.tsv$/.test(name);
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(lmBffDir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('_') && entry.name !== 'pool') walk(r);
      } else if (rel !== '' && isTest(entry.name)) {
        out.push(r);
      }
    }
  };
  walk('');
  return out.sort();
}

/** Reads the text fields (never the labels) of one test file. */
export function readTestFile(lmBffDir: string, rel: string): TestSentence[] {
  const file = path.join(lmBffDir, rel);
  const task = rel.split('/')[0];
  const text = fs.readFileSync(file, 'utf8');
  const out: TestSentence[] = [];
  if (rel.endsWith('.tsv')) {
    const records = parseDelimited(text, { delimiter: '\t', quoting: false, file: rel });
    if (records.length === 0) return out;
    const header = records[0].fields.map((h) => h.replace(/^\uFEFF/, '').trim());
    const cols = header.map((h, i) => (TSV_TEXT_COLUMNS.includes(h) ? i : -1)).filter((i) => i >= 0);
    if (cols.length === 0) throw new Error(`leakage.ts: ${rel}:1: no text column in header [${header.join(', ')}]; expected one of ${TSV_TEXT_COLUMNS.join(', ')}`);
    for (const r of records.slice(1)) for (const c of cols) if (r.fields[c]) out.push({ task, file: rel, text: r.fields[c] });
  } else {
    const records = parseDelimited(text, { delimiter: ',', quoting: true, file: rel });
    // LM-BFF CSVs: label,sentence; AG News: label,title,description (the task uses the description; the title is
    // checked too, being test text as well).
    for (const r of records) for (const f of r.fields.slice(1)) if (f) out.push({ task, file: rel, text: f });
  }
  return out;
}

export function readAllTestSentences(lmBffDir: string): TestSentence[] {
  return listTestFiles(lmBffDir).flatMap((rel) => readTestFile(lmBffDir, rel));
}

/**
 * An index over normalised test sentences answering which of them a line contains (see the module comment).
 * Contiguous-sequence search hashes every window of MIN_CONTAINED_WORDS word ids of the line (words that occur in no
 * test sentence break windows), then confirms each hash hit word by word.
 */
export class OverlapIndex {
  /** Distinct normalised test sentences. */
  readonly sentences: string[];
  private readonly exact = new Map<string, number>();
  private readonly wordIds = new Map<string, number>();
  private readonly sentenceWords: Int32Array[] = [];
  private readonly windowHeads = new Map<number, number[]>();

  constructor(texts: Iterable<string>) {
    const distinct = new Set<string>();
    for (const t of texts) {
      const n = normaliseForOverlap(t);
      if (n) distinct.add(n);
    }
    this.sentences = [...distinct].sort();
    this.sentences.forEach((s, i) => {
      this.exact.set(s, i);
      const words = s.split(' ');
      const ids = new Int32Array(words.length);
      words.forEach((w, j) => {
        let id = this.wordIds.get(w);
        if (id === undefined) { id = this.wordIds.size + 1; this.wordIds.set(w, id); }
        ids[j] = id;
      });
      this.sentenceWords.push(ids);
      if (ids.length >= MIN_CONTAINED_WORDS) {
        const h = windowHash(ids, 0);
        const list = this.windowHeads.get(h);
        if (list) list.push(i); else this.windowHeads.set(h, [i]);
      }
    });
  }

  /** Indices (into `sentences`) of the test sentences the line contains; empty when none. */
  matches(line: string): number[] {
    const norm = normaliseForOverlap(line);
    if (!norm) return [];
    const found = new Set<number>();
    const e = this.exact.get(norm);
    if (e !== undefined) found.add(e);
    const words = norm.split(' ');
    if (words.length >= MIN_CONTAINED_WORDS && this.windowHeads.size > 0) {
      const ids = new Int32Array(words.length);
      for (let j = 0; j < words.length; j++) ids[j] = this.wordIds.get(words[j]) ?? 0;
      let run = 0; // length of the run of known words ending at j
      for (let j = 0; j < ids.length; j++) {
        run = ids[j] === 0 ? 0 : run + 1;
        if (run < MIN_CONTAINED_WORDS) continue;
        const start = j - MIN_CONTAINED_WORDS + 1;
        const heads = this.windowHeads.get(windowHash(ids, start));
        if (!heads) continue;
        for (const si of heads) if (containsAt(ids, start, this.sentenceWords[si])) found.add(si);
      }
    }
    return [...found];
  }
}

function windowHash(ids: Int32Array, start: number): number {
  let h = 0x811c9dc5;
  for (let k = 0; k < MIN_CONTAINED_WORDS; k++) h = Math.imul(h ^ ids[start + k], 0x01000193);
  return h >>> 0;
}

function containsAt(hay: Int32Array, start: number, needle: Int32Array): boolean {
  if (start + needle.length > hay.length) return false;
  for (let k = 0; k < needle.length; k++) if (hay[start + k] !== needle[k]) return false;
  return true;
}
