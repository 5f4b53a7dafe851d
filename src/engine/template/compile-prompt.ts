/**
 * LM-BFF prompt compilation (`tokenize_multipart_input` with `prompt=True`, no demonstrations) and the standard
 * non-prompt encoding (`prompt=False`).
 *
 * Per piece: token ids are produced as described in parse-template.ts; a sentence piece is then cut to its first
 * `firstSentLimit` tokens (sentence 0) or `otherSentLimit` tokens (other sentences) when set; `sep+` bumps the
 * segment id of everything after it. The pieces are joined, cut at the tail to `maxLength`, and the mask position is
 * the first mask id. No padding (the batch collator pads).
 *
 * Deviation from LM-BFF: when the tail cut would remove the mask, LM-BFF's assertion stops the run; here the sentence
 * pieces are shortened instead (longest first, at their ends) until the prompt fits, so the mask stays. An example
 * whose mask survives the tail cut is truncated exactly as in LM-BFF.
 *
 * Tokenizer notes:
 * - RoBERTa (byte-level BPE): `sent_i` encodes the sentence with no leading space (its first word has no Ġ);
 *   `+sent_i` adds the space; "_It_was" → ĠIt Ġwas; a one-character literal such as "." is the raw token ".".
 * - BERT (WordPiece): whitespace only separates words, so `+sent_i` gives the same ids as `sent_i` and a leading
 *   `_` in a literal changes nothing. One-character literals are still looked up raw, so in an uncased vocabulary
 *   "A" is not found (LM-BFF would insert [UNK]; here it is a TemplateError).
 * - tokenTypeIds: for WordPiece (BERT) LM-BFF's segment ids (0, then +1 after each sep+; standard encoding: 0 for
 *   [CLS] A [SEP], 1 for B [SEP]). For byte-level BPE (RoBERTa) all zeros: LM-BFF computes segment ids there too
 *   but never passes them to RoBERTa, whose type-embedding table has a single row, so the model sees type 0.
 */
import type { TextTokenizer } from '../tokenize/text-tokenizer';
import { parseTemplate, sentenceProblems, type SentencePiece, type TemplatePiece } from './parse-template';
import { TemplateError } from './template-error';
import { literalProblems, singleCharLiteral } from './validate-template';

export interface PromptExample {
  textA: string;
  textB?: string;
}

export interface PromptOptions {
  /** `max_seq_length`: tail truncation to this many tokens. */
  maxLength: number;
  /** Cut sentence 0 pieces to this many tokens (`--first_sent_limit`). */
  firstSentLimit?: number;
  /** Cut other sentence pieces to this many tokens (`--other_sent_limit`). */
  otherSentLimit?: number;
}

export interface CompiledPrompt {
  inputIds: number[];
  tokenTypeIds: number[];
  /** Index of the first mask token in `inputIds`. */
  maskPos: number;
}

export interface EncodedInput {
  inputIds: number[];
  tokenTypeIds: number[];
}

/** A template parsed and checked once for one tokenizer, with the ids of its literals worked out. */
export interface PreparedTemplate {
  readonly template: string;
  readonly pieces: readonly TemplatePiece[];
  /** Token ids of each piece that does not depend on the example (null for sentence pieces). */
  readonly fixedIds: readonly (readonly number[] | null)[];
  readonly tokenizer: TextTokenizer;
}

/** Parse `template`, check its one-character literals against the vocabulary and encode its fixed pieces. */
export function prepareTemplate(template: string, tokenizer: TextTokenizer): PreparedTemplate {
  const pieces = parseTemplate(template);
  const problems = literalProblems(pieces, tokenizer);
  if (problems.length > 0) throw problems[0];
  const fixedIds = pieces.map((p): number[] | null => {
    switch (p.kind) {
      case 'cls':
        return [tokenizer.clsId];
      case 'mask':
        return [tokenizer.maskId];
      case 'sep':
      case 'sep+':
        return [tokenizer.sepId];
      case 'sentence':
        return null;
      case 'literal': {
        const ch = singleCharLiteral(p.value);
        return ch !== undefined ? [tokenizer.tokenToId(ch)!] : tokenizer.encode(p.value);
      }
    }
  });
  return { template, pieces, fixedIds, tokenizer };
}

/** Split into code points, as Python indexes strings. */
const codePoints = (s: string): string[] => [...s];

/** The text LM-BFF encodes for a sentence piece. */
export function sentenceText(piece: SentencePiece, sentence: string): string {
  let cps = codePoints(sentence);
  if (piece.caseFirst !== null && cps.length > 0) {
    const first = piece.caseFirst === 'lower' ? cps[0].toLowerCase() : cps[0].toUpperCase();
    cps = [first, ...cps.slice(1)];
  }
  if (piece.dropLastChar) cps = cps.slice(0, -1);
  return (piece.addSpace ? ' ' : '') + cps.join('');
}

interface Segment {
  ids: number[];
  segmentId: number;
  sentence: boolean;
}

