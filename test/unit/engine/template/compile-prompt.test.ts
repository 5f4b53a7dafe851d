import { strict as assert } from 'node:assert';
import { loadTokenizer, type TextTokenizer } from '../../../../src/engine/tokenize';
import { compilePrompt, encodeStandard, prepareTemplate, TemplateError } from '../../../../src/engine/template';
import { writeBpeDir, writeWordPieceDir } from '../tokenize/tiny-vocabs';

// Ids refer to the tiny vocabularies of test/unit/engine/tokenize/tiny-vocabs.ts.
// WordPiece: [PAD]0 [UNK]1 [CLS]2 [SEP]3 [MASK]4 .5 ,6 ?7 :8 it11 was12 a15 fun16 film17 this18 is19 article21
//            who23 won24 he25 she26 play27 ##ed28 about33 news34.
// BPE: <s>0 </s>2 <mask>104 .4 ,5 ?6 :7 A9 a17 h24 ... Ġ37 (merged symbols: 40 + merge rank).

let wp: TextTokenizer;
let bpe: TextTokenizer;
before(async () => {
  wp = await loadTokenizer(writeWordPieceDir());
  bpe = await loadTokenizer(writeBpeDir());
});

const long = { maxLength: 128 };

interface Golden {
  task: string;
  template: string;
  example: { textA: string; textB?: string };
  wordpiece: number[];
  wordpieceMask: number;
  bpe: number[];
  bpeMask: number;
}

// The kernel paper's templates (run_fewshot.sh), compiled by hand on the tiny vocabularies.
const GOLDEN: Golden[] = [
  {
    task: 'SST-2 (also SST-5, MR, CR, MPQA)',
    template: '*cls**sent_0*_It_was*mask*.*sep+*',
    example: { textA: 'A fun film.' },
    wordpiece: [2, 15, 16, 17, 5, 11, 12, 4, 5, 3], // [CLS] a fun film . it was [MASK] . [SEP]
    wordpieceMask: 7,
    bpe: [0, 9, 45, 34, 28, 48, 4, 50, 44, 104, 4, 2], // <s> A Ġf u n Ġfilm . ĠIt Ġwas <mask> . </s>
    bpeMask: 9,
  },
  {
    task: 'TREC',
    template: '*cls**mask*:*+sent_0**sep+*',
    example: { textA: 'Who won?' },
    wordpiece: [2, 4, 8, 23, 24, 7, 3], // [CLS] [MASK] : who won ? [SEP]
    wordpieceMask: 1,
    bpe: [0, 104, 7, 37, 99, 29, 52, 6, 2], // <s> <mask> : Ġ Wh o Ġwon ? </s>
    bpeMask: 1,
  },
  {
    task: 'MNLI (also SNLI, QNLI, RTE)',
    template: '*cls**sent-_0*?*mask*,*+sentl_1**sep+*',
    example: { textA: 'He won.', textB: 'He played.' },
    wordpiece: [2, 25, 24, 7, 4, 6, 25, 27, 28, 5, 3], // [CLS] he won ? [MASK] , he play ##ed . [SEP]
    wordpieceMask: 4,
    bpe: [0, 53, 52, 6, 104, 5, 54, 60, 4, 2], // <s> He Ġwon ? <mask> , Ġhe Ġplayed . </s>
    bpeMask: 4,
  },
  {
    task: 'MRPC (also QQP)',
    template: '*cls**sent_0**mask*,*+sentl_1**sep+*',
    example: { textA: 'He won.', textB: 'She won.' },
    wordpiece: [2, 25, 24, 5, 4, 6, 26, 24, 5, 3], // [CLS] he won . [MASK] , she won . [SEP]
    wordpieceMask: 4,
    bpe: [0, 53, 52, 4, 104, 5, 98, 52, 4, 2], // <s> He Ġwon . <mask> , Ġshe Ġwon . </s>
    bpeMask: 4,
  },
  {
    task: 'AG News',
    template: '*cls**sent_0*_This_article_is_about*mask*_news.*sep+*',
    example: { textA: 'A fun film.' },
    wordpiece: [2, 15, 16, 17, 5, 18, 21, 19, 33, 4, 34, 5, 3], // … this article is about [MASK] news . [SEP]
    wordpieceMask: 9,
    // … ĠThis Ġa r t i c le Ġis Ġabout <mask> Ġnews . </s>
    bpe: [0, 9, 45, 34, 28, 48, 4, 64, 92, 31, 33, 25, 19, 80, 66, 96, 104, 70, 4, 2],
    bpeMask: 16,
  },
];

