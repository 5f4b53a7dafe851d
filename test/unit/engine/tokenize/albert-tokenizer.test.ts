/**
 * ALBERT's tokenizer: a SentencePiece Unigram tokenizer.json as transformers' AlbertConverter writes it (normalizers
 * `` and '' → ", NFKD, StripAccents, Lowercase, Precompiled, runs of spaces → one; a Metaspace pre-tokenizer; the
 * post-processor [CLS] $A [SEP]), with <pad> <unk> [CLS] [SEP] [MASK] as ids 0-4 and [MASK] stripping the space on its
 * left, loaded through tokenizers.js. Every expected id below is worked out by hand from the scores (Viterbi: the
 * segmentation with the largest sum) after lowercasing.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compilePrompt } from '../../../../src/engine/template/compile-prompt';
import { labelWordIds } from '../../../../src/engine/template/label-words';
import { loadTokenizer, type TextTokenizer, type TokenizerJson } from '../../../../src/engine/tokenize';

/** id: [piece, score] */
const PIECES: [string, number][] = [
  ['<pad>', 0], ['<unk>', 0], ['[CLS]', 0], ['[SEP]', 0], ['[MASK]', 0], // 0-4
  ['▁', -3], ['▁great', -4], ['▁terrible', -5], ['▁it', -4.5], ['▁was', -4.5], ['.', -2], // 5-10
  ['▁movie', -5.5], ['s', -4], ['▁the', -3.5], ['▁un', -3], ['able', -3], ['▁unab', -10], ['le', -2], // 11-17
  ['▁creme', -6], ['a', -5], ['e', -5], ['g', -6], ['r', -6], ['t', -5], ['▁gr', -6], ['eat', -6], // 18-25
  ['"', -4], // 26
];

const special = (id: number, content: string, lstrip = false) => ({ id, content, single_word: false, lstrip, rstrip: false, normalized: false, special: true });

/** tokenizer.json as transformers' AlbertConverter writes it (do_lower_case, keep_accents false). */
const albertJson: TokenizerJson = {
  version: '1.0',
  truncation: null,
  padding: null,
  added_tokens: [special(0, '<pad>'), special(1, '<unk>'), special(2, '[CLS]'), special(3, '[SEP]'), special(4, '[MASK]', true)],
  normalizer: {
    type: 'Sequence',
    normalizers: [
      { type: 'Replace', pattern: { String: '``' }, content: '"' },
      { type: 'Replace', pattern: { String: "''" }, content: '"' },
      { type: 'NFKD' },
      { type: 'StripAccents' },
      { type: 'Lowercase' },
      { type: 'Precompiled', precompiled_charsmap: 'ALQCAACEAAAA' },
      { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' },
    ],
  },
  pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
  post_processor: {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
    pair: [
      { SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } },
      { Sequence: { id: 'B', type_id: 1 } }, { SpecialToken: { id: '[SEP]', type_id: 1 } },
    ],
    special_tokens: { '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] } },
  },
  decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
  model: { type: 'Unigram', unk_id: 1, vocab: PIECES, byte_fallback: false },
};

/** tokenizer_config.json of albert-base-v2 (the keys that matter here). */
const tokenizerConfig = {
  do_lower_case: true, keep_accents: false, remove_space: true, bos_token: '[CLS]', eos_token: '[SEP]', unk_token: '<unk>',
  sep_token: '[SEP]', pad_token: '<pad>', cls_token: '[CLS]',
  mask_token: { content: '[MASK]', lstrip: true, normalized: false, rstrip: false, single_word: false, __type: 'AddedToken' },
  model_max_length: 512, tokenizer_class: 'AlbertTokenizer',
};

describe('tokenize: ALBERT SentencePiece Unigram tokenizer.json (lowercasing, "▁" word prefix, [CLS] [SEP] [MASK])', () => {
  const dirs: string[] = [];
  const load = async (withConfig: boolean): Promise<TextTokenizer> => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-lens-albert-tok-'));
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(albertJson));
    if (withConfig) fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
    return loadTokenizer(dir);
  };
  let tok: TextTokenizer;
  before(async () => { tok = await load(true); });
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('loads as a masked LM\'s sentencepiece tokenizer: [CLS] 2, [SEP] 3, [MASK] 4, <pad> 0, <unk> 1 (with or without tokenizer_config.json)', async () => {
    assert.equal(tok.kind, 'sentencepiece');
    assert.equal(tok.causal, undefined);
    assert.deepEqual([tok.clsId, tok.sepId, tok.maskId, tok.padId, tok.unkId], [2, 3, 4, 0, 1]);
    assert.equal(tok.vocabSize, 27);
    const bare = await load(false); // the special tokens found by their spellings in the vocabulary
    assert.deepEqual([bare.clsId, bare.sepId, bare.maskId, bare.padId, bare.unkId], [2, 3, 4, 0, 1]);
  });

  it('lowercases, strips accents and marks words with "▁" before the best-score segmentation', () => {
    assert.deepEqual(tok.encode('It was GREAT.'), [8, 9, 6, 10]); // ▁it ▁was ▁great . (▁great + . = −6 beats ▁gr eat . = −14)
    assert.deepEqual(tok.encode('unable'), [14, 15]); // ▁un able (−6), not ▁unab le (−12)
    assert.deepEqual(tok.encode('Crème'), [18]); // NFKD + StripAccents + Lowercase → ▁creme
    assert.deepEqual(tok.encode('The  movies'), [13, 11, 12]); // runs of spaces become one; ▁movie s
    assert.deepEqual(tok.encode('it was [MASK]'), [8, 9, 4]); // [MASK] takes the space before it
  });

  it('label words are the "▁" tokens of " word", lowercased: great → ▁great, Terrible → ▁terrible', () => {
    assert.deepEqual(tok.encodeContinuation(' great'), [6]);
    assert.deepEqual(labelWordIds(tok, ['terrible', 'great']), [7, 6]);
    assert.deepEqual(labelWordIds(tok, ['Terrible', 'GREAT']), [7, 6]);
  });

  it('compiles an LM-BFF prompt: [CLS] sentence _It_was [MASK] . [SEP] with hand-worked ids', () => {
    const p = compilePrompt('*cls**sent_0*_It_was*mask*.*sep+*', tok, { textA: 'The movie' }, { maxLength: 32 });
    assert.deepEqual(p.inputIds, [2, 13, 11, 8, 9, 4, 10, 3]);
    assert.deepEqual(p.tokenTypeIds, [0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(p.maskPos, 5);
  });
});
