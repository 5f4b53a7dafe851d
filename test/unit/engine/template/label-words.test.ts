import { strict as assert } from 'node:assert';
import { loadTokenizer, type TextTokenizer } from '../../../../src/engine/tokenize';
import { labelWordIds, TemplateError } from '../../../../src/engine/template';
import { writeBpeDir, writeWordPieceDir } from '../tokenize/tiny-vocabs';

let wp: TextTokenizer;
let bpe: TextTokenizer;
before(async () => {
  wp = await loadTokenizer(writeWordPieceDir());
  bpe = await loadTokenizer(writeBpeDir());
});

function assertLabelError(fn: () => unknown, labelIndex: number, message: RegExp, hint?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof TemplateError, String(e));
    assert.equal(e.source, 'labelWord');
    assert.equal(e.labelIndex, labelIndex);
    assert.match(e.message, message);
    if (hint) assert.match(e.hint, hint);
    return true;
  });
}

describe('labelWordIds', () => {
  it('RoBERTa: encodes " " + word, so the ids are those of Ġterrible, Ġgreat, ĠNo, ĠYes, ĠMaybe', () => {
    assert.deepEqual(labelWordIds(bpe, ['terrible', 'great']), [82, 75]);
    assert.deepEqual(labelWordIds(bpe, ['No', 'Yes', 'Maybe']), [87, 85, 91]);
  });

  it('BERT: encodes the word itself (uncased: lower-cased), in the given class order', () => {
    assert.deepEqual(labelWordIds(wp, ['terrible', 'great']), [14, 13]);
    assert.deepEqual(labelWordIds(wp, ['No', 'Yes', 'Maybe']), [30, 31, 32]);
    assert.deepEqual(labelWordIds(wp, ['Description', 'Entity', 'Expression', 'Human', 'Location', 'Number']), [39, 40, 41, 42, 43, 44]);
    assert.deepEqual(labelWordIds(wp, ['world', 'sports', 'business', 'tech']), [45, 46, 47, 48]);
  });

  it('looks words starting with < [ . , up as raw tokens', () => {
    assert.deepEqual(labelWordIds(bpe, ['<mask>', '.', ',']), [104, 4, 5]);
    assert.deepEqual(labelWordIds(wp, ['[MASK]', '.', ',']), [4, 5, 6]);
  });

  it('rejects a word that is several tokens, showing the pieces and suggesting a single-token synonym', () => {
    assertLabelError(() => labelWordIds(bpe, ['great', 'fun']), 1, /"fun" is 3 tokens .*" fun" → Ġf \| u \| n/, /single-token synonym/);
    assertLabelError(() => labelWordIds(wp, ['films']), 0, /"films" is 2 tokens .*film \| ##s/, /single-token synonym/);
  });

  it('rejects a word that becomes the unknown token, and a raw token the vocabulary lacks', () => {
    assertLabelError(() => labelWordIds(wp, ['great', 'zebra']), 1, /"zebra" is not in the vocabulary \(it becomes \[UNK\]\)/);
    assertLabelError(() => labelWordIds(bpe, ['<nope>']), 0, /looked up as a raw vocabulary token/);
  });

  it('rejects two classes with the same word (here the same after lower-casing)', () => {
    assertLabelError(() => labelWordIds(wp, ['great', 'terrible', 'Great']), 2, /Classes 0 and 2 have the same label word/, /different word/);
  });

  it('rejects an empty word', () => {
    assertLabelError(() => labelWordIds(wp, ['great', '']), 1, /empty/);
  });
});
