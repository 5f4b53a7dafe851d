/**
 * Checks of a template against a task (its number of sentences) and a tokenizer (one-character literals must be
 * vocabulary tokens, since LM-BFF looks them up raw and would otherwise insert the unknown token).
 */
import type { TextTokenizer } from '../tokenize/text-tokenizer';
import { scanTemplate, sentenceProblems, parseTemplate, type TemplatePiece } from './parse-template';
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

export interface TemplateCheckOptions {
  /** Sentences per example in the task: 1 (text A) or 2 (text A and B). */
  numSentences: number;
  /** When given, one-character literals are checked against its vocabulary. */
  tokenizer?: TextTokenizer;
}

/** Every problem of a template, in order: structure, sentence indices, then literals. Never throws. */
export function templateProblems(template: string, opts: TemplateCheckOptions): TemplateError[] {
  const scanned = scanTemplate(template);
  return [
    ...scanned.problems,
    ...sentenceProblems(scanned.pieces, opts.numSentences),
    ...(opts.tokenizer ? literalProblems(scanned.pieces, opts.tokenizer) : []),
  ];
}

/** Parse and check a template; throws the first `TemplateError`. */
export function validateTemplate(template: string, opts: TemplateCheckOptions): TemplatePiece[] {
  const problems = templateProblems(template, opts);
  if (problems.length > 0) throw problems[0];
  return parseTemplate(template);
}
