/**
 * Tiny tokenizer.json files of the causal-LM families, written to temporary folders by the tests: GPT-2 (also the
 * layout of Pythia, SmolLM, Qwen2), Llama 3 (Split regex + ByteLevel, ignore_merges, BOS by the post-processor) and
 * SentencePiece-style BPE (Llama 2's legacy Prepend normalizer, or the Metaspace pre-tokenizer of Mistral /
 * TinyLlama, with <0xNN> byte fallback). Every id is fixed by hand; the tests' expected ids are worked out from these
 * tables (merged symbols get the id 40 + merge rank, or 300 + rank for SentencePiece).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { tempDir } from './tiny-vocabs';

/** Byte-level symbols 0–39 (printable ASCII is itself, the space byte is "Ġ", "é" = C3 A9 is "Ã" "©"). */
export const BYTE_BASE: string[] = [
  '.', ',', '?', ':', "'", 'I', 'T', 'M', 'a', 'b', //   0–9
  'c', 'd', 'e', 'f', 'g', 'h', 'i', 'l', 'm', 'o', //   10–19
  'r', 's', 't', 'w', 'Ġ', 'Ã', '©', '1', '2', '3', //   20–29
  '4', '5', 'A', 'y', 'u', 'v', 'n', 'p', 'k', 'W', //   30–39
];

/** GPT-2 merges in rank order (rank r makes id 40 + r); <|endoftext|> is 61. */
export const GPT2_MERGES: [string, string][] = [
  ['Ġ', 't'], ['h', 'e'], ['Ġ', 'w'], ['a', 's'], ['Ġw', 'as'], //       0–4:   40 Ġt 41 he 42 Ġw 43 as 44 Ġwas
  ['Ġ', 'I'], ['ĠI', 't'], ['Ġ', 'g'], ['r', 'e'], ['a', 't'], //        5–9:   45 ĠI 46 ĠIt 47 Ġg 48 re 49 at
  ['Ġg', 're'], ['Ġgre', 'at'], ['T', 'he'], ['Ġ', 'f'], ['i', 'l'], //  10–14: 50 Ġgre 51 Ġgreat 52 The 53 Ġf 54 il
  ['Ġf', 'il'], ['Ġfil', 'm'], ['Ã', '©'], ['Ġ', 'b'], ['a', 'd'], //    15–19: 55 Ġfil 56 Ġfilm 57 Ã© 58 Ġb 59 ad
  ['Ġb', 'ad'], //                                                       20:    60 Ġbad
];
export const GPT2_EOT = 61;

/** Llama 3 merges in rank order (rank r makes id 40 + r); then Ġdogs 64 (no merges lead to it), BOS 65, EOS 66. */
export const LLAMA3_MERGES: [string, string][] = [
  ["'", 'm'], ["'", 'M'], ['1', '2'], ['3', '4'], ['12', '3'], //       0–4:   40 'm 41 'M 42 12 43 34 44 123
  ['4', '5'], ['Ġ', 'c'], ['a', 't'], ['Ġc', 'at'], ['Ġ', 'I'], //      5–9:   45 45 46 Ġc 47 at 48 Ġcat 49 ĠI
  ['ĠI', 't'], ['Ġ', 'w'], ['a', 's'], ['Ġw', 'as'], ['Ġ', 'g'], //     10–14: 50 ĠIt 51 Ġw 52 as 53 Ġwas 54 Ġg
  ['r', 'e'], ['Ġg', 're'], ['Ġgre', 'at'], ['h', 'e'], ['T', 'he'], // 15–19: 55 re 56 Ġgre 57 Ġgreat 58 he 59 The
  ['Ġ', 'f'], ['i', 'l'], ['Ġf', 'il'], ['Ġfil', 'm'], //               20–23: 60 Ġf 61 il 62 Ġfil 63 Ġfilm
];
export const LLAMA3_DOGS = 64;
export const LLAMA3_BOS = 65;
export const LLAMA3_EOS = 66;

