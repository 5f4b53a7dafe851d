/**
 * The pre-training corpus of ntk-mini: sources, cleaning, the leakage filter and the held-out split.
 * The recipe in words is `models/ntk-mini/RECIPE.md`; this file is the recipe in code.
 *
 * Sources (all under the shared data folder; text only, never labels or folder names):
 *   corpus/movie_reviews  2,000 reviews, one file per document, one sentence per line
 *   corpus/brown          POS-tagged (`word/tag`): tags stripped, `` and '' turned into ", paragraph = line
 *   corpus/abc            news transcripts: blank-line-separated stories are documents
 *   corpus/inaugural, corpus/state_union   one speech per document
 *   corpus/webtext        line-based text: 20 consecutive lines per document
 *   corpus/pros_cons      `<Pros>`/`<Cons>` tags stripped, 20 lines per document
 *   lm-bff/<task>/pool/train.json   text_a and text_b of every row (never the label), one row per document;
 *                                   never pool/dev.json, never a dev or test file
 * Every line that contains a test sentence of any task (see leakage.ts) is dropped. A document goes to the held-out
 * part when the FNV-1a hash of its source and first line is ≡ 0 mod `heldOutModulus` (about 1 in 100).
 */
import fs from 'node:fs';
import path from 'node:path';
import { OverlapIndex, readAllTestSentences } from './leakage';
import { fnv1a } from './rng';

export interface CorpusDocument {
  /** e.g. `corpus/brown/ca01`, `lm-bff/SST-2/pool/train.json#17`. */
  source: string;
  /** Cleaned lines; packing concatenates them without a separator (documents are separated by [SEP]). */
  lines: string[];
}

export interface SourceStats {
  documents: number;
  lines: number;
  characters: number;
  /** Lines dropped because they contain a test sentence. */
  droppedLines: number;
}

export interface Corpus {
  train: CorpusDocument[];
  heldOut: CorpusDocument[];
  /** Per source group (`movie_reviews`, `brown`, …, `pool:SST-2`), counted after the leakage filter. */
  stats: Record<string, SourceStats>;
  /** Distinct normalised test sentences checked against. */
  testSentences: number;
  /** Examples of dropped lines (at most 20), for the recipe. */
  droppedExamples: { source: string; line: string }[];
}

export interface CorpusOptions {
  /** A document is held out when hash % heldOutModulus === 0. Default 100. */
  heldOutModulus?: number;
  /** Only these source groups (for tests); default all. */
  only?: string[];
  /** The test-sentence index to filter with; default: built from every test file under lm-bff/. */
  index?: OverlapIndex;
}

/** Removes Brown's POS tags: `The/at jury/nn ,/,` → `The jury ,`; `` and '' become ". */
export function stripBrownTags(line: string): string {
  return line
    .trim()
    .split(/\s+/)
    .filter((tok) => tok.length > 0)
    .map((tok) => {
      const slash = tok.lastIndexOf('/');
      const word = slash > 0 ? tok.slice(0, slash) : tok;
      return word === '``' || word === "''" ? '"' : word;
    })
    .join(' ');
}

/** Removes the `<Pros>`/`<Cons>` tags (and their closing tags) of the pros_cons files. */
export function stripProsConsTags(line: string): string {
  return line.replace(/<\/?(Pros|Cons)>/gi, ' ').replace(/\s+/g, ' ').trim();
}

/** Groups non-empty lines into documents of at most `size` lines. */
function chunkLines(lines: string[], size: number): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < lines.length; i += size) out.push(lines.slice(i, i + size));
  return out;
}

function nonEmptyLines(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.replace(/\s+/g, ' ').trim()).filter((l) => l.length > 0);
}

function files(dir: string, pattern: RegExp): string[] {
  return fs.readdirSync(dir).filter((f) => pattern.test(f)).sort();
}

