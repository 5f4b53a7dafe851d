import { strict as assert } from 'node:assert';
import { loadTokenizer, type TextTokenizer } from '../../../../src/engine/tokenize';
import {
  CAUSAL_MASK_HINT, causalTemplateOf, compilePrompt, encodeStandard, labelWordIds, parseTemplate, prepareTemplate,
  scanTemplate, TemplateError, templateProblems,
} from '../../../../src/engine/template';
import { GPT2_EOT, LLAMA3_BOS, writeGpt2Dir, writeLlama2Dir, writeLlama3Dir, writeMistralDir } from '../tokenize/causal-vocabs';
import { writeBpeDir } from '../tokenize/tiny-vocabs';

// Ids refer to test/unit/engine/tokenize/causal-vocabs.ts (worked out in causal-tokenizer.test.ts):
// GPT-2:  The 52  Ġfilm 56  Ġwas 44  Ġgreat 51  . 0  ĠIt 46  Ġbad 60  I 5  t 22  <|endoftext|> 61 (BOS = EOS, not added)
// Llama 3: <|begin_of_text|> 65 (added)  The 59  Ġfilm 63  Ġwas 53  Ġgreat 57  . 0  ĠIt 50
// Llama 2 / Mistral: <s> 1 (added)  </s> 2  ▁The 302  ▁movie 307  ▁was 310  ▁great 315  ▁bad 323  . 273  ▁It 317
//                    T 260  he 301

let gpt2: TextTokenizer;
let llama3: TextTokenizer;
let llama2: TextTokenizer;
let mistral: TextTokenizer;
let roberta: TextTokenizer;
before(async () => {
  gpt2 = await loadTokenizer(writeGpt2Dir());
  llama3 = await loadTokenizer(writeLlama3Dir());
  llama2 = await loadTokenizer(writeLlama2Dir());
  mistral = await loadTokenizer(writeMistralDir());
  roberta = await loadTokenizer(writeBpeDir());
});

const SST2_CAUSAL = '*cls**sent_0*_It_was*mask*';
const SST2_LMBFF = '*cls**sent_0*_It_was*mask*.*sep+*';
const long = { maxLength: 128 };

function assertTemplateError(fn: () => unknown, offset: number, length: number, message: RegExp, hint?: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TemplateError, String(e));
    assert.equal(e.offset, offset, 'offset');
    assert.equal(e.length, length, 'length');
    assert.match(e.message, message);
    if (typeof hint === 'string') assert.equal(e.hint, hint);
    else if (hint) assert.match(e.hint, hint);
    return true;
  });
}

