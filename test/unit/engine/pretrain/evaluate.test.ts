import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { makeEncoderConfig, randomParams, encode, mlmLogits, disposeParams } from '../../../../src/engine/model';
import { trainWordPiece } from '../../../../src/engine/tokenize/wordpiece-trainer';
import { tokenizerFromJson } from '../../../../src/engine/tokenize/hf-text-tokenizer';
import { compilePrompt } from '../../../../src/engine/template';
import { zeroShotPrompt, heldOutMlm, unigramEntropy } from '../../../../src/engine/pretrain/evaluate';
import { packDocuments } from '../../../../src/engine/pretrain/packing';
import { SST2_TEMPLATE } from '../../../../src/engine/pretrain/cli';

const TEXTS = [
  'it was great .', 'it was terrible .', 'a great film with a terrible ending', 'the plot was thin but the acting was great',
  'terrible , terrible , terrible', 'one of the great films of the year , it was', 'not great , not terrible',
];

describe('pretrain/evaluate', function () {
  this.timeout(60_000);
  before(async () => { await tf.setBackend('cpu'); });
  const tok = tokenizerFromJson(trainWordPiece(TEXTS, { vocabSize: 120, lowercase: true, minFrequency: 1 }), {}, '<test>');
  const config = makeEncoderConfig({ modelType: 'bert', vocabSize: tok.vocabSize, hiddenSize: 16, numLayers: 1, numHeads: 2, intermediateSize: 32, maxPositions: 64 });
  const words = ['terrible', 'great'];

  /** The reference: one example at a time, full-vocabulary logits, compare the two label words. */
  function referencePredictions(params: ReturnType<typeof randomParams>): number[] {
    const wordIds = words.map((w) => tok.encode(w)[0]);
    return TEXTS.map((t) => tf.tidy(() => {
      const p = compilePrompt(SST2_TEMPLATE, tok, { textA: t }, { maxLength: 64 });
      const h = encode(params, config, {
        inputIds: tf.tensor2d([p.inputIds], undefined, 'int32'), attentionMask: tf.ones([1, p.inputIds.length]) as tf.Tensor2D,
      }, { training: false });
      const logits = mlmLogits(params, config, tf.reshape(tf.slice(h, [0, p.maskPos, 0], [1, 1, -1]), [1, 16]) as tf.Tensor2D).arraySync()[0];
      return logits[wordIds[1]] > logits[wordIds[0]] ? 1 : 0;
    }));
  }

  it('zero-shot prompt accuracy with padded batches matches an unbatched full-vocabulary reference', async () => {
    for (const seed of [1, 2, 3]) {
      const params = randomParams(config, seed);
      const ref = referencePredictions(params);
      const agree = await zeroShotPrompt(params, config, tok, TEXTS.map((t, i) => ({ textA: t, label: ref[i] })), SST2_TEMPLATE, words, { batchSize: 3 });
      const flipped = await zeroShotPrompt(params, config, tok, TEXTS.map((t, i) => ({ textA: t, label: 1 - ref[i] })), SST2_TEMPLATE, words, { batchSize: 4 });
      assert.equal(agree.accuracy, 1, `seed ${seed}`);
      assert.equal(flipped.accuracy, 0, `seed ${seed}`);
      assert.equal(agree.predictedShare[1], ref.filter((r) => r === 1).length / TEXTS.length);
      disposeParams(params);
    }
  });

  it('held-out MLM evaluation is deterministic (fixed masks) and near ln V for a random model', async () => {
    const params = randomParams(config, 5);
    const docs = TEXTS.map((t) => tok.encode(t));
    const data = packDocuments([...docs, ...docs, ...docs], 16, tok.clsId, tok.sepId);
    const masking = { maskProb: 0.15, maskTokenId: tok.maskId, vocabSize: tok.vocabSize, specialIds: [tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId] };
    const a = await heldOutMlm(params, config, data, masking, { batchSize: 2 });
    const b = await heldOutMlm(params, config, data, masking, { batchSize: 5 });
    assert.ok(a.maskedTokens > 0);
    assert.ok(Math.abs(a.loss - b.loss) < 1e-5 && a.accuracy === b.accuracy, 'batch size does not change the figures');
    assert.ok(Math.abs(a.loss - Math.log(tok.vocabSize)) < 0.3, `${a.loss} vs ln V ${Math.log(tok.vocabSize)}`);
    disposeParams(params);
  });

  it('unigram entropy: ln 4 for four equally frequent tokens, 0 for one, special tokens ignored', () => {
    const blocks = (ids: number[]) => ({ tokens: Int32Array.from(ids), maxLen: ids.length, count: 1 });
    assert.ok(Math.abs(unigramEntropy(blocks([2, 5, 6, 7, 8, 5, 6, 7, 8, 3]), [2, 3]) - Math.log(4)) < 1e-12);
    assert.equal(unigramEntropy(blocks([2, 9, 9, 9, 3]), [2, 3]), 0);
    // p = (1/2, 1/4, 1/4): H = 1.5 ln 2
    assert.ok(Math.abs(unigramEntropy(blocks([5, 5, 6, 7]), []) - 1.5 * Math.log(2)) < 1e-12);
  });
});
