/**
 * The LM-BFF template language (Gao et al. 2021, `tokenize_multipart_input` in LM-BFF's src/dataset.py).
 *
 * A template is split on `*`; each piece, left to right, contributes tokens:
 *   cls, mask, sep          the special token
 *   sep+                    the SEP token; pieces after it get segment id + 1
 *   sent_i                  sentence i as given (i = 0: text A, 1: text B)
 *   +sent_i                 " " + sentence i (RoBERTa: the first word gets its Ġ space marker)
 *   sent-_i                 sentence i without its last *character* (LM-BFF drops one character, e.g. a final "?")
 *   sentl_i / +sentl_i      first character lower-cased (/ and a space in front)
 *   sentl-_i                first character lower-cased, last character dropped
 *   sentu_i / +sentu_i      first character upper-cased (/ and a space in front)
 *   anything else           literal text, every `_` a space; exactly one character → looked up as a raw vocabulary
 *                           token (so "." is the bare period, not "Ġ."), longer → tokenised ("_It_was" → ĠIt Ġwas)
 * Empty pieces (between `**`, or at the ends) add nothing.
 *
 * LM-BFF dispatches every piece the same way whether it sits inside a pair of stars or between pairs; so does this
 * parser. Checks added on top of LM-BFF (which would crash or silently misbehave instead): an odd number of stars,
 * a template without `*mask*`, `label_i`/`labelx_i` (demonstrations, not supported here), a malformed sentence
 * piece, a literal that LM-BFF would mistake for a sentence piece (it reads any piece with "sent" at characters 0–3
 * or 1–4 as one, e.g. "_sentiment", and then fails on its index), and a piece between a pair of stars that looks like
 * a misspelt variable (`*CLS*`, `*mask_0*`).
 *
 * Causal models (`{ causal: true }`): the label word is the token predicted after the prompt, so `*mask*` must be the
 * template's last piece (nothing but empty pieces after it). A `*mask*` followed by other pieces is an error located
 * at the `*mask*`; a `*sep*`/`*sep+*` after the `*mask*` is an error located at that piece. The meaning of the pieces
 * for causal models is in compile-prompt.ts.
 */
import { TemplateError } from './template-error';

export type SentenceVariant = 'sent' | '+sent' | 'sent-' | 'sentl' | '+sentl' | 'sentl-' | 'sentu' | '+sentu';
const SENTENCE_VARIANTS: readonly SentenceVariant[] = ['sent', '+sent', 'sent-', 'sentl', '+sentl', 'sentl-', 'sentu', '+sentu'];

interface PieceBase {
  /** The piece as written between the stars. */
  text: string;
  /** Character offset of `text` in the template, and its length. */
  offset: number;
  length: number;
}
export interface SpecialPiece extends PieceBase {
  kind: 'cls' | 'mask' | 'sep' | 'sep+';
}
export interface SentencePiece extends PieceBase {
  kind: 'sentence';
  variant: SentenceVariant;
  /** 0 = text A, 1 = text B. */
  index: number;
  addSpace: boolean;
  caseFirst: 'lower' | 'upper' | null;
  dropLastChar: boolean;
}
export interface LiteralPiece extends PieceBase {
  kind: 'literal';
  /** The text with `_` replaced by spaces. */
  value: string;
}
export type TemplatePiece = SpecialPiece | SentencePiece | LiteralPiece;

/** For editor colouring: every star and every non-empty piece, with `invalid` for pieces that are errors. */
export interface TemplateToken {
  kind: 'star' | 'cls' | 'mask' | 'sep' | 'sep+' | 'sentence' | 'literal' | 'invalid';
  offset: number;
  length: number;
  text: string;
}

export interface ScannedTemplate {
  pieces: TemplatePiece[];
  tokens: TemplateToken[];
  problems: TemplateError[];
}

const SUPPORTED = 'cls, mask, sep, sep+, sent_i, +sent_i, sent-_i, sentl_i, +sentl_i, sentl-_i, sentu_i, +sentu_i (i = 0 or 1)';

function sentenceVariant(text: string): { variant: string; indexText: string } | null {
  const m = /^(\+?sent[lu]?-?)_(.*)$/s.exec(text);
  return m ? { variant: m[1], indexText: m[2] } : null;
}

