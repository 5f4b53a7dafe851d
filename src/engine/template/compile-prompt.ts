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
 *
 * Causal (decoder-only) models — `causal: true`, the default for a causal LM's tokenizer (`tokenizer.causal`). The
 * model reads the label word as the token that follows the prompt, f(x) = its next-token logits at the prompt's last
 * token. So:
 * - `*mask*` must be the template's last piece (parse-template.ts) and adds no token: the prompt ends right before
 *   the label word, and `maskPos` is the index of the prompt's LAST token (the position whose logits are read);
 * - `*cls*` is the tokenizer's BOS token where HF adds one (`causal.addsBos`: Llama 2/3, TinyLlama, Mistral), and
 *   nothing where it does not (GPT-2, Pythia, SmolLM, Qwen2), so that the prompt starts as the model's own
 *   tokenizer starts a text;
 * - `*sep*` / `*sep+*` (before the mask) are the EOS token — causal tokenizers have no separator, and EOS is the token
 *   that plays RoBERTa's `</s>` role; a TemplateError where the tokenizer has no EOS. Causal models take no segment
 *   ids: tokenTypeIds are all 0 (`sep+` bumps nothing);
 * - the text pieces are encoded as LM-BFF does (`sent_i` without a leading space, `+sent_i` and "_It_was" with it),
 *   and for a SentencePiece tokenizer (Llama 2, TinyLlama, Mistral) each piece is encoded as it reads inside the
 *   whole prompt: a piece that continues text gets no "▁" dummy prefix ("_It_was" → ▁It ▁was, not ▁ ▁It ▁was),
 *   and the first text piece of the prompt (or the first after a *sep*) does, as HF's tokenizer marks the start of
 *   a text ("The film" → ▁The ▁film; a piece that starts with a space gets one marker, not two);
 * - truncation keeps the end: when the prompt is longer than `maxLength`, tokens are removed from the START of the
 *   sentence pieces, the longest sentence first (the text nearest the prediction stays, as HF's
 *   `truncation_side='left'`), and BOS and the template's own tokens are kept; a TemplateError when they alone are
 *   more than `maxLength`. `firstSentLimit` / `otherSentLimit` still keep a sentence's first tokens (LM-BFF's options).
 * - the standard (no-prompt) input is [BOS if added] A (+ EOS B), with the same truncation, and its read-out
 *   position `maskPos` is the last token (a causal model's summary of the text), not the first.
 */
import type { TextTokenizer } from '../tokenize/text-tokenizer';
import { parseTemplate, sentenceProblems, type SentencePiece, type TemplatePiece } from './parse-template';
import { TemplateError } from './template-error';
import { literalProblems, modelTokenProblems, singleCharLiteral } from './validate-template';

export interface PromptExample {
  textA: string;
  textB?: string;
}

/** Which model the prompt is for. */
export interface ModelKindOption {
  /**
   * A causal (decoder-only) model: see the file comment. Default: whether the tokenizer is a causal LM's
   * (`tokenizer.causal`). `true` needs a causal tokenizer; `false` needs a mask token.
   */
  causal?: boolean;
}

export interface PromptOptions extends ModelKindOption {
  /** `max_seq_length`: tail truncation to this many tokens (causal: the end is kept, see the file comment). */
  maxLength: number;
  /** Cut sentence 0 pieces to this many tokens (`--first_sent_limit`). */
  firstSentLimit?: number;
  /** Cut other sentence pieces to this many tokens (`--other_sent_limit`). */
  otherSentLimit?: number;
}

export interface CompiledPrompt {
  inputIds: number[];
  tokenTypeIds: number[];
  /**
   * Masked LM: index of the first mask token in `inputIds`. Causal LM: index of the last token, the position whose
   * next-token logits give the label word's score (no mask token is in `inputIds`).
   */
  maskPos: number;
}

export interface EncodedInput {
  inputIds: number[];
  tokenTypeIds: number[];
  /**
   * Causal models only: the read-out position, the index of the last token (a causal model's representation of
   * the whole text is at its end). Absent for masked models, which read the first token ([CLS] / <s>).
   */
  maskPos?: number;
}

/** A template parsed and checked once for one tokenizer, with the ids of its literals worked out. */
export interface PreparedTemplate {
  readonly template: string;
  readonly pieces: readonly TemplatePiece[];
  /** Token ids of each piece that does not depend on the example (null for sentence pieces). */
  readonly fixedIds: readonly (readonly number[] | null)[];
  readonly tokenizer: TextTokenizer;
  /** Compiled for a causal model (see the file comment). */
  readonly causal: boolean;
}

/** The `causal` option resolved against the tokenizer; throws when they cannot go together. */
function resolveCausal(tokenizer: TextTokenizer, causal: boolean | undefined, where: string): boolean {
  const isCausal = causal ?? tokenizer.causal !== undefined;
  if (isCausal && tokenizer.causal === undefined) {
    throw new Error(`${where}: causal: true needs a causal LM's tokenizer (BOS/EOS, no mask token); this tokenizer is a masked LM's.`);
  }
  return isCausal;
}

/**
 * Causal models: which pieces start a text segment (the first text piece of the template, or the first after a
 * *sep*): a SentencePiece tokenizer marks such a piece's start with "▁" (see the file comment).
 */
function segmentStarts(pieces: readonly TemplatePiece[]): boolean[] {
  let fresh = true;
  return pieces.map((p) => {
    if (p.kind === 'sep' || p.kind === 'sep+') fresh = true;
    if (p.kind !== 'sentence' && p.kind !== 'literal') return false;
    const starts = fresh;
    fresh = false;
    return starts;
  });
}

/** Causal models: ids of a text piece as it reads inside the prompt (SentencePiece: dummy prefix at a segment start only). */
function encodeCausalText(tokenizer: TextTokenizer, text: string, startsSegment: boolean): number[] {
  if (tokenizer.kind !== 'sentencepiece') return tokenizer.encode(text);
  return tokenizer.encodeContinuation(startsSegment && text !== '' && !text.startsWith(' ') ? ' ' + text : text);
}

/**
 * Parse `template`, check its one-character literals against the vocabulary and encode its fixed pieces.
 * `causal` (default: whether the tokenizer is a causal LM's) selects the causal semantics of the file comment.
 */
export function prepareTemplate(template: string, tokenizer: TextTokenizer, options: ModelKindOption = {}): PreparedTemplate {
  const causal = resolveCausal(tokenizer, options.causal, 'prepareTemplate');
  const pieces = parseTemplate(template, { causal });
  const problems = [...literalProblems(pieces, tokenizer), ...modelTokenProblems(pieces, tokenizer, causal)].sort((a, b) => a.offset - b.offset);
  if (problems.length > 0) throw problems[0];
  if (causal) {
    const starts = segmentStarts(pieces);
    const info = tokenizer.causal!;
    const fixedIds = pieces.map((p, i): number[] | null => {
      switch (p.kind) {
        case 'cls':
          return info.addsBos ? [tokenizer.bosId!] : [];
        case 'mask':
          return [];
        case 'sep':
        case 'sep+':
          return [tokenizer.eosId!];
        case 'sentence':
          return null;
        case 'literal': {
          const ch = singleCharLiteral(p.value);
          return ch !== undefined ? [tokenizer.tokenToId(ch)!] : encodeCausalText(tokenizer, p.value, starts[i]);
        }
      }
    });
    return { template, pieces, fixedIds, tokenizer, causal };
  }
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
  return { template, pieces, fixedIds, tokenizer, causal };
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
  const prepared = typeof template === 'string' ? prepareTemplate(template, tokenizer, { causal: options.causal }) : template;
  if (prepared.tokenizer !== tokenizer) {
    throw new Error('compilePrompt: the template was prepared for another tokenizer; call prepareTemplate with this one.');
  }
  if (options.causal !== undefined && options.causal !== prepared.causal) {
    throw new Error(`compilePrompt: the template was prepared with causal: ${prepared.causal}, and compiled with causal: ${options.causal}.`);
  }
  const { maxLength, firstSentLimit, otherSentLimit } = options;
  if (!Number.isInteger(maxLength) || maxLength < 1) throw new Error(`compilePrompt: maxLength must be a positive integer, got ${maxLength}.`);
  const sentences = example.textB === undefined ? [example.textA] : [example.textA, example.textB];
  const bad = sentenceProblems(prepared.pieces, sentences.length);
  if (bad.length > 0) throw bad[0];
  if (prepared.causal) return compileCausal(prepared, sentences, options);

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

/** Causal models: see the file comment. */
function compileCausal(prepared: PreparedTemplate, sentences: string[], options: PromptOptions): CompiledPrompt {
  const { tokenizer, pieces, template } = prepared;
  const { maxLength, firstSentLimit, otherSentLimit } = options;
  const starts = segmentStarts(pieces);
  const segments: Segment[] = pieces.map((piece, i) => {
    if (piece.kind !== 'sentence') return { ids: [...prepared.fixedIds[i]!], segmentId: 0, sentence: false };
    let ids = encodeCausalText(tokenizer, sentenceText(piece, sentences[piece.index]), starts[i]);
    const limit = piece.index === 0 ? firstSentLimit : otherSentLimit;
    if (limit !== undefined) ids = ids.slice(0, limit);
    return { ids, segmentId: 0, sentence: true };
  });
  const total = segments.reduce((n, s) => n + s.ids.length, 0);
  if (total > maxLength) {
    shortenSentences(segments, total - maxLength, 'start');
    const fixed = segments.reduce((n, s) => n + s.ids.length, 0);
    if (fixed > maxLength) {
      throw new TemplateError(
        `The template's own tokens are ${fixed} even with empty sentences, more than max length ${maxLength}: a causal model reads the label word after the last one, so none can be cut.`,
        0, template.length, 'Raise max_length, or shorten the template.',
      );
    }
  }
  const inputIds = segments.flatMap((s) => s.ids);
  if (inputIds.length === 0) {
    throw new TemplateError(
      'The prompt is empty for this example: a causal model needs at least one token before the label word.',
      0, template.length, 'Put text before *mask* (e.g. _It_was), or *cls* for a tokenizer with a BOS token.',
    );
  }
  return { inputIds, tokenTypeIds: inputIds.map(() => 0), maskPos: inputIds.length - 1 };
}

/** Segment ids as the model receives them: BERT's as computed, the BPE models' all 0 (see the file comment). */
function typeIdsFor(tokenizer: TextTokenizer, segmentIds: number[]): number[] {
  return tokenizer.kind === 'wordpiece' ? segmentIds : segmentIds.map(() => 0);
}

/**
 * Remove up to `excess` tokens from the sentence segments, always from the currently longest one (the first of equal
 * ones): at their ends (masked models), or at their starts (causal models, which keep the text nearest the end).
 */
function shortenSentences(segments: Segment[], excess: number, side: 'end' | 'start' = 'end'): void {
  for (let left = excess; left > 0; left--) {
    let longest: Segment | undefined;
    for (const s of segments) if (s.sentence && s.ids.length > 0 && (!longest || s.ids.length > longest.ids.length)) longest = s;
    if (!longest) return;
    if (side === 'end') longest.ids.pop();
    else longest.ids.shift();
  }
}

/**
 * The standard (no-prompt) input: [CLS] A [SEP] (+ B [SEP]) with one separator between the sentences, segment ids
 * 0 for [CLS] A [SEP] and 1 for B [SEP], no sentence limits, tail truncation (§1.4). RoBERTa uses <s> and </s>.
 *
 * Causal models (`causal`, default: whether the tokenizer is a causal LM's): [BOS where the tokenizer adds one] A
 * (+ EOS B), each sentence encoded as the start of a text, type ids all 0, and `maskPos` = the last token's index (the
 * read-out position). Too long: tokens are removed from the starts of the sentences, the longer first, so the end
 * stays (as in `compilePrompt`).
 */
export function encodeStandard(tokenizer: TextTokenizer, example: PromptExample, maxLength: number, options: ModelKindOption = {}): EncodedInput {
  if (resolveCausal(tokenizer, options.causal, 'encodeStandard')) return encodeStandardCausal(tokenizer, example, maxLength);
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

function encodeStandardCausal(tokenizer: TextTokenizer, example: PromptExample, maxLength: number): EncodedInput {
  if (!Number.isInteger(maxLength) || maxLength < 1) throw new Error(`encodeStandard: maxLength must be a positive integer, got ${maxLength}.`);
  const segments: Segment[] = [];
  if (tokenizer.causal!.addsBos) segments.push({ ids: [tokenizer.bosId!], segmentId: 0, sentence: false });
  segments.push({ ids: encodeCausalText(tokenizer, example.textA, true), segmentId: 0, sentence: true });
  if (example.textB !== undefined) {
    if (tokenizer.eosId === undefined) {
      throw new Error('encodeStandard: a sentence pair for a causal model is A EOS B, and this tokenizer has no EOS token.');
    }
    segments.push({ ids: [tokenizer.eosId], segmentId: 0, sentence: false });
    segments.push({ ids: encodeCausalText(tokenizer, example.textB, true), segmentId: 0, sentence: true });
  }
  const total = segments.reduce((n, s) => n + s.ids.length, 0);
  if (total > maxLength) shortenSentences(segments, total - maxLength, 'start');
  const inputIds = segments.flatMap((s) => s.ids).slice(-maxLength); // BOS/EOS alone longer than maxLength: keep the end
  if (inputIds.length === 0) {
    throw new Error('encodeStandard: the input is empty (an empty text and no BOS token): a causal model has no token to read.');
  }
  return { inputIds, tokenTypeIds: inputIds.map(() => 0), maskPos: inputIds.length - 1 };
}
