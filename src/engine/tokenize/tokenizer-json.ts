/**
 * The Hugging Face `tokenizer.json` format (the parts this project reads and writes), and builders that assemble one
 * in memory from the older file layouts: BERT's `vocab.txt` and RoBERTa's `vocab.json` + `merges.txt`.
 *
 * Assembling a tokenizer.json and handing it to `@huggingface/tokenizers` lets all three layouts share one
 * implementation of BERT's BasicTokenizer (BertNormalizer + BertPreTokenizer), WordPiece, the GPT-2 pre-split regex,
 * the byte-to-unicode map and rank-ordered BPE merges. The builders reproduce what `transformers`' slow-to-fast
 * converters (`BertConverter`, `RobertaConverter`) produce for the same files.
 */
import type { SpecialTokens } from './text-tokenizer';

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

export type TemplateItemJson =
  | { SpecialToken: { id: string; type_id: number } }
  | { Sequence: { id: 'A' | 'B'; type_id: number } };

export interface WordPieceModelJson {
  type: 'WordPiece';
  unk_token: string;
  continuing_subword_prefix: string;
  max_input_chars_per_word: number;
  vocab: Record<string, number>;
}

export interface BpeModelJson {
  type: 'BPE';
  dropout: null;
  unk_token: string | null;
  continuing_subword_prefix: string | null;
  end_of_word_suffix: string | null;
  fuse_unk: boolean;
  /** SentencePiece-style BPE (Llama 2): a symbol missing from the vocabulary becomes its UTF-8 bytes as <0xNN> tokens. */
  byte_fallback?: boolean;
  /** Llama 3: a pre-token that is itself a vocabulary entry is taken whole, before any merge. */
  ignore_merges?: boolean;
  vocab: Record<string, number>;
  /** "a b" strings (tokenizers < 0.20) or [a, b] pairs (newer files); rank = index. */
  merges: string[] | [string, string][];
}

/** SentencePiece Unigram (XLM-RoBERTa): pieces with their log-probability scores, in id order. */
export interface UnigramModelJson {
  type: 'Unigram';
  unk_id: number | null;
  vocab: [string, number][];
  byte_fallback?: boolean;
}

/** A `tokenizer.json` object. Unknown component shapes are kept as plain records. */
export interface TokenizerJson {
  version: string;
  truncation: null;
  padding: null;
  added_tokens: AddedTokenJson[];
  normalizer: Record<string, unknown> | null;
  pre_tokenizer: Record<string, unknown> | null;
  post_processor: Record<string, unknown> | null;
  decoder: Record<string, unknown> | null;
  model: WordPieceModelJson | BpeModelJson | ({ type?: string } & Record<string, unknown>); // Unigram: UnigramModelJson
}

function specialAdded(content: string, id: number, lstrip = false): AddedTokenJson {
  return { id, content, single_word: false, lstrip, rstrip: false, normalized: false, special: true };
}

/** BERT's `[CLS] A [SEP]` / `[CLS] A [SEP] B [SEP]` post-processor (type ids 0 then 1). */
export function bertTemplateProcessing(cls: [string, number], sep: [string, number]): Record<string, unknown> {
  const s = (token: string, typeId: number): TemplateItemJson => ({ SpecialToken: { id: token, type_id: typeId } });
  const q = (id: 'A' | 'B', typeId: number): TemplateItemJson => ({ Sequence: { id, type_id: typeId } });
  return {
    type: 'TemplateProcessing',
    single: [s(cls[0], 0), q('A', 0), s(sep[0], 0)],
    pair: [s(cls[0], 0), q('A', 0), s(sep[0], 0), q('B', 1), s(sep[0], 1)],
    special_tokens: {
      [cls[0]]: { id: cls[0], ids: [cls[1]], tokens: [cls[0]] },
      [sep[0]]: { id: sep[0], ids: [sep[1]], tokens: [sep[0]] },
    },
  };
}

