import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTokenizer, type TextTokenizer } from '../../../../src/engine/tokenize';
import { tempDir, writeBpeDir, writeRobertaTokenizerJsonDir, writeWordPieceDir } from './tiny-vocabs';

describe('loadTokenizer: BERT WordPiece from vocab.txt', () => {
  let tok: TextTokenizer;
  before(async () => { tok = await loadTokenizer(writeWordPieceDir()); });

  it('reports kind, vocabulary size and the special ids of [CLS] [SEP] [MASK] [PAD] [UNK]', () => {
    assert.equal(tok.kind, 'wordpiece');
    assert.equal(tok.vocabSize, 61);
    assert.deepEqual([tok.clsId, tok.sepId, tok.maskId, tok.padId, tok.unkId], [2, 3, 4, 0, 1]);
  });

  it('lower-cases (do_lower_case defaults to true) and splits off punctuation', () => {
    assert.deepEqual(tok.encode('A fun film.'), [15, 16, 17, 5]); // a fun film .
  });

  it('splits words greedily, longest match first, with ## continuations', () => {
    // play ##ing | un ##believ ##able | film ##s | !
    assert.deepEqual(tok.encode('Playing unbelievable films!'), [27, 29, 35, 36, 37, 17, 22, 9]);
    assert.deepEqual(tok.encode('fil'), [54, 55, 56]); // f ##i ##l: "fil" is not a word, "film" does not fit
    assert.deepEqual(tok.encode('filmx'), [17, 53]); // film ##x, not f ##i ##l ##m ##x
  });

  it('strips accents when uncased, and gives [UNK] for a word it cannot cover', () => {
    assert.deepEqual(tok.encode('Café'), [38]);
    assert.deepEqual(tok.encode('it xyz was'), [11, 1, 12]);
  });

  it('turns a word of more than 100 characters into one [UNK]', () => {
    assert.deepEqual(tok.encode('f' + 'u'.repeat(99)), [54, ...new Array(99).fill(58)]); // 100 characters: f ##u…
    assert.deepEqual(tok.encode('f' + 'u'.repeat(100)), [1]);
  });

  it('puts CJK ideographs apart, including those outside the BMP, and cleans whitespace/control characters', () => {
    assert.deepEqual(tok.encode('it好was'), [11, 1, 12]);
    assert.deepEqual(tok.encode('it\u{20000}was'), [11, 1, 12]);
    assert.deepEqual(tok.encode('it\twas\u0000'), [11, 12]);
  });

  it('encodes "[MASK]" in text as the mask token, adds no special tokens, and gives [] for ""', () => {
    assert.deepEqual(tok.encode('it [MASK] .'), [11, 4, 5]);
    assert.deepEqual(tok.encode(''), []);
  });

  it('looks tokens up raw and decodes ids', () => {
    assert.equal(tok.tokenToId('##s'), 22);
    assert.equal(tok.tokenToId('films'), undefined);
    assert.equal(tok.idToToken(36), '##believ');
    assert.equal(tok.decode([27, 29, 35, 36, 37, 17, 22]), 'playing unbelievable films');
    assert.equal(tok.decode([]), '');
  });

  it('keeps case and accents when tokenizer_config.json says do_lower_case: false', async () => {
    const cased = await loadTokenizer(writeWordPieceDir(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'Great', 'great', '.', 'Café'], { do_lower_case: false }));
    assert.deepEqual(cased.encode('Great great. Café'), [5, 6, 7, 8]);
    assert.deepEqual(cased.encode('GREAT Cafe'), [1, 1]);
  });

  it('takes special tokens named in tokenizer_config.json', async () => {
    const t = await loadTokenizer(writeWordPieceDir(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '[QUERY]'], { mask_token: { content: '[QUERY]' } }));
    assert.equal(t.maskId, 5);
  });

  it('names the missing role and what it looked for when a special token is absent', async () => {
    await assert.rejects(loadTokenizer(writeWordPieceDir(['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'great'])), (e: Error) => {
      assert.match(e.message, /vocab\.txt: the vocabulary has no mask token \(looked for "\[MASK\]", "<mask>"\)/);
      return true;
    });
  });
});

