/**
 * A `TextTokenizer` over `@huggingface/tokenizers` (tokenizers.js), built from a tokenizer.json object.
 *
 * Masked-LM tokenizers (BERT, RoBERTa, XLM-RoBERTa's and ALBERT's SentencePiece Unigram) and causal-LM tokenizers (GPT-2, Pythia, SmolLM, Qwen2, Llama 2/3, TinyLlama,
 * Mistral) load here; which one a file is: the caller says (`{ causal }`), or else a BPE tokenizer without a mask
 * token is a causal LM's (WordPiece is always BERT's). See text-tokenizer.ts for the two contracts.
 *
 * Causal special tokens (`resolveCausalTokens`): each of bos/eos/pad/unk is the tokenizer_config.json (merged over
 * special_tokens_map.json by the loader) `<role>_token` when the key is there (`null` = none, as Qwen2's
 * `bos_token: null`); without the key, BOS/EOS are the tokens tokenizer.json's post-processor puts before/after a
 * text, else the usual spellings (`<|begin_of_text|>` `<s>` `<|endoftext|>` / `<|end_of_text|>` `</s>`
 * `<|endoftext|>`) found in the vocabulary, the unknown token is the BPE model's `unk_token`, and the pad token is
 * only ever the one named (Pythia's `<|padding|>` is not HF's pad token); without one, pad = EOS.
 */
import { hfLibrary, type HfTokenizer } from './hf-library';
import type { TokenizerJson } from './tokenizer-json';
import {
  BERT_SPECIAL_TOKENS,
  ROBERTA_SPECIAL_TOKENS,
  type CausalTokenInfo,
  type SpecialTokens,
  type TextTokenizer,
  type TokenizerKind,
} from './text-tokenizer';

/** tokenizer_config.json (the keys read here); special_tokens_map.json has the same `<role>_token` keys. */
export interface TokenizerConfigJson {
  bos_token?: string | { content: string } | null;
  eos_token?: string | { content: string } | null;
  /** HF LlamaTokenizer(Fast) / GPTNeoXTokenizerFast: whether BOS / EOS are added with special tokens. */
  add_bos_token?: boolean;
  add_eos_token?: boolean;
  do_lower_case?: boolean;
  strip_accents?: boolean | null;
  tokenize_chinese_chars?: boolean;
  cls_token?: string | { content: string } | null;
  sep_token?: string | { content: string } | null;
  mask_token?: string | { content: string } | null;
  pad_token?: string | { content: string } | null;
  unk_token?: string | { content: string } | null;
  [key: string]: unknown;
}

const ROLES = ['cls', 'sep', 'mask', 'pad', 'unk'] as const;
type Role = (typeof ROLES)[number];
type CausalRole = 'bos' | 'eos' | 'pad' | 'unk';

