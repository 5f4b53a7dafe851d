/**
 * `loadTokenizer(dir, { causal? })`: the tokenizer of a checkpoint folder, from whichever layout the folder holds:
 *   1. `tokenizer.json` (+ `tokenizer_config.json`), read by tokenizers.js as is (BERT, RoBERTa, XLM-RoBERTa's
 *      SentencePiece Unigram, and the causal
 *      LMs' byte-level BPE — GPT-2, Pythia, SmolLM, Qwen2, Llama 3 — and SentencePiece-style BPE — Llama 2,
 *      TinyLlama, Mistral);
 *   2. `vocab.txt` (+ `tokenizer_config.json`: `do_lower_case`, default true) → BERT WordPiece;
 *   3. `vocab.json` + `merges.txt` → RoBERTa byte-level BPE, or GPT-2's when there is no mask token (or `causal`).
 * Layouts 2 and 3 are turned into the tokenizer.json that `transformers` would build for them (tokenizer-json.ts).
 * `special_tokens_map.json`, when present, supplies the `<role>_token` keys that tokenizer_config.json lacks.
 * `causal`: see `TokenizerFromJsonOptions` (undefined: a BPE tokenizer without a mask token is a causal LM's).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { BERT_SPECIAL_TOKENS, ROBERTA_SPECIAL_TOKENS, type TextTokenizer } from './text-tokenizer';
import { bertWordPieceJson, byteLevelBpeJson, gpt2ByteLevelBpeJson, type TokenizerJson } from './tokenizer-json';
import {
  hasMaskToken,
  resolveSpecialTokens,
  tokenizerFromJson,
  type TokenizerConfigJson,
  type TokenizerFromJsonOptions,
} from './hf-text-tokenizer';

async function exists(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

async function readJson<T>(file: string): Promise<T> {
  const text = await fs.readFile(file, 'utf8');
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message}). Re-download the file from the model repository.`);
  }
}

/** The lines of vocab.txt in id order (only the line break is removed, as in BERT's `load_vocab`). */
export function parseVocabTxt(text: string): string[] {
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** merges.txt → [left, right] pairs in rank order; the `#version` header and blank lines are skipped. */
export function parseMergesTxt(text: string, file: string): [string, string][] {
  const merges: [string, string][] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '' || line.startsWith('#version')) return;
    const parts = line.split(' ');
    if (parts.length !== 2 || parts[0] === '' || parts[1] === '') {
      throw new Error(`${file}:${i + 1}: a merge is two symbols separated by one space, got ${JSON.stringify(line)}.`);
    }
    merges.push([parts[0], parts[1]]);
  });
  return merges;
}

/** The `<role>_token` keys and the additional special tokens of special_tokens_map.json (nothing else). */
function specialTokenKeys(map: Record<string, unknown>): TokenizerConfigJson {
  return Object.fromEntries(Object.entries(map).filter(([k]) => k.endsWith('_token') || k === 'additional_special_tokens'));
}

export type LoadTokenizerOptions = TokenizerFromJsonOptions;

export async function loadTokenizer(dir: string, options: LoadTokenizerOptions = {}): Promise<TextTokenizer> {
  const at = (name: string) => path.join(dir, name);
  const configFile = at('tokenizer_config.json');
  const mapFile = at('special_tokens_map.json');
  const ownConfig: TokenizerConfigJson = (await exists(configFile)) ? await readJson<TokenizerConfigJson>(configFile) : {};
  const map = (await exists(mapFile)) ? specialTokenKeys(await readJson<Record<string, unknown>>(mapFile)) : {};
  const config: TokenizerConfigJson = { ...map, ...ownConfig }; // tokenizer_config.json wins, as in transformers

  if (await exists(at('tokenizer.json'))) {
    const json = await readJson<TokenizerJson>(at('tokenizer.json'));
    return tokenizerFromJson(json, config, at('tokenizer.json'), options);
  }

  if (await exists(at('vocab.txt'))) {
    const vocab = parseVocabTxt(await fs.readFile(at('vocab.txt'), 'utf8'));
    const set = new Set(vocab);
    const special = resolveSpecialTokens((t) => set.has(t), 'wordpiece', config, at('vocab.txt'));
    const json = bertWordPieceJson(vocab, special, {
      lowercase: config.do_lower_case ?? true,
      stripAccents: config.strip_accents ?? null,
      handleChineseChars: config.tokenize_chinese_chars ?? true,
    });
    return tokenizerFromJson(json, config, at('vocab.txt'), { causal: false });
  }

  const hasVocabJson = await exists(at('vocab.json'));
  const hasMerges = await exists(at('merges.txt'));
  if (hasVocabJson && hasMerges) {
    const vocab = await readJson<Record<string, number>>(at('vocab.json'));
    const merges = parseMergesTxt(await fs.readFile(at('merges.txt'), 'utf8'), at('merges.txt'));
    const has = (t: string) => Object.prototype.hasOwnProperty.call(vocab, t);
    const source = `${at('vocab.json')} + merges.txt`;
    if (options.causal ?? !hasMaskToken(has, config)) {
      // GPT-2 layout: its special tokens are the named ones and <|endoftext|> (GPT2Tokenizer's default for all three).
      const named = (['bos_token', 'eos_token', 'unk_token', 'pad_token'] as const)
        .map((k) => config[k])
        .map((v) => (typeof v === 'string' ? v : v && typeof v === 'object' ? v.content : undefined))
        .filter((t): t is string => t !== undefined);
      const unk = typeof config.unk_token === 'string' ? config.unk_token : config.unk_token?.content;
      const json = gpt2ByteLevelBpeJson(vocab, merges, [...named, '<|endoftext|>'], unk);
      return tokenizerFromJson(json, config, source, { causal: true });
    }
    const special = resolveSpecialTokens(has, 'bpe', config, at('vocab.json'));
    return tokenizerFromJson(byteLevelBpeJson(vocab, merges, special), config, source, { causal: false });
  }

  if (await exists(at('sentencepiece.bpe.model')) || await exists(at('spiece.model'))) {
    throw new Error(
      `No tokenizer.json in ${dir}, only a SentencePiece model file: ntk-lens reads SentencePiece (XLM-RoBERTa) ` +
        `tokenizers from tokenizer.json. Copy tokenizer.json from the model repository, or write it once in Python: ` +
        `python -c "from transformers import AutoTokenizer as T; T.from_pretrained('${dir}').save_pretrained('${dir}')"`,
    );
  }
  const partial = hasVocabJson ? ' (vocab.json is there but merges.txt is missing)' : hasMerges ? ' (merges.txt is there but vocab.json is missing)' : '';
  throw new Error(
    `No tokenizer in ${dir}${partial}: looked for tokenizer.json, vocab.txt (BERT WordPiece, with optional ` +
      `tokenizer_config.json), and vocab.json + merges.txt (RoBERTa / GPT-2 byte-level BPE). Copy the tokenizer files of the ` +
      `checkpoint into this folder.`,
  );
}