// Hand-worked byte-level BPE encodings for the tiny vocabulary of tiny-vocabs.ts (rank r makes id 40 + r).
const BPE_CASES: [string, number[], string][] = [
  ['A fun film.', [9, 45, 34, 28, 48, 4], 'A | Ġf u n (no "fu"/"un" merge) | Ġ f i l m → Ġf(r5) il(r6) Ġfil(r7) Ġfilm(r8) | .'],
  [' It was', [50, 44], 'Ġ I t → ĠI(r9) ĠIt(r10); Ġ w a s → Ġw(r2) as(r3) Ġwas(r4)'],
  [' terrible', [82], 'Ġt(r0) Ġte(r36) rr(r37) Ġterr(r38) ib(r39) le(r40) ible(r41) Ġterrible(r42)'],
  [' great', [75], 'Ġg(r31) re(r32) at(r33) Ġgre(r34) Ġgreat(r35)'],
  [' Who', [37, 99, 29], 'W h (r59) merges before Ġ W (r60), so ĠWh/ĠWho are never reached: Ġ | Wh | o'],
  [' played', [60], 'ed(r15) Ġp(r16) Ġpl(r17) ay(r18) Ġplay(r19) Ġplayed(r20)'],
  [' she', [98], 'he(r1) Ġs(r57) Ġshe(r58)'],
  [' Maybe', [91], 'ay(r18) ĠM(r48) ĠMay(r49) ĠMayb(r50) ĠMaybe(r51)'],
  ['He  won', [53, 37, 52], 'GPT-2 split: "He" | " " | " won"'],
  ['é', [103], 'UTF-8 C3 A9 → Ã © → Ã©(r63)'],
  ['zoo', [3, 29, 29], 'z is not a symbol of this vocabulary → <unk>'],
];

describe('loadTokenizer: RoBERTa byte-level BPE from vocab.json + merges.txt', () => {
  let tok: TextTokenizer;
  before(async () => { tok = await loadTokenizer(writeBpeDir()); });

  it('reports kind, vocabulary size and the special ids of <s> </s> <mask> <pad> <unk>', () => {
    assert.equal(tok.kind, 'bpe');
    assert.equal(tok.vocabSize, 105);
    assert.deepEqual([tok.clsId, tok.sepId, tok.maskId, tok.padId, tok.unkId], [0, 2, 104, 1, 3]);
  });

  for (const [text, ids, why] of BPE_CASES) {
    it(`encodes ${JSON.stringify(text)} by merge rank: ${why}`, () => {
      assert.deepEqual(tok.encode(text), ids);
    });
  }

  it('adds no prefix space: "He" and " He" differ', () => {
    assert.deepEqual(tok.encode('He'), [53]);
    assert.deepEqual(tok.encode(' He'), [37, 53]);
  });

  it('looks one-character tokens up raw and decodes bytes back to text', () => {
    assert.equal(tok.tokenToId('.'), 4);
    assert.equal(tok.tokenToId('Ġ.'), undefined);
    assert.equal(tok.decode([9, 45, 34, 28, 48, 4]), 'A fun film.');
    assert.equal(tok.decode([103]), 'é');
  });
});

describe('loadTokenizer: tokenizer.json', () => {
  for (const format of ['strings', 'pairs'] as const) {
    it(`reads a roberta-base style tokenizer.json (merges as ${format}) with the same ids as vocab.json + merges.txt`, async () => {
      const fromJson = await loadTokenizer(writeRobertaTokenizerJsonDir(format));
      const fromFiles = await loadTokenizer(writeBpeDir());
      assert.equal(fromJson.kind, 'bpe');
      assert.deepEqual([fromJson.clsId, fromJson.sepId, fromJson.maskId, fromJson.padId, fromJson.unkId], [0, 2, 104, 1, 3]);
      for (const [text, ids] of BPE_CASES.filter(([t]) => t !== 'zoo')) assert.deepEqual(fromJson.encode(text), ids, text);
      assert.deepEqual(fromJson.encode('He won.'), fromFiles.encode('He won.'));
    });
  }

  it('prefers tokenizer.json when vocab.txt is also present', async () => {
    const dir = writeRobertaTokenizerJsonDir();
    fs.writeFileSync(path.join(dir, 'vocab.txt'), '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n');
    assert.equal((await loadTokenizer(dir)).kind, 'bpe');
  });

  it('refuses a model type other than WordPiece and BPE, naming the file', async () => {
    const dir = tempDir('unigram');
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({ added_tokens: [], normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, model: { type: 'Unigram', vocab: [] } }));
    await assert.rejects(loadTokenizer(dir), /tokenizer\.json: model type "Unigram" is not supported/);
  });
});

describe('loadTokenizer: a folder without a tokenizer', () => {
  it('lists the files it looked for', async () => {
    const dir = tempDir('empty');
    await assert.rejects(loadTokenizer(dir), (e: Error) => {
      assert.ok(e.message.includes(dir));
      assert.match(e.message, /looked for tokenizer\.json, vocab\.txt .* and vocab\.json \+ merges\.txt/);
      return true;
    });
  });

  it('says merges.txt is missing when only vocab.json is there', async () => {
    const dir = tempDir('half-bpe');
    fs.writeFileSync(path.join(dir, 'vocab.json'), '{}');
    await assert.rejects(loadTokenizer(dir), /vocab\.json is there but merges\.txt is missing/);
  });

  it('names the line of a malformed merges.txt', async () => {
    const dir = writeBpeDir();
    fs.appendFileSync(path.join(dir, 'merges.txt'), 'abc\n');
    await assert.rejects(loadTokenizer(dir), /merges\.txt:66: a merge is two symbols/);
  });
});