function classify(text: string, offset: number, insideStars: boolean): TemplatePiece | TemplateError {
  const length = text.length;
  const base = { text, offset, length };
  if (text === 'cls' || text === 'mask' || text === 'sep' || text === 'sep+') return { ...base, kind: text };

  if (text.startsWith('label_') || text.startsWith('labelx_')) {
    return new TemplateError(
      `*${text}* (a demonstration's label word) is not supported: ntk-lens builds prompts without demonstrations.`,
      offset, length, 'Remove it; the label word is what the model predicts at *mask*.',
    );
  }

  const sv = sentenceVariant(text);
  if (sv) {
    if (!(SENTENCE_VARIANTS as readonly string[]).includes(sv.variant)) {
      return new TemplateError(
        `Unknown sentence piece *${text}*: "${sv.variant}" is not one of LM-BFF's sentence forms.`,
        offset, length, `Use one of: ${SENTENCE_VARIANTS.map((v) => `${v}_0`).join(', ')}.`,
      );
    }
    if (!/^\d+$/.test(sv.indexText)) {
      return new TemplateError(
        `Unknown piece *${text}*: the sentence index "${sv.indexText}" is not a number.`,
        offset, length, `Write ${sv.variant}_0 for the first sentence (text A) or ${sv.variant}_1 for the second (text B).`,
      );
    }
    const variant = sv.variant as SentenceVariant;
    return {
      ...base,
      kind: 'sentence',
      variant,
      index: Number(sv.indexText),
      addSpace: variant.startsWith('+'),
      caseFirst: variant.includes('sentl') ? 'lower' : variant.includes('sentu') ? 'upper' : null,
      dropLastChar: variant.endsWith('-'),
    };
  }

  const value = text.replace(/_/g, ' ');
  if (value.slice(0, 4) === 'sent' || value.slice(1, 5) === 'sent') {
    return new TemplateError(
      `Unknown piece *${text}*: LM-BFF reads any piece with "sent" at its start (or after one character) as a sentence ` +
        `reference, and this one is not a valid one.`,
      offset, length,
      `For a sentence use one of: ${SUPPORTED}. For literal text, start the word differently (e.g. capitalise it).`,
    );
  }
  if (insideStars && /^\+?(cls|mask|sep|label)/i.test(text)) {
    return new TemplateError(
      `Unknown piece *${text}*.`,
      offset, length, `Supported pieces: ${SUPPORTED}; anything else is literal text (with _ for spaces).`,
    );
  }
  return { ...base, kind: 'literal', value };
}

export interface TemplateParseOptions {
  /** Check the template for a causal (decoder-only) model: `*mask*` must end it. */
  causal?: boolean;
}

/** The hint of every causal-template error. */
export const CAUSAL_MASK_HINT = 'for causal models the label word is predicted after the prompt: end the template with *mask*';

/** Causal models: a `*mask*` that is not the last piece, and each `*sep*`/`*sep+*` after a `*mask*`. */
export function causalStructureProblems(pieces: readonly TemplatePiece[]): TemplateError[] {
  const out: TemplateError[] = [];
  const firstMask = pieces.findIndex((p) => p.kind === 'mask');
  if (firstMask < 0) return out;
  pieces.forEach((p, i) => {
    if (p.kind === 'mask' && i < pieces.length - 1) {
      const after = pieces.slice(i + 1);
      // A mask followed only by separators is reported at the separators (below), not twice.
      if (after.some((q) => q.kind !== 'sep' && q.kind !== 'sep+')) {
        out.push(new TemplateError(
          `*mask* must be the last piece of a template for a causal model; here ${after.map((q) => `"${q.text}"`).join(', ')} follow${after.length === 1 ? 's' : ''} it.`,
          p.offset, p.length, CAUSAL_MASK_HINT,
        ));
      }
    }
    if ((p.kind === 'sep' || p.kind === 'sep+') && i > firstMask) {
      out.push(new TemplateError(
        `*${p.text}* after *mask*: a causal model reads the label word at the end of the prompt, so nothing may follow *mask*.`,
        p.offset, p.length, CAUSAL_MASK_HINT,
      ));
    }
  });
  return out.sort((a, b) => a.offset - b.offset);
}

