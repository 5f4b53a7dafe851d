/**
 * The tokenizer contract shared by the template compiler, the data loaders and the model (docs/architecture.md).
 *
 * `encode` is Hugging Face's `tokenizer.encode(text, add_special_tokens=False)`: no [CLS]/<s>, no [SEP]/</s>, and no
 * prefix space added (a RoBERTa sentence encoded as given starts with a word without the `Ġ` marker, exactly as in
 * LM-BFF's `enc`).
 */
export interface TextTokenizer {
  /** 'wordpiece' = BERT (uncased or cased), 'bpe' = RoBERTa / GPT-2 byte-level BPE. */
  readonly kind: 'wordpiece' | 'bpe';
  /** Token ids without special tokens and without an added prefix space. */
  encode(text: string): number[];
  /** The id of one vocabulary entry, looked up raw (no normalisation, no byte-level mapping). */
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  readonly clsId: number;
  readonly sepId: number;
  readonly maskId: number;
  readonly padId: number;
  readonly unkId: number;
  /** Largest id + 1 (the model's embedding rows must be at least this many). */
  readonly vocabSize: number;
  /** Text of the ids (special tokens kept), for display. */
  decode(ids: number[]): string;
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
