/**
 * XLM-RoBERTa's tokenizer: a SentencePiece Unigram tokenizer.json (Precompiled normalizer, Metaspace pre-tokenizer,
 * <s> <pad> </s> <unk> first and <mask> last, <mask> stripping the space on its left), loaded through tokenizers.js.
 * Every expected id below is worked out by hand from the scores (Viterbi: the segmentation with the largest sum).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compilePrompt } from '../../../../src/engine/template/compile-prompt';
import { labelWordIds } from '../../../../src/engine/template/label-words';
import { loadTokenizer, tokenizerFromJson, type TextTokenizer, type TokenizerJson } from '../../../../src/engine/tokenize';

/** id: [piece, score] */
const PIECES: [string, number][] = [
  ['<s>', 0], ['<pad>', 0], ['</s>', 0], ['<unk>', 0], // 0-3
  ['.', -2], ['▁', -3], ['▁great', -4], ['▁terrible', -5], // 4-7
  ['▁un', -3], ['able', -3], ['▁unab', -10], ['le', -2], ['▁una', -9], ['ble', -4], // 8-13
  ['▁It', -4.5], ['▁was', -4.5], ['▁movie', -5.5], ['▁the', -3.5], // 14-17
  ['s', -4], ['a', -5], ['b', -5], ['e', -5], ['g', -6], ['l', -5], ['n', -5], ['r', -6], ['t', -5], ['u', -5], // 18-27
  ['▁g', -7], ['eat', -6], ['▁gr', -6], // 28-30
  ['<mask>', 0], // 31
];

const special = (id: number, content: string, lstrip = false) => ({ id, content, single_word: false, lstrip, rstrip: false, normalized: false, special: true });

/** tokenizer.json as transformers writes it for XLM-RoBERTa (newer Metaspace keys, or the pre-0.14 add_prefix_space). */
function xlmrJson(oldMetaspace = false): TokenizerJson {
  const metaspace = oldMetaspace
    ? { type: 'Metaspace', replacement: '▁', str_rep: '▁', add_prefix_space: true }
    : { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<s>'), special(1, '<pad>'), special(2, '</s>'), special(3, '<unk>'), special(31, '<mask>', true)],
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'Precompiled', precompiled_charsmap: 'ALQCAACEAAAA' }, { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' }],
    },
    pre_tokenizer: metaspace,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
      pair: [],
      special_tokens: { '<s>': { id: '<s>', ids: [0], tokens: ['<s>'] }, '</s>': { id: '</s>', ids: [2], tokens: ['</s>'] } },
    },
    decoder: { ...metaspace },
    model: { type: 'Unigram', unk_id: 3, vocab: PIECES, byte_fallback: false },
  };
}

const tokenizerConfig = {
  bos_token: '<s>', cls_token: '<s>', eos_token: '</s>', sep_token: '</s>', pad_token: '<pad>', unk_token: '<unk>',
  mask_token: { content: '<mask>', lstrip: true, normalized: true, rstrip: false, single_word: false, __type: 'AddedToken' },
  model_max_length: 512, tokenizer_class: 'XLMRobertaTokenizer',
};

describe('tokenize: XLM-RoBERTa SentencePiece Unigram tokenizer.json', () => {
  let tok: TextTokenizer;
  let dir: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-lens-xlmr-'));
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(xlmrJson()));
    fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));
    tok = await loadTokenizer(dir);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('loads as a masked LM\'s sentencepiece tokenizer with <s> </s> <mask> <pad> <unk>', () => {
    assert.equal(tok.kind, 'sentencepiece');
    assert.equal(tok.causal, undefined);
    assert.deepEqual([tok.clsId, tok.sepId, tok.maskId, tok.padId, tok.unkId], [0, 2, 31, 1, 3]);
    assert.equal(tok.vocabSize, 32);
    assert.equal(tok.tokenToId('▁great'), 6);
    assert.equal(tok.idToToken(9), 'able');
  });

  it('segments by the best total score, not the longest match: "unable" → ▁un able (−6), not ▁unab le (−12)', () => {
    assert.deepEqual(tok.encode('unable'), [8, 9]);
    assert.deepEqual(tok.encode('great'), [6]); // ▁great −4 beats ▁gr eat −12
    assert.deepEqual(tok.encode('greats'), [6, 18]);
    assert.deepEqual(tok.encode('the movie was great.'), [17, 16, 15, 6, 4]);
    assert.deepEqual(tok.encode('It  was   unable'), [14, 15, 8, 9]); // runs of spaces become one
  });

  it('gives one <unk> for a run of unknown characters, and <mask> takes the space before it', () => {
    assert.deepEqual(tok.encode('xyz great'), [5, 3, 6]); // ▁ <unk> ▁great
    assert.deepEqual(tok.encode('was <mask>'), [15, 31]);
  });

  it('encodeContinuation leaves out the dummy prefix; label words are the "▁" tokens of " word"', () => {
    assert.deepEqual(tok.encodeContinuation(' great'), [6]);
    assert.deepEqual(tok.encodeContinuation('able'), [9]);
    assert.deepEqual(labelWordIds(tok, ['terrible', 'great']), [7, 6]);
    assert.throws(() => labelWordIds(tok, ['movies', 'great']), /"movies" is 2 tokens for this tokenizer \(" movies" → ▁movie \| s\)/);
  });

  it('compiles an LM-BFF prompt: <s> sentence _It_was <mask> . </s>, every piece with its own "▁", type ids 0', () => {
    const p = compilePrompt('*cls**sent_0*_It_was*mask*.*sep+*', tok, { textA: 'unable' }, { maxLength: 32 });
    assert.deepEqual(p.inputIds, [0, 8, 9, 14, 15, 31, 4, 2]);
    assert.deepEqual(p.tokenTypeIds, [0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(p.maskPos, 5);
  });

  it('reads the pre-0.14 Metaspace (add_prefix_space: true) the same way', () => {
    const old = tokenizerFromJson(xlmrJson(true), tokenizerConfig, 'old/tokenizer.json');
    for (const text of ['unable', 'the movie was great.', 'xyz great']) assert.deepEqual(old.encode(text), tok.encode(text));
    assert.deepEqual(old.encodeContinuation(' great'), [6]);
  });

  it('refuses what tokenizers.js would get wrong: no "▁" marking, byte fallback, no unk_id', () => {
    const json = xlmrJson();
    assert.throws(() => tokenizerFromJson({ ...json, pre_tokenizer: { type: 'Whitespace' } }, {}, 'a/tokenizer.json'),
      /^Error: a\/tokenizer\.json: model type "Unigram" is not supported without "▁" word marking \(a Metaspace pre-tokenizer/);
    assert.throws(() => tokenizerFromJson({ ...json, model: { ...json.model, byte_fallback: true } }, {}, 'b/tokenizer.json'),
      /^Error: b\/tokenizer\.json: a Unigram model with byte_fallback is not supported/);
    assert.throws(() => tokenizerFromJson({ ...json, model: { ...json.model, unk_id: null } }, {}, 'c/tokenizer.json'),
      /^Error: c\/tokenizer\.json: the Unigram model needs "unk_id"/);
  });

  it('a folder with only sentencepiece.bpe.model says to add tokenizer.json', async () => {
    const spDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-lens-sp-'));
    try {
      fs.writeFileSync(path.join(spDir, 'sentencepiece.bpe.model'), 'not read');
      await assert.rejects(loadTokenizer(spDir), /No tokenizer\.json in .*only a SentencePiece model file/);
    } finally {
      fs.rmSync(spDir, { recursive: true, force: true });
    }
  });
});
