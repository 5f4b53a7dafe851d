/**
 * WordPiece vocabulary training, the Hugging Face `WordPieceTrainer` way:
 *   1. pre-tokenise every text exactly as the trained tokenizer will (BertNormalizer + BertPreTokenizer) and count
 *      the words;
 *   2. start from the alphabet (the `limitAlphabet` most frequent characters), writing a character that does not
 *      begin its word as `##c`;
 *   3. repeatedly merge the most frequent adjacent symbol pair over the word-count table (`a` + `##b` → `ab`,
 *      `##a` + `##b` → `##ab`), recording each new symbol in the vocabulary, until the vocabulary has `vocabSize`
 *      entries or the best pair occurs fewer than `minFrequency` times.
 * The result is an ordinary tokenizer.json (WordPiece model, BertNormalizer, BertPreTokenizer, TemplateProcessing,
 * WordPiece decoder) with [PAD] [UNK] [CLS] [SEP] [MASK] as ids 0–4; encoding then uses greedy longest-match-first.
 *
 * Speed: merges work on the table of distinct words (not the running text), pair counts are updated incrementally
 * for the words that contain the merged pair only (an index pair → words), and the best pair comes from a max-heap
 * whose stale entries are refreshed lazily when popped.
 */
import { BERT_SPECIAL_TOKENS } from './text-tokenizer';
import { bertTemplateProcessing, type TokenizerJson } from './tokenizer-json';
import { spaceAstralCjk } from './hf-text-tokenizer';
import { hfLibrary } from './hf-library';

export interface WordPieceTrainerOptions {
  /** Vocabulary size to reach, special tokens and alphabet included (e.g. 8000–16000). */
  vocabSize: number;
  /** Lower-case and strip accents (an uncased BERT). */
  lowercase: boolean;
  /** A pair seen fewer times than this is never merged (HF's `min_frequency`; 2 is a common choice). */
  minFrequency: number;
  /** Keep at most this many distinct characters, the most frequent (HF BertWordPieceTokenizer default: 1000). */
  limitAlphabet?: number;
}

const PREFIX = '##';
/** Pair key = left * KEY_BASE + right; symbol ids stay below 2^21, keys below 2^42 (exact in a double). */
const KEY_BASE = 2 ** 21;

/** BERT's BasicTokenizer through the same library pieces the loaded tokenizer uses. */
export function makeBertPreTokenizer(lowercase: boolean): (text: string) => string[] {
  const normalizer = new hfLibrary.BertNormalizer({
    type: 'BertNormalizer',
    clean_text: true,
    handle_chinese_chars: true,
    // strip_accents follows lowercase (BERT's default; `strip_accents: null` in tokenizer.json).
    lowercase,
  });
  const preTokenizer = new hfLibrary.BertPreTokenizer();
  return (text: string) => preTokenizer.pre_tokenize_text(normalizer.normalize(spaceAstralCjk(text)));
}

/** Word → count over all texts, after BERT pre-tokenisation. */
export function countWords(texts: Iterable<string>, lowercase: boolean): Map<string, number> {
  const split = makeBertPreTokenizer(lowercase);
  const counts = new Map<string, number>();
  for (const text of texts) {
    // Long texts are cut at line breaks first (whitespace separates words anyway) to keep the regex inputs small.
    for (const line of text.length > 65536 ? text.split('\n') : [text]) {
      for (const w of split(line)) counts.set(w, (counts.get(w) ?? 0) + 1);
    }
  }
  return counts;
}

/** Max-heap of (count, pair key); equal counts pop the smaller key first (HF: the smaller pair of ids). */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];
  get size(): number {
    return this.keys.length;
  }
  private above(i: number, j: number): boolean {
    return this.counts[i] > this.counts[j] || (this.counts[i] === this.counts[j] && this.keys[i] < this.keys[j]);
  }
  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j], this.counts[i]];
    [this.keys[i], this.keys[j]] = [this.keys[j], this.keys[i]];
  }
  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.keys.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): { count: number; key: number } | undefined {
    const n = this.keys.length;
    if (n === 0) return undefined;
    const top = { count: this.counts[0], key: this.keys[0] };
    this.swap(0, n - 1);
    this.counts.pop();
    this.keys.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < n - 1 && this.above(l, best)) best = l;
      if (r < n - 1 && this.above(r, best)) best = r;
      if (best === i) break;
      this.swap(i, best);
      i = best;
    }
    return top;
  }
}

/** The alphabet: characters by weighted frequency, the `limit` most frequent kept, then sorted by code point. */
function computeAlphabet(wordCounts: Map<string, number>, limit: number | undefined): string[] {
  const charCounts = new Map<string, number>();
  for (const [word, count] of wordCounts) {
    for (const ch of word) charCounts.set(ch, (charCounts.get(ch) ?? 0) + count);
  }
  let chars = [...charCounts.entries()];
  if (limit !== undefined && chars.length > limit) {
    chars.sort((a, b) => b[1] - a[1] || a[0].codePointAt(0)! - b[0].codePointAt(0)!);
    chars = chars.slice(0, limit);
  }
  return chars.map(([c]) => c).sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
}