describe('compilePrompt: the LM-BFF templates of the kernel paper', () => {
  for (const g of GOLDEN) {
    it(`${g.task} on BERT WordPiece gives the hand-worked ids, mask position and segment ids`, () => {
      const r = compilePrompt(g.template, wp, g.example, long);
      assert.deepEqual(r.inputIds, g.wordpiece);
      assert.equal(r.maskPos, g.wordpieceMask);
      assert.deepEqual(r.tokenTypeIds, new Array(g.wordpiece.length).fill(0)); // the only sep+ is last
    });
    it(`${g.task} on RoBERTa byte-level BPE gives the hand-worked ids and mask position`, () => {
      const r = compilePrompt(g.template, bpe, g.example, long);
      assert.deepEqual(r.inputIds, g.bpe);
      assert.equal(r.maskPos, g.bpeMask);
    });
  }
});

// Each piece compiled alone after the mask: `*mask**<piece>*`, example A = "He won.", B = "he played."
const PIECES: [string, number[], number[], string][] = [
  // piece,       WordPiece ids,        BPE ids,             what the BPE ids are
  ['cls', [2], [0], '<s>'],
  ['sep', [3], [2], '</s>'],
  ['sent_0', [25, 24, 5], [53, 52, 4], 'He Ġwon . (no space in front)'],
  ['+sent_0', [25, 24, 5], [37, 53, 52, 4], 'Ġ He Ġwon . (a space in front; WordPiece: no change)'],
  ['sent-_0', [25, 24], [53, 52], 'He Ġwon (last character dropped)'],
  ['sentl_0', [25, 24, 5], [41, 52, 4], 'he Ġwon .'],
  ['+sentl_0', [25, 24, 5], [54, 52, 4], 'Ġhe Ġwon .'],
  ['sentl-_0', [25, 24], [41, 52], 'he Ġwon'],
  ['sent_1', [25, 27, 28, 5], [41, 60, 4], 'he Ġplayed .'],
  ['sentu_1', [25, 27, 28, 5], [53, 60, 4], 'He Ġplayed .'],
  ['+sentu_1', [25, 27, 28, 5], [37, 53, 60, 4], 'Ġ He Ġplayed .'],
  ['_It_was', [11, 12], [50, 44], 'ĠIt Ġwas (_ is a space)'],
  ['It_was', [11, 12], [11, 33, 44], 'I t Ġwas (no space before It, so no ĠIt)'],
  ['.', [5], [4], 'raw token "."'],
  ['_.', [5], [37, 4], 'two characters, so tokenised: Ġ . (not the raw ".")'],
  ['?', [7], [6], 'raw token "?"'],
  [':', [8], [7], 'raw token ":"'],
  [',', [6], [5], 'raw token ","'],
  ['_news.', [34, 5], [70, 4], 'Ġnews .'],
];