describe('compilePrompt for causal models: *mask* ends the prompt, maskPos is the last token', () => {
  it('GPT-2: *cls* adds nothing (no BOS added), no mask token is inserted', () => {
    const c = compilePrompt(SST2_CAUSAL, gpt2, { textA: 'The film was great.' }, long);
    assert.deepEqual(c.inputIds, [52, 56, 44, 51, 0, 46, 44]); // The Ġfilm Ġwas Ġgreat . ĠIt Ġwas
    assert.equal(c.maskPos, 6);
    assert.deepEqual(c.tokenTypeIds, [0, 0, 0, 0, 0, 0, 0]);
  });

  it('Llama 3: *cls* is <|begin_of_text|> (added by its post-processor)', () => {
    const c = compilePrompt(SST2_CAUSAL, llama3, { textA: 'The film was great.' }, long);
    assert.deepEqual(c.inputIds, [LLAMA3_BOS, 59, 63, 53, 57, 0, 50, 53]);
    assert.equal(c.maskPos, 7);
  });

  it('Llama 2 and Mistral: *cls* is <s>; the sentence starts with "▁", "_It_was" continues without a second "▁"', () => {
    for (const t of [llama2, mistral]) {
      const c = compilePrompt(SST2_CAUSAL, t, { textA: 'The movie was great.' }, long);
      assert.deepEqual(c.inputIds, [1, 302, 307, 310, 315, 273, 317, 310]); // <s> ▁The ▁movie ▁was ▁great . ▁It ▁was
      assert.equal(c.maskPos, 7);
      // +sent_0 at the start: one "▁", not two
      assert.deepEqual(compilePrompt('*cls**+sent_0*_It_was*mask*', t, { textA: 'The movie was great.' }, long).inputIds, c.inputIds);
    }
  });

  it('SentencePiece: a sentence glued to the previous piece (sent_1 right after sent_0) gets no "▁"', () => {
    const c = compilePrompt('*cls**sent_0**sent_1*_It_was*mask*', llama2, { textA: 'The movie was great.', textB: 'The movie was bad.' }, long);
    // <s> ▁The ▁movie ▁was ▁great . | T he ▁movie ▁was ▁bad . | ▁It ▁was
    assert.deepEqual(c.inputIds, [1, 302, 307, 310, 315, 273, 260, 301, 307, 310, 323, 273, 317, 310]);
    const spaced = compilePrompt('*cls**sent_0**+sent_1*_It_was*mask*', llama2, { textA: 'The movie was great.', textB: 'The movie was bad.' }, long);
    assert.deepEqual(spaced.inputIds.slice(6, 11), [302, 307, 310, 323, 273]);
  });

  it('*sep* / *sep+* before the mask are EOS; the text after one starts a new segment; type ids stay 0', () => {
    const sp = compilePrompt('*cls**sent_0**sep+**sent_1*_It_was*mask*', llama2, { textA: 'The movie was great.', textB: 'The movie was bad.' }, long);
    // <s> A </s> ▁The ▁movie ▁was ▁bad . ▁It ▁was (sent_1 starts a segment: "▁" prefix)
    assert.deepEqual(sp.inputIds, [1, 302, 307, 310, 315, 273, 2, 302, 307, 310, 323, 273, 317, 310]);
    assert.equal(sp.maskPos, 13);
    assert.ok(sp.tokenTypeIds.every((t) => t === 0));
    const g = compilePrompt('*cls**sent_0**sep**+sent_1*_It_was*mask*', gpt2, { textA: 'The film was great.', textB: 'It was bad' }, long);
    assert.deepEqual(g.inputIds, [52, 56, 44, 51, 0, GPT2_EOT, 46, 44, 60, 46, 44]);
  });

  it('a tokenizer without EOS: *sep* is a TemplateError at the piece (and pad falls back to BOS)', async () => {
    const noEos = await loadTokenizer(writeGpt2Dir({ eos_token: null }));
    assert.deepEqual([noEos.eosId, noEos.padId, noEos.causal!.padFrom], [undefined, GPT2_EOT, 'bos']);
    assertTemplateError(() => prepareTemplate('*cls**sent_0**sep**+sent_1*_It_was*mask*', noEos), 14, 3, /end-of-sequence token .* has none/);
  });

  it('truncation keeps the end: sentence tokens are cut at their start, BOS and the template stay', () => {
    const c = compilePrompt(SST2_CAUSAL, llama2, { textA: 'The movie was great.' }, { maxLength: 6 });
    assert.deepEqual(c.inputIds, [1, 310, 315, 273, 317, 310]); // ▁The ▁movie cut
    assert.equal(c.maskPos, 5);
  });

  it('truncation cuts the longest sentence first (the first of equal ones)', () => {
    // The Ġfilm Ġwas Ġgreat . (5) | ĠIt Ġwas Ġbad (3) | ĠIt Ġwas: 10 → 7: A 5→4→3, then A and B tie at 3 → A 2
    const c = compilePrompt('*sent_0**+sent_1*_It_was*mask*', gpt2, { textA: 'The film was great.', textB: 'It was bad' }, { maxLength: 7 });
    assert.deepEqual(c.inputIds, [51, 0, 46, 44, 60, 46, 44]);
    assert.equal(c.maskPos, 6);
  });

  it('sentence limits keep a sentence\'s first tokens, as in LM-BFF', () => {
    const c = compilePrompt(SST2_CAUSAL, llama2, { textA: 'The movie was great.' }, { maxLength: 128, firstSentLimit: 2 });
    assert.deepEqual(c.inputIds, [1, 302, 307, 317, 310]);
  });

  it('a template whose own tokens exceed max length, and an empty prompt, are TemplateErrors', () => {
    assertTemplateError(() => compilePrompt(SST2_CAUSAL, llama2, { textA: 'The movie was great.' }, { maxLength: 2 }), 0, SST2_CAUSAL.length, /own tokens are 3 .* more than max length 2/);
    assertTemplateError(() => compilePrompt('*sent_0**mask*', gpt2, { textA: '' }, long), 0, 14, /prompt is empty/);
  });
});