export interface BertNormalizerOptions {
  /** `do_lower_case` (default true). */
  lowercase: boolean;
  /** null: follow `lowercase` (BERT's default). */
  stripAccents: boolean | null;
  /** Put spaces around CJK ideographs (default true). */
  handleChineseChars: boolean;
}

/**
 * tokenizer.json for a BERT WordPiece vocabulary: `vocab` lists the tokens in id order (the lines of vocab.txt).
 * The special tokens present in the vocabulary become added tokens, so "[MASK]" in text is the mask token, as in HF.
 */
export function bertWordPieceJson(vocab: readonly string[], special: SpecialTokens, norm: BertNormalizerOptions): TokenizerJson {
  const ids: Record<string, number> = Object.create(null) as Record<string, number>;
  vocab.forEach((token, id) => { if (!(token in ids)) ids[token] = id; });
  const added = Object.values(special)
    .filter((t) => t in ids)
    .map((t) => specialAdded(t, ids[t]))
    .sort((a, b) => a.id - b.id);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: norm.handleChineseChars,
      strip_accents: norm.stripAccents,
      lowercase: norm.lowercase,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: bertTemplateProcessing([special.cls, ids[special.cls] ?? 0], [special.sep, ids[special.sep] ?? 0]),
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: special.unk, continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: ids },
  };
}

/**
 * tokenizer.json for a RoBERTa / GPT-2 byte-level BPE (`vocab.json` token → id, `merges.txt` pairs in rank order).
 * As in roberta-base: ByteLevel pre-tokenizer without prefix space (GPT-2 regex split, bytes mapped to printable
 * unicode), merges applied by rank, `<mask>` strips the space on its left.
 *
 * One deliberate difference: roberta-base's model has `unk_token: null` (every byte is a token, so nothing is ever
 * unknown). Here `<unk>` is the model's unk token when the vocabulary has it, so a vocabulary that lacks some byte
 * symbols (tiny test vocabularies, pruned ones) gives `<unk>` instead of silently dropping characters.
 */
export function byteLevelBpeJson(vocab: Record<string, number>, merges: [string, string][], special: SpecialTokens): TokenizerJson {
  const added = Object.values(special)
    .filter((t) => Object.prototype.hasOwnProperty.call(vocab, t))
    .map((t) => specialAdded(t, vocab[t], t === special.mask))
    .sort((a, b) => a.id - b.id);
  const has = (t: string) => Object.prototype.hasOwnProperty.call(vocab, t);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: {
      type: 'RobertaProcessing',
      sep: [special.sep, has(special.sep) ? vocab[special.sep] : 0],
      cls: [special.cls, has(special.cls) ? vocab[special.cls] : 0],
      trim_offsets: true,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: has(special.unk) ? special.unk : null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      vocab,
      merges,
    },
  };
}

/**
 * tokenizer.json for a GPT-2 style byte-level BPE given as `vocab.json` + `merges.txt` (GPT-2, Pythia, SmolLM and
 * Qwen2 checkpoints carry these beside tokenizer.json): what `transformers`' `GPT2Converter` builds. ByteLevel
 * pre-tokenizer (GPT-2 regex, no prefix space), merges by rank, a ByteLevel post-processor that adds nothing, and the
 * given special tokens (those in the vocabulary) as added tokens. Like `byteLevelBpeJson`, `unk` (when given and in
 * the vocabulary) is the model's unknown token.
 */
export function gpt2ByteLevelBpeJson(
  vocab: Record<string, number>,
  merges: [string, string][],
  specials: readonly string[],
  unk?: string,
): TokenizerJson {
  const has = (t: string) => Object.prototype.hasOwnProperty.call(vocab, t);
  const added = [...new Set(specials)].filter(has).map((t) => specialAdded(t, vocab[t])).sort((a, b) => a.id - b.id);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: unk !== undefined && has(unk) ? unk : null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      vocab,
      merges,
    },
  };
}