describe('compilePrompt: every piece kind on both tokenizers', () => {
  const example = { textA: 'He won.', textB: 'he played.' };
  for (const [piece, wpIds, bpeIds, what] of PIECES) {
    it(`*${piece}* → WordPiece ${JSON.stringify(wpIds)}, BPE ${what}`, () => {
      const template = `*mask**${piece}*`;
      assert.deepEqual(compilePrompt(template, wp, example, long).inputIds, [4, ...wpIds]);
      assert.deepEqual(compilePrompt(template, bpe, example, long).inputIds, [104, ...bpeIds]);
    });
  }

  it('sep+ raises the segment id of everything after it; sep does not', () => {
    const r = compilePrompt('*cls**sent_0**sep+**+sent_1**sep+**mask**sep*', wp, example, long);
    assert.deepEqual(r.inputIds, [2, 25, 24, 5, 3, 25, 27, 28, 5, 3, 4, 3]);
    assert.deepEqual(r.tokenTypeIds, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2]);
    assert.equal(r.maskPos, 10);
  });

  it('gives RoBERTa all-zero segment ids (LM-BFF passes none to RoBERTa; its type table has one row)', () => {
    const r = compilePrompt('*cls**sent_0**sep+**+sent_1**sep+**mask**sep*', bpe, example, long);
    assert.deepEqual(r.tokenTypeIds, new Array(r.inputIds.length).fill(0));
  });

  it('lower-/upper-cases only the first character, counting code points', () => {
    const r = compilePrompt('*mask**sentl_0*', bpe, { textA: 'Éa' }, long); // "éa" → Ã© a
    assert.deepEqual(r.inputIds, [104, 103, 17]);
  });

  it('uses the first mask as maskPos when there are several', () => {
    assert.equal(compilePrompt('*cls**mask**mask*', wp, example, long).maskPos, 1);
  });

  it('a prepared template gives the same result and refuses another tokenizer', () => {
    const prepared = prepareTemplate(GOLDEN[0].template, wp);
    assert.deepEqual(compilePrompt(prepared, wp, GOLDEN[0].example, long).inputIds, GOLDEN[0].wordpiece);
    assert.throws(() => compilePrompt(prepared, bpe, GOLDEN[0].example, long), /prepared for another tokenizer/);
  });
});

describe('compilePrompt: sentence limits and truncation', () => {
  const mnli = '*cls**sent-_0*?*mask*,*+sentl_1**sep+*';
  const ex = { textA: 'He won.', textB: 'He played.' };

  it('cuts sentence 0 pieces to firstSentLimit and other sentences to otherSentLimit', () => {
    assert.deepEqual(compilePrompt(mnli, wp, ex, { maxLength: 128, firstSentLimit: 1 }).inputIds, [2, 25, 7, 4, 6, 25, 27, 28, 5, 3]);
    assert.deepEqual(compilePrompt(mnli, wp, ex, { maxLength: 128, otherSentLimit: 2 }).inputIds, [2, 25, 24, 7, 4, 6, 25, 27, 3]);
    // the limit applies to each sentence-0 piece separately
    assert.deepEqual(compilePrompt('*mask**sent_0**+sent_0*', wp, ex, { maxLength: 128, firstSentLimit: 1 }).inputIds, [4, 25, 25]);
  });

  it('truncates the tail to maxLength when the mask survives (as LM-BFF)', () => {
    const r = compilePrompt(GOLDEN[0].template, wp, GOLDEN[0].example, { maxLength: 9 });
    assert.deepEqual(r.inputIds, [2, 15, 16, 17, 5, 11, 12, 4, 5]); // the final [SEP] is cut
    assert.deepEqual(r.tokenTypeIds, new Array(9).fill(0));
    assert.equal(r.maskPos, 7);
  });

  it('shortens the sentence instead when tail truncation would drop the mask (LM-BFF would assert)', () => {
    const r = compilePrompt(GOLDEN[0].template, wp, GOLDEN[0].example, { maxLength: 7 });
    assert.deepEqual(r.inputIds, [2, 15, 11, 12, 4, 5, 3]); // [CLS] a it was [MASK] . [SEP]
    assert.equal(r.maskPos, 4);
  });

  it('shortens the longest sentence first, across both sentences', () => {
    // [CLS] he won . | he play ##ed . | [MASK] [SEP]: 10 tokens, mask at 8; maxLength 6 cuts 4:
    // S1 4→3, S0 3→2 (tie: the first), S1 3→2, S0 2→1
    const r = compilePrompt('*cls**sent_0**sent_1**mask**sep*', wp, ex, { maxLength: 6 });
    assert.deepEqual(r.inputIds, [2, 25, 25, 27, 4, 3]);
    assert.equal(r.maskPos, 4);
  });

  it('leaves the sentences whole when the mask comes before the cut (MNLI: plain tail truncation)', () => {
    assert.deepEqual(compilePrompt(mnli, wp, ex, { maxLength: 6 }).inputIds, [2, 25, 24, 7, 4, 6]);
  });

  it('when the sentences run out, keeps the mask and cuts template tokens after it', () => {
    const r = compilePrompt(GOLDEN[0].template, wp, GOLDEN[0].example, { maxLength: 4 });
    assert.deepEqual(r.inputIds, [2, 11, 12, 4]);
    assert.equal(r.maskPos, 3);
  });

  it('fails with a TemplateError when the template alone puts the mask past maxLength', () => {
    assert.throws(() => compilePrompt(GOLDEN[0].template, wp, GOLDEN[0].example, { maxLength: 3 }), (e: unknown) => {
      assert.ok(e instanceof TemplateError);
      assert.match(e.message, /mask at position 3 \(0-based\) even with empty sentences, past max length 3/);
      return true;
    });
  });
});