/** Llama 3's pre-tokenizer regex, as in its tokenizer.json. */
export const LLAMA3_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/**
 * SentencePiece-style vocabulary (Llama 2 layout): <unk> 0, <s> 1, </s> 2, <0x00>…<0xFF> 3–258 (byte b is 3 + b:
 * <0xC3> 198, <0xA9> 172, as in Llama 2), the symbols below from 259, merged symbols 300 + rank.
 */
export const SP_BASE: string[] = [
  '▁', 'T', 'h', 'e', 'm', 'o', 'v', 'i', 'w', 'a', //   259–268
  's', 'g', 'r', 't', '.', 'I', 'c', 'f', ':', 'b', //   269–278
  'd', 'l', 'n', 'u', 'p', '?', 'y', 'k', 'x', 'z', //   279–288
  'j', 'q', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', //   289–298
  'N', //                                                299
];

export const SP_MERGES: [string, string][] = [
  ['▁', 'T'], ['h', 'e'], ['▁T', 'he'], ['▁', 'm'], ['o', 'v'], //      0–4:   300 ▁T 301 he 302 ▁The 303 ▁m 304 ov
  ['▁m', 'ov'], ['i', 'e'], ['▁mov', 'ie'], ['▁', 'w'], ['a', 's'], //  5–9:   305 ▁mov 306 ie 307 ▁movie 308 ▁w 309 as
  ['▁w', 'as'], ['▁', 'g'], ['r', 'e'], ['a', 't'], ['▁g', 're'], //    10–14: 310 ▁was 311 ▁g 312 re 313 at 314 ▁gre
  ['▁gre', 'at'], ['▁', 'I'], ['▁I', 't'], ['c', 'a'], ['▁', 'ca'], //  15–19: 315 ▁great 316 ▁I 317 ▁It 318 ca 319 ▁ca
  ['▁ca', 'f'], ['▁', 'b'], ['a', 'd'], ['▁b', 'ad'], //                20–23: 320 ▁caf 321 ▁b 322 ad 323 ▁bad
];

const added = (content: string, id: number, normalized = false) => ({
  id, content, single_word: false, lstrip: false, rstrip: false, normalized, special: true,
});

function byteVocab(merges: [string, string][]): Record<string, number> {
  const vocab: Record<string, number> = {};
  BYTE_BASE.forEach((s, i) => { vocab[s] = i; });
  merges.forEach(([a, b], r) => { vocab[a + b] = 40 + r; });
  return vocab;
}

export function gpt2Vocab(): Record<string, number> {
  return { ...byteVocab(GPT2_MERGES), '<|endoftext|>': GPT2_EOT };
}

const bpeModel = (vocab: Record<string, number>, merges: [string, string][], extra: object = {}) => ({
  type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false,
  byte_fallback: false, ...extra, vocab, merges: merges.map(([a, b]) => `${a} ${b}`),
});

/** gpt2's tokenizer.json layout: ByteLevel pre-tokenizer, ByteLevel post-processor (adds nothing), unk_token null. */
export function gpt2TokenizerJson(): object {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [added('<|endoftext|>', GPT2_EOT, true)],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: bpeModel(gpt2Vocab(), GPT2_MERGES),
  };
}

