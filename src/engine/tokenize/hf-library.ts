/**
 * The parts of `@huggingface/tokenizers` (tokenizers.js 0.2) used here, typed locally.
 *
 * The package is an ES module with a CommonJS build (exports condition "require"). Its .d.ts files use
 * extensionless relative imports, which TypeScript cannot follow under node16 resolution from a CommonJS file, so
 * the few members used are declared here and the CommonJS build is loaded with `require`.
 */
export interface HfEncoding {
  ids: number[];
  tokens: string[];
}

export interface HfTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): HfEncoding;
  decode(ids: number[], options?: { skip_special_tokens?: boolean }): string;
  token_to_id(token: string): number | undefined;
  id_to_token(id: number): string | undefined;
  /** token → id, added tokens included when the flag is true. */
  get_vocab(withAddedTokens?: boolean): Map<string, number>;
}

export interface HfLibrary {
  Tokenizer: new (tokenizerJson: object, tokenizerConfig: object) => HfTokenizer;
  BertNormalizer: new (config: object) => { normalize(text: string): string };
  BertPreTokenizer: new () => { pre_tokenize_text(text: string): string[] };
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const hfLibrary: HfLibrary = require('@huggingface/tokenizers') as HfLibrary;
