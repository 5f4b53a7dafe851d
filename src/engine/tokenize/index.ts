export type { TextTokenizer, SpecialTokens } from './text-tokenizer';
export { BERT_SPECIAL_TOKENS, ROBERTA_SPECIAL_TOKENS } from './text-tokenizer';
export { loadTokenizer, parseVocabTxt, parseMergesTxt } from './load-tokenizer';
export { tokenizerFromJson, type TokenizerConfigJson } from './hf-text-tokenizer';
export { bertWordPieceJson, byteLevelBpeJson, type TokenizerJson } from './tokenizer-json';
export { trainWordPiece, countWords, type WordPieceTrainerOptions } from './wordpiece-trainer';