/** Compile one example with an LM-BFF template. */
export function compilePrompt(
  template: string | PreparedTemplate,
  tokenizer: TextTokenizer,
  example: PromptExample,
  options: PromptOptions,
): CompiledPrompt {
  const prepared = typeof template === 'string' ? prepareTemplate(template, tokenizer) : template;
  if (prepared.tokenizer !== tokenizer) {
    throw new Error('compilePrompt: the template was prepared for another tokenizer; call prepareTemplate with this one.');
  }
  const { maxLength, firstSentLimit, otherSentLimit } = options;
  if (!Number.isInteger(maxLength) || maxLength < 1) throw new Error(`compilePrompt: maxLength must be a positive integer, got ${maxLength}.`);
  const sentences = example.textB === undefined ? [example.textA] : [example.textA, example.textB];
  const bad = sentenceProblems(prepared.pieces, sentences.length);
  if (bad.length > 0) throw bad[0];

  const segments: Segment[] = [];
  let segmentId = 0;
  prepared.pieces.forEach((piece, i) => {
    let ids: number[];
    if (piece.kind === 'sentence') {
      ids = tokenizer.encode(sentenceText(piece, sentences[piece.index]));
      const limit = piece.index === 0 ? firstSentLimit : otherSentLimit;
      if (limit !== undefined) ids = ids.slice(0, limit);
    } else {
      ids = [...prepared.fixedIds[i]!];
    }
    segments.push({ ids, segmentId, sentence: piece.kind === 'sentence' });
    if (piece.kind === 'sep+') segmentId += 1;
  });

  const total = segments.reduce((n, s) => n + s.ids.length, 0);
  if (total > maxLength) {
    const flat = segments.flatMap((s) => s.ids);
    const mask = flat.indexOf(tokenizer.maskId);
    if (mask < 0 || mask >= maxLength) {
      // LM-BFF keeps the first max_length tokens and then asserts that the mask survived, so an example whose mask
      // falls past max_length stops the run. Here such an example is kept instead: the sentence pieces are shortened
      // at their ends, the longest first, until the whole prompt fits, so the template's tokens (mask included) stay.
      // Only if the sentences run out first is the tail truncation below left to cut template tokens after the mask.
      shortenSentences(segments, total - maxLength);
      const maskAfter = segments.flatMap((s) => s.ids).indexOf(tokenizer.maskId);
      if (maskAfter < 0 || maskAfter >= maxLength) {
        throw new TemplateError(
          `The template puts the mask at position ${maskAfter} (0-based) even with empty sentences, past max length ${maxLength}.`,
          0, prepared.template.length, 'Raise max_length, or move *mask* nearer the start of the template.',
        );
      }
    }
  }

  const inputIds: number[] = [];
  const tokenTypeIds: number[] = [];
  for (const s of segments) {
    for (const id of s.ids) {
      inputIds.push(id);
      tokenTypeIds.push(s.segmentId);
    }
  }
  inputIds.length = Math.min(inputIds.length, maxLength); // tail truncation
  tokenTypeIds.length = inputIds.length;
  return { inputIds, tokenTypeIds: typeIdsFor(tokenizer, tokenTypeIds), maskPos: inputIds.indexOf(tokenizer.maskId) };
}

/** Segment ids as the model receives them: BERT's as computed, RoBERTa's all 0 (see the file comment). */
function typeIdsFor(tokenizer: TextTokenizer, segmentIds: number[]): number[] {
  return tokenizer.kind === 'bpe' ? segmentIds.map(() => 0) : segmentIds;
}

/** Remove up to `excess` tokens from the ends of the sentence segments, always from the currently longest one. */
function shortenSentences(segments: Segment[], excess: number): void {
  for (let left = excess; left > 0; left--) {
    let longest: Segment | undefined;
    for (const s of segments) if (s.sentence && s.ids.length > 0 && (!longest || s.ids.length > longest.ids.length)) longest = s;
    if (!longest) return;
    longest.ids.pop();
  }
}

/**
 * The standard (no-prompt) input: [CLS] A [SEP] (+ B [SEP]) with one separator between the sentences, segment ids
 * 0 for [CLS] A [SEP] and 1 for B [SEP], no sentence limits, tail truncation (§1.4). RoBERTa uses <s> and </s>.
 */
export function encodeStandard(tokenizer: TextTokenizer, example: PromptExample, maxLength: number): EncodedInput {
  const a = [tokenizer.clsId, ...tokenizer.encode(example.textA), tokenizer.sepId];
  const inputIds = [...a];
  const tokenTypeIds = a.map(() => 0);
  if (example.textB !== undefined) {
    const b = [...tokenizer.encode(example.textB), tokenizer.sepId];
    inputIds.push(...b);
    tokenTypeIds.push(...b.map(() => 1));
  }
  return { inputIds: inputIds.slice(0, maxLength), tokenTypeIds: typeIdsFor(tokenizer, tokenTypeIds.slice(0, maxLength)) };
}