describe('compilePrompt: errors that need the tokenizer or the example', () => {
  it('*sent_1* with an example that has no second sentence', () => {
    assert.throws(() => compilePrompt('*cls**sent_0**mask*,*+sentl_1*', wp, { textA: 'He won.' }, long), (e: unknown) => {
      assert.ok(e instanceof TemplateError);
      assert.equal(e.offset, 21);
      assert.match(e.message, /second sentence \(text B\), but this task has one sentence/);
      return true;
    });
  });

  it('a one-character literal that is not a vocabulary token (BPE ";", uncased WordPiece "A", a lone space)', () => {
    const check = (template: string, tok: TextTokenizer, offset: number, message: RegExp, hint: RegExp) =>
      assert.throws(() => prepareTemplate(template, tok), (e: unknown) => {
        assert.ok(e instanceof TemplateError);
        assert.equal(e.offset, offset);
        assert.match(e.message, message);
        assert.match(e.hint, hint);
        return true;
      });
    check('*cls**sent_0**mask*;', bpe, 19, /one-character literal ";" .* no token ";"/, /longer than one character/);
    check('*cls**sent_0*A*mask*', wp, 13, /literal "A"/, /lower-case only/);
    check('*cls**sent_0*_*mask*', wp, 13, /literal " "/, /lone space/);
  });
});

describe('encodeStandard (no prompt)', () => {
  it('one sentence: [CLS] A [SEP] / <s> A </s>, segment 0', () => {
    assert.deepEqual(encodeStandard(wp, { textA: 'He won.' }, 128), { inputIds: [2, 25, 24, 5, 3], tokenTypeIds: [0, 0, 0, 0, 0] });
    assert.deepEqual(encodeStandard(bpe, { textA: 'He won.' }, 128).inputIds, [0, 53, 52, 4, 2]);
  });

  it('two sentences with a single separator between them; B and its separator get segment 1', () => {
    assert.deepEqual(encodeStandard(wp, { textA: 'He won.', textB: 'He played.' }, 128), {
      inputIds: [2, 25, 24, 5, 3, 25, 27, 28, 5, 3],
      tokenTypeIds: [0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
    });
    // <s> He Ġwon . </s> He Ġplayed . </s>  (one </s>, not RoBERTa's </s></s>; B without a leading space)
    assert.deepEqual(encodeStandard(bpe, { textA: 'He won.', textB: 'He played.' }, 128), {
      inputIds: [0, 53, 52, 4, 2, 53, 60, 4, 2],
      tokenTypeIds: [0, 0, 0, 0, 0, 0, 0, 0, 0], // RoBERTa: type 0 throughout
    });
  });

  it('truncates the tail to maxLength', () => {
    assert.deepEqual(encodeStandard(wp, { textA: 'He won.', textB: 'He played.' }, 6), {
      inputIds: [2, 25, 24, 5, 3, 25],
      tokenTypeIds: [0, 0, 0, 0, 0, 1],
    });
  });
});