describe('causal template checks: *mask* must be the last piece', () => {
  it("LM-BFF's SST-2 template: the *mask* (followed by \".\") and the *sep+* after it, each located, with the hint", () => {
    const problems = templateProblems(SST2_LMBFF, { numSentences: 1, tokenizer: gpt2 });
    assert.deepEqual(problems.map((p) => [p.offset, p.length]), [[21, 4], [28, 4]]);
    assert.match(problems[0].message, /\*mask\* must be the last piece .* "\.", "sep\+" follow it/);
    assert.match(problems[1].message, /\*sep\+\* after \*mask\*/);
    for (const p of problems) assert.equal(p.hint, CAUSAL_MASK_HINT);
    assertTemplateError(() => prepareTemplate(SST2_LMBFF, llama2), 21, 4, /must be the last piece/, CAUSAL_MASK_HINT);
  });

  it('a *mask* followed only by *sep*: the error is at the *sep*', () => {
    const t = '*cls**sent_0*_It_was*mask**sep*';
    const problems = templateProblems(t, { numSentences: 1, causal: true });
    assert.deepEqual(problems.map((p) => [p.offset, p.length]), [[27, 3]]);
  });

  it('TREC\'s *mask* before the sentence, a trailing "_" and a first of two masks are errors at that *mask*', () => {
    assertTemplateError(() => parseTemplate('*cls**mask*:*+sent_0**sep+*', { causal: true }), 6, 4, /last piece/, CAUSAL_MASK_HINT);
    assertTemplateError(() => parseTemplate('*cls**sent_0*_It_was*mask*_', { causal: true }), 21, 4, /"_" follows it/);
    assertTemplateError(() => parseTemplate('*cls**mask**sent_0*_It_was*mask*', { causal: true }), 6, 4, /last piece/);
  });

  it('the causal checks apply only for causal models: by option, or by default for a causal tokenizer', () => {
    assert.doesNotThrow(() => parseTemplate(SST2_LMBFF));
    assert.equal(scanTemplate(SST2_LMBFF).problems.length, 0);
    assert.equal(scanTemplate(SST2_LMBFF, { causal: true }).problems.length, 2);
    assert.equal(templateProblems(SST2_LMBFF, { numSentences: 1 }).length, 0);
    assert.equal(templateProblems(SST2_LMBFF, { numSentences: 1, tokenizer: roberta }).length, 0);
    assert.equal(templateProblems(SST2_CAUSAL, { numSentences: 1, tokenizer: llama3 }).length, 0);
  });

  it('a causal tokenizer compiled as a masked LM: the *mask* has no token; causal: true with a masked tokenizer: an Error', () => {
    assertTemplateError(() => prepareTemplate(SST2_LMBFF, gpt2, { causal: false }), 21, 4, /no mask token/, /causal model/);
    assert.throws(() => prepareTemplate(SST2_CAUSAL, roberta, { causal: true }), /causal: true needs a causal LM's tokenizer/);
    const prepared = prepareTemplate(SST2_CAUSAL, gpt2);
    assert.equal(prepared.causal, true);
    assert.throws(() => compilePrompt(prepared, gpt2, { textA: 'x' }, { maxLength: 8, causal: false }), /prepared with causal: true/);
  });

  it('causalTemplateOf drops what follows the mask when no sentence follows it', () => {
    assert.equal(causalTemplateOf(SST2_LMBFF), SST2_CAUSAL);
    assert.equal(causalTemplateOf('*cls**sent_0*_This_article_is_about*mask*_news.*sep+*'), '*cls**sent_0*_This_article_is_about*mask*');
    assert.equal(causalTemplateOf('*cls**mask*:*+sent_0**sep+*'), undefined); // TREC
    assert.equal(causalTemplateOf('*cls**sent-_0*?*mask*,*+sentl_1**sep+*'), undefined); // MNLI
  });
});

describe('encodeStandard for causal models: read-out at the last token', () => {
  it('SentencePiece: <s> A (+ </s> B), maskPos = last index, type ids 0', () => {
    const one = encodeStandard(llama2, { textA: 'The movie was great.' }, 128);
    assert.deepEqual(one, { inputIds: [1, 302, 307, 310, 315, 273], tokenTypeIds: [0, 0, 0, 0, 0, 0], maskPos: 5 });
    const two = encodeStandard(llama2, { textA: 'The movie was great.', textB: 'The movie was bad.' }, 128);
    assert.deepEqual(two.inputIds, [1, 302, 307, 310, 315, 273, 2, 302, 307, 310, 323, 273]);
    assert.equal(two.maskPos, 11);
  });

  it('GPT-2: no BOS; a pair is A <|endoftext|> B, B encoded as a text start', () => {
    assert.deepEqual(encodeStandard(gpt2, { textA: 'The film was great.' }, 128), { inputIds: [52, 56, 44, 51, 0], tokenTypeIds: [0, 0, 0, 0, 0], maskPos: 4 });
    const two = encodeStandard(gpt2, { textA: 'The film was great.', textB: 'It was bad' }, 128);
    assert.deepEqual(two.inputIds, [52, 56, 44, 51, 0, GPT2_EOT, 5, 22, 44, 60]); // I t Ġwas Ġbad
    assert.equal(two.maskPos, 9);
  });

  it('truncation keeps the end (cuts the start of the longest sentence, keeps BOS)', () => {
    assert.deepEqual(encodeStandard(llama2, { textA: 'The movie was great.' }, 4), { inputIds: [1, 310, 315, 273], tokenTypeIds: [0, 0, 0, 0], maskPos: 3 });
  });

  it('masked models are unchanged: no maskPos (read at [CLS] / <s>)', () => {
    assert.equal('maskPos' in encodeStandard(roberta, { textA: 'He won.' }, 128), false);
  });
});

describe('labelWordIds for causal models: the one token of " word"', () => {
  it('byte-level BPE: Ġ + word (GPT-2, Llama 3)', () => {
    assert.deepEqual(labelWordIds(gpt2, ['bad', 'great']), [60, 51]);
    assert.deepEqual(labelWordIds(llama3, ['great']), [57]);
  });

  it('SentencePiece: ▁ + word, without a second dummy "▁"', () => {
    assert.deepEqual(labelWordIds(llama2, ['bad', 'great']), [323, 315]);
    assert.deepEqual(labelWordIds(mistral, ['movie', '.']), [307, 273]); // "." is looked up raw
  });

  it('a word of several tokens is an error naming its pieces and the "▁"/"Ġ" form', () => {
    assert.throws(() => labelWordIds(llama2, ['great', 'café']), (e: unknown) => {
      assert.ok(e instanceof TemplateError);
      assert.equal(e.labelIndex, 1);
      assert.match(e.message, /"café" is 3 tokens for this tokenizer \(" café" → ▁caf \| <0xC3> \| <0xA9>\); the model predicts one token after the prompt/);
      assert.match(e.hint, /"▁" form/);
      return true;
    });
    assert.throws(() => labelWordIds(gpt2, ['film', 'terrible']), (e: unknown) => {
      assert.ok(e instanceof TemplateError);
      assert.match(e.message, /" terrible" → Ġt \| e \| r \| r \| i \| b \| l \| e/);
      assert.match(e.hint, /"Ġ" form/);
      return true;
    });
  });
});
