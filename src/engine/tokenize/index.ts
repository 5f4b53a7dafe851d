export type { TextTokenizer, SpecialTokens, TokenizerKind, CausalTokenInfo, CausalTextTokenizer } from './text-tokenizer';
export { BERT_SPECIAL_TOKENS, ROBERTA_SPECIAL_TOKENS, isCausalTokenizer } from './text-tokenizer';
export { loadTokenizer, parseVocabTxt, parseMergesTxt, type LoadTokenizerOptions } from './load-tokenizer';
export {
  tokenizerFromJson,
  resolveCausalTokens,
  type TokenizerConfigJson,
  type TokenizerFromJsonOptions,
  type CausalTokens,
} from './hf-text-tokenizer';
export { bertWordPieceJson, byteLevelBpeJson, gpt2ByteLevelBpeJson, type TokenizerJson } from './tokenizer-json';
export { trainWordPiece, countWords, type WordPieceTrainerOptions } from './wordpiece-trainer';