/** The raw (cleaned, unfiltered) documents of every source group, keyed by group. */
export function readSources(dataDir: string, only?: string[]): Map<string, CorpusDocument[]> {
  const corpusDir = path.join(dataDir, 'corpus');
  const lmBffDir = path.join(dataDir, 'lm-bff');
  const groups = new Map<string, CorpusDocument[]>();
  const want = (g: string): boolean => !only || only.includes(g);
  const read = (rel: string): string => fs.readFileSync(path.join(dataDir, rel), 'utf8');

  if (want('movie_reviews')) {
    const docs: CorpusDocument[] = [];
    for (const pol of ['neg', 'pos']) {
      for (const f of files(path.join(corpusDir, 'movie_reviews', pol), /\.txt$/)) {
        const rel = `corpus/movie_reviews/${pol}/${f}`;
        docs.push({ source: rel, lines: nonEmptyLines(read(rel)) });
      }
    }
    groups.set('movie_reviews', docs);
  }
  if (want('brown')) {
    const docs: CorpusDocument[] = [];
    for (const f of files(path.join(corpusDir, 'brown'), /^c[a-r]\d\d$/)) {
      const rel = `corpus/brown/${f}`;
      // Paragraphs are separated by blank lines; each line inside is one tagged sentence.
      const paragraphs = read(rel).split(/\r?\n\s*\r?\n/).map((p) => nonEmptyLines(p).map(stripBrownTags).join(' ')).filter((p) => p.length > 0);
      docs.push({ source: rel, lines: paragraphs });
    }
    groups.set('brown', docs);
  }
  if (want('abc')) {
    const docs: CorpusDocument[] = [];
    for (const f of files(path.join(corpusDir, 'abc'), /\.txt$/)) {
      const rel = `corpus/abc/${f}`;
      read(rel).split(/\r?\n\s*\r?\n/).forEach((story, i) => {
        const lines = nonEmptyLines(story);
        if (lines.length > 0) docs.push({ source: `${rel}#${i}`, lines });
      });
    }
    groups.set('abc', docs);
  }
  for (const g of ['inaugural', 'state_union']) {
    if (!want(g)) continue;
    groups.set(g, files(path.join(corpusDir, g), /\.txt$/).map((f) => {
      const rel = `corpus/${g}/${f}`;
      return { source: rel, lines: nonEmptyLines(read(rel)) };
    }));
  }
  if (want('webtext')) {
    const docs: CorpusDocument[] = [];
    for (const f of files(path.join(corpusDir, 'webtext'), /\.txt$/)) {
      const rel = `corpus/webtext/${f}`;
      chunkLines(nonEmptyLines(read(rel)), 20).forEach((lines, i) => docs.push({ source: `${rel}#${i}`, lines }));
    }
    groups.set('webtext', docs);
  }
  if (want('pros_cons')) {
    const docs: CorpusDocument[] = [];
    for (const f of files(path.join(corpusDir, 'pros_cons'), /^Integrated(Pros|Cons)\.txt$/)) {
      const rel = `corpus/pros_cons/${f}`;
      const lines = nonEmptyLines(read(rel)).map(stripProsConsTags).filter((l) => l.length > 0);
      chunkLines(lines, 20).forEach((ls, i) => docs.push({ source: `${rel}#${i}`, lines: ls }));
    }
    groups.set('pros_cons', docs);
  }
  for (const task of fs.readdirSync(lmBffDir).sort()) {
    const rel = `lm-bff/${task}/pool/train.json`;
    if (!want(`pool:${task}`) || !fs.existsSync(path.join(dataDir, rel))) continue;
    const rows = JSON.parse(read(rel)) as Record<string, { text_a?: string | null; text_b?: string | null }>;
    const docs: CorpusDocument[] = [];
    for (const [key, row] of Object.entries(rows)) {
      // text_a / text_b only: the label is never read into the corpus.
      const lines = [row.text_a, row.text_b].filter((t): t is string => typeof t === 'string').map((t) => t.replace(/\s+/g, ' ').trim()).filter((t) => t.length > 0);
      if (lines.length > 0) docs.push({ source: `${rel}#${key}`, lines });
    }
    groups.set(`pool:${task}`, docs);
  }
  return groups;
}

/**
 * Builds the corpus: reads the sources, drops every line containing a test sentence, and splits documents into
 * train and held-out parts. Deterministic: the same data give the same corpus, in the same order.
 */
export function buildCorpus(dataDir: string, opts: CorpusOptions = {}): Corpus {
  const modulus = opts.heldOutModulus ?? 100;
  const lmBffDir = path.join(dataDir, 'lm-bff');
  if (!fs.existsSync(path.join(dataDir, 'corpus')) || !fs.existsSync(lmBffDir)) {
    throw new Error(`corpus.ts: the data folder ${dataDir} must hold corpus/ and lm-bff/ (the shared data, see models/ntk-mini/RECIPE.md)`);
  }
  const index = opts.index ?? new OverlapIndex(readAllTestSentences(lmBffDir).map((s) => s.text));
  const corpus: Corpus = { train: [], heldOut: [], stats: {}, testSentences: index.sentences.length, droppedExamples: [] };
  for (const [group, docs] of readSources(dataDir, opts.only)) {
    const st: SourceStats = { documents: 0, lines: 0, characters: 0, droppedLines: 0 };
    for (const doc of docs) {
      const kept = doc.lines.filter((line) => {
        if (index.matches(line).length === 0) return true;
        st.droppedLines++;
        if (corpus.droppedExamples.length < 20) corpus.droppedExamples.push({ source: doc.source, line });
        return false;
      });
      if (kept.length === 0) continue;
      st.documents++;
      st.lines += kept.length;
      for (const l of kept) st.characters += l.length;
      const d = { source: doc.source, lines: kept };
      (fnv1a(`${doc.source}\n${kept[0]}`) % modulus === 0 ? corpus.heldOut : corpus.train).push(d);
    }
    corpus.stats[group] = st;
  }
  return corpus;
}
