/**
 * The tokenizer contract shared by the template compiler, the data loaders and the model (docs/architecture.md).
 *
 * `encode` is Hugging Face's `tokenizer.encode(text, add_special_tokens=False)`: no [CLS]/<s>, no [SEP]/</s>, and no
 * prefix space added (a RoBERTa sentence encoded as given starts with a word without the `Ġ` marker, exactly as in
 * LM-BFF's `enc`). The one exception is HF's own: a SentencePiece-style tokenizer (Llama 2, TinyLlama, Mistral)
 * marks the start of every text with its "▁" word marker ("great" → ▁great), as `encode` does in Python; text that
 * continues other text is encoded with `encodeContinuation`, which leaves that dummy prefix out.
 *
 * Two sorts of tokenizer load:
 * - masked-LM tokenizers (BERT WordPiece, RoBERTa byte-level BPE, XLM-RoBERTa SentencePiece Unigram): `causal` is undefined and the five special ids
 *   `clsId sepId maskId padId unkId` are all real vocabulary ids;
 * - causal-LM tokenizers (GPT-2, Pythia/GPT-NeoX, SmolLM, Qwen2, Llama 2/3, TinyLlama, Mistral): they have no mask
 *   token and usually no [CLS]/[SEP]. `causal` describes them (`CausalTokenInfo`), `bosId`/`eosId` are set where the
 *   tokenizer defines them, `padId` is the pad token or, without one, the EOS id (what HF users set:
 *   `tokenizer.pad_token = tokenizer.eos_token`; a causal model never attends to right padding, so any id works).
 *   Reading `clsId`, `sepId` or `maskId` (or `unkId` when the vocabulary has no unknown token) of a causal tokenizer
 *   throws an Error that says so, instead of handing out an id that is not that token: code written for masked LMs
 *   keeps compiling and fails loudly, never silently, when given a causal tokenizer.
 */
export type TokenizerKind = 'wordpiece' | 'bpe' | 'sentencepiece';

/** What a causal-LM tokenizer adds around a text, and which of its special tokens exist. */
export interface CausalTokenInfo {
  /**
   * Whether HF's tokenizer puts BOS in front of a text (`add_special_tokens=True`): tokenizer_config.json
   * `add_bos_token` when it is a boolean, else whether tokenizer.json's post-processor adds a special token before
   * the text. Llama 2/3, TinyLlama, Mistral: true; GPT-2, Pythia, SmolLM, Qwen2: false. A template's `*cls*` is the
   * BOS token exactly when this is true (nothing otherwise).
   */
  readonly addsBos: boolean;
  /** Whether HF's tokenizer appends EOS to a text (`add_eos_token`, or the post-processor); informational. */
  readonly addsEos: boolean;
  /** The unknown token's id, when the tokenizer has one (Llama 2 `<unk>`, GPT-2 `<|endoftext|>`; none for Llama 3, Qwen2). */
  readonly unkId?: number;
  /** Where `padId` comes from: the tokenizer's pad token, or (without one) its EOS, or (without EOS either) its BOS. */
  readonly padFrom: 'pad' | 'eos' | 'bos';
}

export interface TextTokenizer {
  /**
   * 'wordpiece' = BERT (uncased or cased); 'bpe' = byte-level BPE (RoBERTa, GPT-2, Pythia, SmolLM, Qwen2, Llama 3);
   * 'sentencepiece' = SentencePiece-style BPE over "▁"-marked text with byte fallback (Llama 2, TinyLlama, Mistral),
   * or SentencePiece Unigram over "▁"-marked text (XLM-RoBERTa, a masked LM: its label word " great" is ▁great).
   */
  readonly kind: TokenizerKind;
  /** Token ids without special tokens and without an added prefix space (SentencePiece: with its "▁" dummy prefix). */
  encode(text: string): number[];
  /**
   * Token ids of `text` as it is tokenised when it follows other text: a leading space is the word's own space,
   * and no marker is added otherwise. Same as `encode` except for 'sentencepiece', where `encode` adds the "▁"
   * dummy prefix and this does not (" great" → ▁great, "great" → g…, whereas `encode(" great")` may give ▁ ▁great).
   */
  encodeContinuation(text: string): number[];
  /** The id of one vocabulary entry, looked up raw (no normalisation, no byte-level mapping). */
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** Masked LMs only (a causal tokenizer throws on read). */
  readonly clsId: number;
  /** Masked LMs only (a causal tokenizer throws on read). */
  readonly sepId: number;
  /** Masked LMs only (a causal tokenizer throws on read). */
  readonly maskId: number;
  /** The pad token; for a causal tokenizer without one, its EOS (see `CausalTokenInfo.padFrom`). */
  readonly padId: number;
  /** The unknown token (a causal tokenizer without one throws on read; use `causal.unkId`). */
  readonly unkId: number;
  /** Beginning-of-sequence token, where a causal tokenizer defines one (undefined for masked-LM tokenizers). */
  readonly bosId?: number;
  /** End-of-sequence token, where a causal tokenizer defines one (undefined for masked-LM tokenizers). */
  readonly eosId?: number;
  /** Set for a causal-LM tokenizer (no mask token); undefined for masked-LM tokenizers. */
  readonly causal?: CausalTokenInfo;
  /** Largest id + 1 (the model's embedding rows must be at least this many). */
  readonly vocabSize: number;
  /** Text of the ids (special tokens kept), for display. */
  decode(ids: number[]): string;
}

/** A causal-LM tokenizer (`causal` set). */
export type CausalTextTokenizer = TextTokenizer & { readonly causal: CausalTokenInfo };

export function isCausalTokenizer(tokenizer: TextTokenizer): tokenizer is CausalTextTokenizer {
  return tokenizer.causal !== undefined;
}

/** The five special tokens by role. */
export interface SpecialTokens {
  cls: string;
  sep: string;
  mask: string;
  pad: string;
  unk: string;
}

export const BERT_SPECIAL_TOKENS: SpecialTokens = { cls: '[CLS]', sep: '[SEP]', mask: '[MASK]', pad: '[PAD]', unk: '[UNK]' };
export const ROBERTA_SPECIAL_TOKENS: SpecialTokens = { cls: '<s>', sep: '</s>', mask: '<mask>', pad: '<pad>', unk: '<unk>' };