/** Train a WordPiece vocabulary on `texts`; see the file comment. Returns a standard tokenizer.json object. */
export function trainWordPiece(texts: Iterable<string>, options: WordPieceTrainerOptions): TokenizerJson {
  const { vocabSize, lowercase, minFrequency, limitAlphabet = 1000 } = options;
  const specials = [BERT_SPECIAL_TOKENS.pad, BERT_SPECIAL_TOKENS.unk, BERT_SPECIAL_TOKENS.cls, BERT_SPECIAL_TOKENS.sep, BERT_SPECIAL_TOKENS.mask];
  if (!Number.isInteger(vocabSize) || vocabSize < specials.length + 1) {
    throw new Error(`trainWordPiece: vocabSize must be an integer above ${specials.length}, got ${vocabSize}.`);
  }
  if (vocabSize >= KEY_BASE) throw new Error(`trainWordPiece: vocabSize must be below ${KEY_BASE}, got ${vocabSize}.`);

  // Symbol table: id → token string, token → id.
  const symbols: string[] = [];
  const idOf = new Map<string, number>();
  const addSymbol = (s: string): number => {
    let id = idOf.get(s);
    if (id === undefined) {
      id = symbols.length;
      symbols.push(s);
      idOf.set(s, id);
    }
    return id;
  };
  specials.forEach(addSymbol);

  // 1–2. word counts, alphabet, words as symbol-id sequences.
  const wordCounts = countWords(texts, lowercase);
  const alphabet = computeAlphabet(wordCounts, limitAlphabet);
  const inAlphabet = new Set(alphabet);
  alphabet.forEach(addSymbol);
  const words: number[][] = [];
  const counts: number[] = [];
  for (const [word, count] of wordCounts) {
    const seq: number[] = [];
    let i = 0;
    for (const ch of word) {
      if (inAlphabet.has(ch)) seq.push(addSymbol(i === 0 ? ch : PREFIX + ch)); // a dropped rare character is skipped
      i++;
    }
    if (seq.length > 0) {
      words.push(seq);
      counts.push(count);
    }
  }

  // Pair counts over the word table, and which words hold each pair.
  const pairCounts = new Map<number, number>();
  const where = new Map<number, Set<number>>();
  for (let w = 0; w < words.length; w++) {
    const seq = words[w];
    for (let i = 0; i + 1 < seq.length; i++) {
      const key = seq[i] * KEY_BASE + seq[i + 1];
      pairCounts.set(key, (pairCounts.get(key) ?? 0) + counts[w]);
      let set = where.get(key);
      if (!set) where.set(key, (set = new Set()));
      set.add(w);
    }
  }
  const heap = new PairHeap();
  for (const [key, count] of pairCounts) heap.push(count, key);

  // 3. merges.
  while (symbols.length < vocabSize) {
    const top = heap.pop();
    if (!top) break;
    const current = pairCounts.get(top.key) ?? 0;
    if (top.count !== current) {
      if (current > 0) heap.push(current, top.key); // stale entry: re-queue with its present count
      continue;
    }
    if (current < 1 || current < minFrequency) break;
    const left = Math.floor(top.key / KEY_BASE);
    const right = top.key % KEY_BASE;
    const rightText = symbols[right];
    const merged = addSymbol(symbols[left] + (rightText.startsWith(PREFIX) ? rightText.slice(PREFIX.length) : rightText));

    const delta = new Map<number, number>();
    const bump = (key: number, by: number) => delta.set(key, (delta.get(key) ?? 0) + by);
    for (const w of where.get(top.key) ?? []) {
      const seq = words[w];
      const c = counts[w];
      let changed = false;
      const out: number[] = [];
      for (let i = 0; i < seq.length; i++) {
        if (i + 1 < seq.length && seq[i] === left && seq[i + 1] === right) {
          out.push(merged);
          i++;
          changed = true;
        } else {
          out.push(seq[i]);
        }
      }
      if (!changed) continue;
      for (let i = 0; i + 1 < seq.length; i++) bump(seq[i] * KEY_BASE + seq[i + 1], -c);
      for (let i = 0; i + 1 < out.length; i++) {
        const key = out[i] * KEY_BASE + out[i + 1];
        bump(key, c);
        let set = where.get(key);
        if (!set) where.set(key, (set = new Set()));
        set.add(w);
      }
      words[w] = out;
    }
    where.delete(top.key);
    for (const [key, d] of delta) {
      if (d === 0) continue;
      const next = (pairCounts.get(key) ?? 0) + d;
      if (next <= 0) pairCounts.delete(key);
      else pairCounts.set(key, next);
      if (d > 0) heap.push(next, key); // pairs that grew (those with the new symbol) enter the queue
    }
  }

  const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
  symbols.forEach((s, id) => { vocab[s] = id; });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((content, id) => ({
      id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: bertTemplateProcessing([BERT_SPECIAL_TOKENS.cls, 2], [BERT_SPECIAL_TOKENS.sep, 3]),
    decoder: { type: 'WordPiece', prefix: PREFIX, cleanup: true },
    model: { type: 'WordPiece', unk_token: BERT_SPECIAL_TOKENS.unk, continuing_subword_prefix: PREFIX, max_input_chars_per_word: 100, vocab },
  };
}