/**
 * A masked-LM template turned into its causal form by dropping everything after its (first) `*mask*`, e.g.
 * `*cls**sent_0*_It_was*mask*.*sep+*` → `*cls**sent_0*_It_was*mask*`; undefined when that would drop a sentence
 * (TREC's `*cls**mask*:*+sent_0**sep+*`, the NLI and MRPC templates: these need a causal template written for
 * them) or when the template does not parse.
 */
export function causalTemplateOf(template: string): string | undefined {
  const { pieces, problems } = scanTemplate(template);
  if (problems.length > 0) return undefined;
  const m = pieces.findIndex((p) => p.kind === 'mask');
  if (pieces.slice(m + 1).some((p) => p.kind === 'sentence')) return undefined;
  const mask = pieces[m];
  const end = mask.offset + mask.length;
  return template.slice(0, end) + (template[end] === '*' ? '*' : '');
}

/** Parse without throwing: all pieces, tokens for colouring, and every structural problem found. */
export function scanTemplate(template: string, options: TemplateParseOptions = {}): ScannedTemplate {
  const pieces: TemplatePiece[] = [];
  const tokens: TemplateToken[] = [];
  const problems: TemplateError[] = [];
  const parts = template.split('*');
  let offset = 0;
  parts.forEach((text, i) => {
    if (i > 0) {
      tokens.push({ kind: 'star', offset: offset - 1, length: 1, text: '*' });
    }
    if (text !== '') {
      const r = classify(text, offset, i % 2 === 1);
      if (r instanceof TemplateError) {
        problems.push(r);
        tokens.push({ kind: 'invalid', offset, length: text.length, text });
      } else {
        pieces.push(r);
        tokens.push({ kind: r.kind, offset, length: text.length, text });
      }
    }
    offset += text.length + 1;
  });

  const stars = parts.length - 1;
  if (stars % 2 === 1) {
    const last = template.lastIndexOf('*');
    problems.push(new TemplateError(
      `Unbalanced "*": the template has ${stars} stars, an odd number.`,
      last, 1, 'Each piece is written between two stars, e.g. *cls**sent_0*_It_was*mask*.*sep+* ; add the missing star.',
    ));
  }
  if (!pieces.some((p) => p.kind === 'mask')) {
    problems.push(new TemplateError(
      'The template has no *mask*: the model needs a masked position where it predicts the label word.',
      0, template.length,
      options.causal
        ? 'Add *mask* at the end, where the label word is predicted, e.g. *cls**sent_0*_It_was*mask*'
        : 'Add *mask* where the label word goes, e.g. *cls**sent_0*_It_was*mask*.*sep+*',
    ));
  }
  if (options.causal) problems.push(...causalStructureProblems(pieces));
  return { pieces, tokens, problems };
}

/** The pieces of a template (empty pieces omitted). Throws the first `TemplateError` found. */
export function parseTemplate(template: string, options: TemplateParseOptions = {}): TemplatePiece[] {
  const { pieces, problems } = scanTemplate(template, options);
  if (problems.length > 0) throw problems[0];
  return pieces;
}

/** Stars and pieces with their kinds and offsets, for editor colouring; never throws. */
export function templateTokens(template: string): TemplateToken[] {
  return scanTemplate(template).tokens;
}

/** Problems that need the task: a sentence piece whose index the task does not have. */
export function sentenceProblems(pieces: readonly TemplatePiece[], numSentences: number): TemplateError[] {
  const out: TemplateError[] = [];
  for (const p of pieces) {
    if (p.kind === 'sentence' && p.index >= numSentences) {
      const which = p.index === 1 ? 'the second sentence (text B)' : `sentence ${p.index}`;
      const has = numSentences === 1 ? 'this task has one sentence' : `this task has ${numSentences} sentences`;
      out.push(new TemplateError(
        `*${p.text}* refers to ${which}, but ${has}.`,
        p.offset, p.length,
        numSentences === 1 ? `Use ${p.variant}_0 (the only sentence), or choose a sentence-pair task.` : `Use an index below ${numSentences}.`,
      ));
    }
  }
  return out;
}
