/**
 * A `TextTokenizer` over `@huggingface/tokenizers` (tokenizers.js), built from a tokenizer.json object.
 */
import { hfLibrary, type HfTokenizer } from './hf-library';
import type { TokenizerJson } from './tokenizer-json';
import { BERT_SPECIAL_TOKENS, ROBERTA_SPECIAL_TOKENS, type SpecialTokens, type TextTokenizer } from './text-tokenizer';

/** tokenizer_config.json (the keys read here). */
export interface TokenizerConfigJson {
  do_lower_case?: boolean;
  strip_accents?: boolean | null;
  tokenize_chinese_chars?: boolean;
  cls_token?: string | { content: string };
  sep_token?: string | { content: string };
  mask_token?: string | { content: string };
  pad_token?: string | { content: string };
  unk_token?: string | { content: string };
  [key: string]: unknown;
}

const ROLES = ['cls', 'sep', 'mask', 'pad', 'unk'] as const;
type Role = (typeof ROLES)[number];

function configToken(config: TokenizerConfigJson, role: Role): string | undefined {
  const v = config[`${role}_token`];
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return undefined;
}

/**
 * The special token strings: the tokenizer_config.json `<role>_token` when it is in the vocabulary, else the BERT
 * ([CLS] …) or RoBERTa (<s> …) spelling, whichever the vocabulary has (the tokenizer kind's own spelling first).
 */
export function resolveSpecialTokens(
  has: (token: string) => boolean,
  kind: 'wordpiece' | 'bpe',
  config: TokenizerConfigJson,
  source: string,
): SpecialTokens {
  const sets = kind === 'bpe' ? [ROBERTA_SPECIAL_TOKENS, BERT_SPECIAL_TOKENS] : [BERT_SPECIAL_TOKENS, ROBERTA_SPECIAL_TOKENS];
  const out = {} as SpecialTokens;
  for (const role of ROLES) {
    const candidates = [configToken(config, role), ...sets.map((s) => s[role])].filter((t): t is string => t !== undefined);
    const found = candidates.find(has);
    if (found === undefined) {
      throw new Error(
        `${source}: the vocabulary has no ${role} token (looked for ${candidates.map((c) => JSON.stringify(c)).join(', ')}). ` +
          `Add it to the vocabulary, or name it as "${role}_token" in tokenizer_config.json.`,
      );
    }
    out[role] = found;
  }
  return out;
}

/** Code points of BERT's CJK ideograph ranges (same table as BERT's `_is_chinese_char`). */
function isCjkCodePoint(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) || (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/**
 * Spaces around CJK ideographs outside the Basic Multilingual Plane. tokenizers.js's BertNormalizer walks UTF-16
 * code units, so it never sees these (surrogate-pair) ideographs; BERT and the Rust tokenizers do. Applying this
 * before the library's normalizer makes the two agree (the BMP ideographs the library spaces itself).
 */
export function spaceAstralCjk(text: string): string {
  if (!/[\ud800-\udbff]/.test(text)) return text;
  let out = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    out += cp > 0xffff && isCjkCodePoint(cp) ? ` ${ch} ` : ch;
  }
  return out;
}

function kindOf(json: TokenizerJson, source: string): 'wordpiece' | 'bpe' {
  const type = json.model?.type;
  if (type === 'WordPiece') return 'wordpiece';
  if (type === 'BPE') return 'bpe';
  throw new Error(
    `${source}: model type ${JSON.stringify(type)} is not supported; ntk-lens reads BERT WordPiece and RoBERTa ` +
      `byte-level BPE tokenizers (model.type "WordPiece" or "BPE").`,
  );
}

/**
 * Wrap a tokenizer.json object (and its tokenizer_config.json, `{}` if none) as a `TextTokenizer`.
 * `source` names the file(s) in error messages.
 */
export function tokenizerFromJson(json: TokenizerJson, config: TokenizerConfigJson, source: string): TextTokenizer {
  const kind = kindOf(json, source);
  let lib: HfTokenizer;
  try {
    lib = new hfLibrary.Tokenizer(json, config);
  } catch (e) {
    throw new Error(`${source}: could not build the tokenizer: ${(e as Error).message}`);
  }
  const vocab = lib.get_vocab(true); // token → id, added tokens included
  let vocabSize = 0;
  for (const id of vocab.values()) vocabSize = Math.max(vocabSize, id + 1);
  const special = resolveSpecialTokens((t) => vocab.has(t), kind, config, source);
  const ids = Object.fromEntries(ROLES.map((r) => [r, vocab.get(special[r])!])) as Record<Role, number>;
  const bertNormalizer = json.normalizer?.type === 'BertNormalizer' && json.normalizer.handle_chinese_chars !== false;

  return {
    kind,
    clsId: ids.cls,
    sepId: ids.sep,
    maskId: ids.mask,
    padId: ids.pad,
    unkId: ids.unk,
    vocabSize,
    encode(text: string): number[] {
      const input = bertNormalizer ? spaceAstralCjk(text) : text;
      // The library maps a token missing from the vocabulary to the model's unk id, which is undefined for a BPE
      // without unk token; such a token becomes the unk id here rather than an undefined entry.
      return lib.encode(input, { add_special_tokens: false }).ids.map((id) => id ?? ids.unk);
    },
    tokenToId: (token: string) => lib.token_to_id(token),
    idToToken: (id: number) => lib.id_to_token(id),
    decode(idsToDecode: number[]): string {
      return idsToDecode.length === 0 ? '' : lib.decode(idsToDecode);
    },
  };
}