function configToken(config: TokenizerConfigJson, role: Role | CausalRole): string | undefined {
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


type JsonRecord = Record<string, unknown>;
const isRecord = (v: unknown): v is JsonRecord => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The component and, for `Sequence`s, every component inside it (normalizers / pretokenizers / processors). */
function components(c: unknown): JsonRecord[] {
  if (!isRecord(c)) return [];
  const inner = [c.normalizers, c.pretokenizers, c.processors, c.decoders].find(Array.isArray) as unknown[] | undefined;
  return c.type === 'Sequence' && inner ? inner.flatMap(components) : [c];
}

const META = '\u2581'; // "▁"

/**
 * SentencePiece-style: text is "▁"-marked before the BPE, either by a `Prepend "▁"` (+ `Replace " " → "▁"`)
 * normalizer (Llama 2's tokenizer.json, legacy layout) or by a `Metaspace` pre-tokenizer (newer files: Mistral,
 * TinyLlama, Llama 2 re-saved).
 */
function isSentencePieceStyle(json: TokenizerJson): boolean {
  return (
    components(json.normalizer).some((n) => (n.type === 'Prepend' && n.prepend === META) || (n.type === 'Replace' && n.content === META)) ||
    components(json.pre_tokenizer).some((p) => p.type === 'Metaspace')
  );
}

function kindOf(json: TokenizerJson, source: string): TokenizerKind {
  const type = json.model?.type;
  if (type === 'WordPiece') return 'wordpiece';
  if (type === 'BPE') return isSentencePieceStyle(json) ? 'sentencepiece' : 'bpe';
  if (type === 'Unigram') {
    // SentencePiece Unigram (XLM-RoBERTa, ALBERT): "▁"-marked text, so its label words and continuations are the
    // sentencepiece kind's. tokenizers.js runs the Viterbi segmentation over the model's scores; it has no byte
    // fallback for Unigram, and an unknown character needs the model's unk_id.
    const model = json.model as Record<string, unknown>;
    if (!isSentencePieceStyle(json)) {
      throw new Error(`${source}: model type "Unigram" is not supported without "▁" word marking (a Metaspace `
        + 'pre-tokenizer or a "▁" normalizer); ntk-lens reads SentencePiece Unigram tokenizers that mark words with "▁" '
        + '(XLM-RoBERTa, ALBERT).');
    }
    if (model.byte_fallback === true) {
      throw new Error(`${source}: a Unigram model with byte_fallback is not supported (tokenizers.js would give the unknown `
        + 'token where the Rust library gives <0xNN> byte tokens).');
    }
    if (!Number.isInteger(model.unk_id) || !Array.isArray(model.vocab) || (model.unk_id as number) < 0 || (model.unk_id as number) >= model.vocab.length) {
      throw new Error(`${source}: the Unigram model needs "unk_id", the index of its unknown token in "vocab" (found ${JSON.stringify(model.unk_id)}).`);
    }
    return 'sentencepiece';
  }
  throw new Error(
    `${source}: model type ${JSON.stringify(type)} is not supported; ntk-lens reads BERT WordPiece, byte-level BPE ` +
      `(RoBERTa, GPT-2, Pythia, SmolLM, Qwen2, Llama 3), SentencePiece-style BPE (Llama 2, TinyLlama, Mistral) and ` +
      `SentencePiece Unigram (XLM-RoBERTa, ALBERT) tokenizers (model.type "WordPiece", "BPE" or "Unigram").`,
  );
}

/** Rebuild a normalizer / pre-tokenizer tree with `fn` applied to every non-Sequence component (null: drop it). */
function mapComponents(c: unknown, fn: (c: JsonRecord) => JsonRecord | null): JsonRecord | null {
  if (!isRecord(c)) return null;
  if (c.type === 'Sequence') {
    for (const key of ['normalizers', 'pretokenizers']) {
      if (Array.isArray(c[key])) {
        return { ...c, [key]: (c[key] as unknown[]).map((x) => mapComponents(x, fn)).filter((x): x is JsonRecord => x !== null) };
      }
    }
    return c;
  }
  return fn(c);
}

/**
 * tokenizers.js reads a Metaspace pre-tokenizer's `prepend_scheme` only; files written before tokenizers 0.14 say
 * `add_prefix_space` instead, which the Rust library maps to "always" / "never". Do the same.
 */
function withMetaspaceScheme(json: TokenizerJson): TokenizerJson {
  if (!components(json.pre_tokenizer).some((p) => p.type === 'Metaspace' && p.prepend_scheme === undefined && typeof p.add_prefix_space === 'boolean')) return json;
  const pre = mapComponents(json.pre_tokenizer, (p) =>
    p.type === 'Metaspace' && p.prepend_scheme === undefined && typeof p.add_prefix_space === 'boolean'
      ? { ...p, prepend_scheme: p.add_prefix_space ? 'always' : 'never' }
      : p,
  );
  return { ...json, pre_tokenizer: pre };
}

/** The same tokenizer without SentencePiece's dummy "▁" prefix (for text that continues other text). */
function withoutDummyPrefix(json: TokenizerJson): TokenizerJson {
  return {
    ...json,
    normalizer: mapComponents(json.normalizer, (n) => (n.type === 'Prepend' ? null : n)),
    pre_tokenizer: mapComponents(json.pre_tokenizer, (p) =>
      p.type === 'Metaspace' ? { ...p, prepend_scheme: 'never', add_prefix_space: false } : p,
    ),
  };
}

/** The special tokens tokenizer.json's post-processor puts before and after a single text. */
export function postProcessorSpecials(json: TokenizerJson): { before: string[]; after: string[] } {
  const before: string[] = [];
  const after: string[] = [];
  for (const p of components(json.post_processor)) {
    if (p.type === 'TemplateProcessing' && Array.isArray(p.single)) {
      let seenSequence = false;
      for (const item of p.single as unknown[]) {
        if (!isRecord(item)) continue;
        if (isRecord(item.Sequence)) seenSequence = true;
        else if (isRecord(item.SpecialToken) && typeof item.SpecialToken.id === 'string') (seenSequence ? after : before).push(item.SpecialToken.id);
      }
    } else if ((p.type === 'RobertaProcessing' || p.type === 'BertProcessing') && Array.isArray(p.cls) && Array.isArray(p.sep)) {
      before.push(String(p.cls[0]));
      after.push(String(p.sep[0]));
    }
  }
  return { before, after };
}

/**
 * Whether the tokenizer has a mask token: tokenizer_config's `mask_token` in the vocabulary, or `<mask>` / `[MASK]`
 * as a special token (`isSpecial`; default: in the vocabulary at all). A large BPE vocabulary may hold "<mask>" as
 * an ordinary merged string, which does not make it a masked LM's.
 */
export function hasMaskToken(has: (token: string) => boolean, config: TokenizerConfigJson, isSpecial: (token: string) => boolean = has): boolean {
  const named = configToken(config, 'mask');
  return (named !== undefined && has(named)) || [ROBERTA_SPECIAL_TOKENS.mask, BERT_SPECIAL_TOKENS.mask].some(isSpecial);
}

const BOS_SPELLINGS = ['<|begin_of_text|>', '<s>', '<|endoftext|>'];
const EOS_SPELLINGS = ['<|end_of_text|>', '</s>', '<|endoftext|>'];

export interface CausalTokens extends CausalTokenInfo {
  readonly bosId?: number;
  readonly eosId?: number;
  readonly padId: number;
}

/** The BOS/EOS/pad/unk ids of a causal-LM tokenizer, and whether it adds BOS/EOS (see the file comment). */
export function resolveCausalTokens(
  json: TokenizerJson,
  config: TokenizerConfigJson,
  idOf: (token: string) => number | undefined,
  source: string,
): CausalTokens {
  const specials = postProcessorSpecials(json);
  const named = (role: CausalRole): { present: boolean; id?: number } => {
    if (!Object.prototype.hasOwnProperty.call(config, `${role}_token`)) return { present: false };
    const token = configToken(config, role);
    return { present: true, id: token === undefined ? undefined : idOf(token) };
  };
  const firstKnown = (tokens: readonly string[]) => tokens.map(idOf).find((id) => id !== undefined);

  const bosNamed = named('bos');
  const bosId = bosNamed.present ? bosNamed.id : firstKnown([...specials.before, ...BOS_SPELLINGS]);
  const eosNamed = named('eos');
  const eosId = eosNamed.present ? eosNamed.id : firstKnown([...specials.after, ...EOS_SPELLINGS]);
  const unkNamed = named('unk');
  const modelUnk = json.model && typeof json.model.unk_token === 'string' ? json.model.unk_token : undefined;
  const unkId = unkNamed.present ? unkNamed.id : modelUnk === undefined ? undefined : idOf(modelUnk);
  const padNamed = named('pad').id;
  let padId: number;
  let padFrom: CausalTokenInfo['padFrom'];
  if (padNamed !== undefined) [padId, padFrom] = [padNamed, 'pad'];
  else if (eosId !== undefined) [padId, padFrom] = [eosId, 'eos'];
  else if (bosId !== undefined) [padId, padFrom] = [bosId, 'bos'];
  else {
    throw new Error(
      `${source}: this causal-LM tokenizer has no pad, EOS or BOS token to pad batches with. Name one as "pad_token" or ` +
        `"eos_token" in tokenizer_config.json.`,
    );
  }
  const addsBos = typeof config.add_bos_token === 'boolean' ? config.add_bos_token : specials.before.length > 0;
  const addsEos = typeof config.add_eos_token === 'boolean' ? config.add_eos_token : specials.after.length > 0;
  if (addsBos && bosId === undefined) {
    throw new Error(
      `${source}: the tokenizer adds a BOS token (add_bos_token / its post-processor) but has no BOS token in its vocabulary. ` +
        `Name it as "bos_token" in tokenizer_config.json.`,
    );
  }
  return { bosId, eosId, padId, unkId, addsBos, addsEos: addsEos && eosId !== undefined, padFrom };
}

export interface TokenizerFromJsonOptions {
  /**
   * true: a causal LM's tokenizer (no mask/cls/sep needed); false: a masked LM's (all five special tokens needed, as
   * before causal models); undefined: causal when it is a BPE tokenizer without a mask token.
   */
  causal?: boolean;
}

function buildLibrary(json: TokenizerJson, config: TokenizerConfigJson, source: string): HfTokenizer {
  try {
    return new hfLibrary.Tokenizer(json, config);
  } catch (e) {
    throw new Error(`${source}: could not build the tokenizer: ${(e as Error).message}`);
  }
}

/**
 * Wrap a tokenizer.json object (and its tokenizer_config.json, `{}` if none) as a `TextTokenizer`.
 * `source` names the file(s) in error messages.
 */
export function tokenizerFromJson(
  rawJson: TokenizerJson,
  config: TokenizerConfigJson,
  source: string,
  options: TokenizerFromJsonOptions = {},
): TextTokenizer {
  const kind = kindOf(rawJson, source);
  const json = withMetaspaceScheme(rawJson);
  const lib = buildLibrary(json, config, source);
  // SentencePiece: a second tokenizer without the dummy prefix encodes text that continues other text. Its leading
  // space is what marks a new word ("▁"), so it must not be trimmed: tokenizers.js applies tokenizer_config.json's
  // `remove_space` (ALBERT's, true: the slow tokenizer's strip before its dummy prefix) as a trim of the whole text,
  // which would turn " great" into "great" → g r eat instead of ▁great.
  const continuation = kind === 'sentencepiece' ? buildLibrary(withoutDummyPrefix(json), { ...config, remove_space: false }, source) : lib;
  const vocab = lib.get_vocab(true); // token → id, added tokens included
  let vocabSize = 0;
  for (const id of vocab.values()) vocabSize = Math.max(vocabSize, id + 1);
  const bertNormalizer = json.normalizer?.type === 'BertNormalizer' && json.normalizer.handle_chinese_chars !== false;
  const added = new Set((json.added_tokens ?? []).map((t) => t.content));
  const causal = options.causal ?? (kind !== 'wordpiece' && !hasMaskToken((t) => vocab.has(t), config, (t) => added.has(t)));
  const tokenToId = (token: string) => lib.token_to_id(token);
  const idToToken = (id: number) => lib.id_to_token(id);
  const decode = (idsToDecode: number[]): string => (idsToDecode.length === 0 ? '' : lib.decode(idsToDecode));

  if (!causal) {
    const special = resolveSpecialTokens((t) => vocab.has(t), kind === 'wordpiece' ? 'wordpiece' : 'bpe', config, source);
    const ids = Object.fromEntries(ROLES.map((r) => [r, vocab.get(special[r])!])) as Record<Role, number>;
    // The library maps a token missing from the vocabulary to the model's unk id, which is undefined for a BPE
    // without unk token; such a token becomes the unk id here rather than an undefined entry.
    const run = (l: HfTokenizer, text: string) => l.encode(bertNormalizer ? spaceAstralCjk(text) : text, { add_special_tokens: false }).ids.map((id) => id ?? ids.unk);
    return {
      kind,
      clsId: ids.cls,
      sepId: ids.sep,
      maskId: ids.mask,
      padId: ids.pad,
      unkId: ids.unk,
      vocabSize,
      encode: (text: string) => run(lib, text),
      encodeContinuation: (text: string) => run(continuation, text),
      tokenToId,
      idToToken,
      decode,
    };
  }

  const info = resolveCausalTokens(json, config, (t) => vocab.get(t), source);
  const none = (role: string): never => {
    throw new Error(
      `${source}: a causal-LM tokenizer has no ${role} token (this one has no mask token, so it was loaded as a causal ` +
        `LM's). Compile templates for it with { causal: true } (*cls* is its BOS where it adds one); its special ids ` +
        `are bosId, eosId and padId.`,
    );
  };
  const run = (l: HfTokenizer, text: string) =>
    l.encode(text, { add_special_tokens: false }).ids.map((id) => {
      if (id !== undefined) return id;
      if (info.unkId !== undefined) return info.unkId;
      throw new Error(`${source}: ${JSON.stringify(text)} has a character the vocabulary cannot represent, and the tokenizer has no unknown token.`);
    });
  const causalInfo: CausalTokenInfo = { addsBos: info.addsBos, addsEos: info.addsEos, unkId: info.unkId, padFrom: info.padFrom };
  return {
    kind,
    get clsId(): number { return none('CLS'); },
    get sepId(): number { return none('SEP'); },
    get maskId(): number { return none('mask'); },
    padId: info.padId,
    get unkId(): number { return info.unkId ?? none('unknown'); },
    bosId: info.bosId,
    eosId: info.eosId,
    causal: causalInfo,
    vocabSize,
    encode: (text: string) => run(lib, text),
    encodeContinuation: (text: string) => run(continuation, text),
    tokenToId,
    idToToken,
    decode,
  };
}