/** Llama 3's layout: Split(regex) + ByteLevel(no regex), ignore_merges, post-processor ByteLevel + BOS template. */
export function llama3TokenizerJson(opts: { ignoreMerges?: boolean; gpt2Regex?: boolean } = {}): object {
  const vocab = { ...byteVocab(LLAMA3_MERGES), 'Ġdogs': LLAMA3_DOGS, '<|begin_of_text|>': LLAMA3_BOS, '<|end_of_text|>': LLAMA3_EOS };
  const bos = { SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [added('<|begin_of_text|>', LLAMA3_BOS), added('<|end_of_text|>', LLAMA3_EOS)],
    normalizer: null,
    pre_tokenizer: opts.gpt2Regex
      ? { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true }
      : {
          type: 'Sequence',
          pretokenizers: [
            { type: 'Split', pattern: { Regex: LLAMA3_PATTERN }, behavior: 'Isolated', invert: false },
            { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
          ],
        },
    post_processor: {
      type: 'Sequence',
      processors: [
        { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
        {
          type: 'TemplateProcessing',
          single: [bos, { Sequence: { id: 'A', type_id: 0 } }],
          pair: [bos, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<|begin_of_text|>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
          special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [LLAMA3_BOS], tokens: ['<|begin_of_text|>'] } },
        },
      ],
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: bpeModel(vocab, LLAMA3_MERGES, { ignore_merges: opts.ignoreMerges ?? true }),
  };
}

export function spVocab(): Record<string, number> {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
  SP_BASE.forEach((s, i) => { vocab[s] = 259 + i; });
  SP_MERGES.forEach(([a, b], r) => { vocab[a + b] = 300 + r; });
  return vocab;
}

/**
 * SentencePiece-style BPE tokenizer.json. 'legacy': Llama 2's (normalizer Prepend "▁" + Replace " " → "▁", no
 * pre-tokenizer); 'metaspace': Mistral / TinyLlama / re-saved Llama 2 (Metaspace pre-tokenizer, prepend_scheme "first").
 */
export function sentencePieceTokenizerJson(style: 'legacy' | 'metaspace'): object {
  const bos = { SpecialToken: { id: '<s>', type_id: 0 } };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [added('<unk>', 0), added('<s>', 1), added('</s>', 2)],
    normalizer: style === 'legacy'
      ? { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] }
      : null,
    pre_tokenizer: style === 'metaspace' ? { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false } : null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [bos, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [bos, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '<s>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } }],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: true, byte_fallback: true, vocab: spVocab(), merges: SP_MERGES,
    },
  };
}

/** A folder with tokenizer.json and, when given, tokenizer_config.json and special_tokens_map.json. */
export function writeTokenizerDir(json: object, config?: object, specialTokensMap?: object): string {
  const dir = tempDir('causal-tokenizer');
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(json));
  if (config) fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  if (specialTokensMap) fs.writeFileSync(path.join(dir, 'special_tokens_map.json'), JSON.stringify(specialTokensMap));
  return dir;
}

const addedTokenConfig = (content: string) => ({ __type: 'AddedToken', content, lstrip: false, normalized: false, rstrip: false, single_word: false });

/** Llama 2's tokenizer_config.json (AddedToken objects, add_bos_token true, pad_token null). */
export const LLAMA2_CONFIG = {
  add_bos_token: true,
  add_eos_token: false,
  bos_token: addedTokenConfig('<s>'),
  eos_token: addedTokenConfig('</s>'),
  unk_token: addedTokenConfig('<unk>'),
  pad_token: null,
  legacy: false,
  clean_up_tokenization_spaces: false,
  model_max_length: 1000000000000000019884624838656,
  tokenizer_class: 'LlamaTokenizer',
};

/** Llama 3's tokenizer_config.json (no add_bos_token: the post-processor adds BOS). */
export const LLAMA3_CONFIG = {
  bos_token: '<|begin_of_text|>',
  eos_token: '<|end_of_text|>',
  clean_up_tokenization_spaces: true,
  model_max_length: 131072,
  tokenizer_class: 'PreTrainedTokenizerFast',
};

export const writeGpt2Dir = (config: object = { model_max_length: 1024 }) => writeTokenizerDir(gpt2TokenizerJson(), config);
export const writeLlama3Dir = () => writeTokenizerDir(llama3TokenizerJson(), LLAMA3_CONFIG);
export const writeLlama2Dir = () => writeTokenizerDir(sentencePieceTokenizerJson('legacy'), LLAMA2_CONFIG);
/** Mistral style: Metaspace, tokenizer_config.json without the token names, special_tokens_map.json with them. */
export const writeMistralDir = () =>
  writeTokenizerDir(
    sentencePieceTokenizerJson('metaspace'),
    { add_bos_token: true, add_eos_token: false, tokenizer_class: 'LlamaTokenizer' },
    { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' },
  );
