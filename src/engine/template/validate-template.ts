/**
 * Checks of a template against a task (its number of sentences) and a tokenizer (one-character literals must be
 * vocabulary tokens, since LM-BFF looks them up raw and would otherwise insert the unknown token).
 */
import type { TextTokenizer } from '../tokenize/text-tokenizer';
import { CAUSAL_MASK_HINT, scanTemplate, sentenceProblems, parseTemplate, type TemplatePiece } from './parse-template';
import { TemplateError } from './template-error';

/** The raw vocabulary token LM-BFF uses for a one-character literal, or undefined when the literal is longer. */
export function singleCharLiteral(value: string): string | undefined {
  return [...value].length === 1 ? value : undefined;
}

/** One-character literals that are not vocabulary tokens. */
export function literalProblems(pieces: readonly TemplatePiece[], tokenizer: TextTokenizer): TemplateError[] {
  const out: TemplateError[] = [];
  for (const p of pieces) {
    if (p.kind !== 'literal') continue;
    const ch = singleCharLiteral(p.value);
    if (ch === undefined || tokenizer.tokenToId(ch) !== undefined) continue;
    const hint =
      ch === ' '
        ? 'A lone space is not a vocabulary token. Attach the space to the next word instead (e.g. _great), or drop it.'
        : `Use a character the vocabulary has${tokenizer.kind === 'wordpiece' && ch !== ch.toLowerCase() ? ' (this vocabulary may be lower-case only)' : ''}, ` +
          `or make the literal longer than one character so that it is tokenised normally (e.g. _${ch} for a space and "${ch}").`;
    out.push(new TemplateError(
      `The one-character literal ${JSON.stringify(ch)} is looked up as a single vocabulary token (LM-BFF's rule), ` +
        `but the vocabulary has no token ${JSON.stringify(ch)}.`,
      p.offset, p.length, hint,
    ));
  }
  return out;
}

/**
 * Pieces this tokenizer cannot give for the model kind: for a causal model, a `*sep*`/`*sep+*` (its EOS token) when
 * the tokenizer has no EOS; for a masked model, the `*mask*` when the tokenizer is a causal LM's (no mask token).
 */
export function modelTokenProblems(pieces: readonly TemplatePiece[], tokenizer: TextTokenizer, causal: boolean): TemplateError[] {
  const out: TemplateError[] = [];
  for (const p of pieces) {
    if (causal && (p.kind === 'sep' || p.kind === 'sep+') && tokenizer.eosId === undefined) {
      out.push(new TemplateError(
        `*${p.text}* is the end-of-sequence token for a causal model, and this tokenizer has none.`,
        p.offset, p.length, 'Remove it, or write the separator as text (e.g. _Question:).',
      ));
    }
    if (!causal && p.kind === 'mask' && tokenizer.causal !== undefined) {
      out.push(new TemplateError(
        'This tokenizer has no mask token: it is a causal (decoder-only) model\'s, which predicts the label word after the prompt.',
        p.offset, p.length, `Compile the template for a causal model; ${CAUSAL_MASK_HINT}.`,
      ));
    }
  }
  return out;
}

export interface TemplateCheckOptions {
  /** Sentences per example in the task: 1 (text A) or 2 (text A and B). */
  numSentences: number;
  /** When given, one-character literals are checked against its vocabulary. */
  tokenizer?: TextTokenizer;
  /**
   * Check for a causal (decoder-only) model: `*mask*` must end the template (parse-template.ts). Default: whether
   * `tokenizer` is a causal LM's (false without a tokenizer).
   */
  causal?: boolean;
}

/** Every problem of a template, in order: structure, sentence indices, then literals and model tokens. Never throws. */
export function templateProblems(template: string, opts: TemplateCheckOptions): TemplateError[] {
  const causal = opts.causal ?? opts.tokenizer?.causal !== undefined;
  const scanned = scanTemplate(template, { causal });
  return [
    ...scanned.problems,
    ...sentenceProblems(scanned.pieces, opts.numSentences),
    ...(opts.tokenizer ? literalProblems(scanned.pieces, opts.tokenizer) : []),
    ...(opts.tokenizer ? modelTokenProblems(scanned.pieces, opts.tokenizer, causal) : []),
  ];
}

/** Parse and check a template; throws the first `TemplateError`. */
export function validateTemplate(template: string, opts: TemplateCheckOptions): TemplatePiece[] {
  const problems = templateProblems(template, opts);
  if (problems.length > 0) throw problems[0];
  return parseTemplate(template, { causal: opts.causal ?? opts.tokenizer?.causal !== undefined });
}
