import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../../src/engine/backend';
import { predictLogits, promptClassifier } from '../../../../src/engine/classifier/masked-lm-classifier';
import type { EncodedExample } from '../../../../src/engine/classifier/batch';
import { makeEncoderConfig, randomParams } from '../../../../src/engine/model';
import { mulberry32 } from '../../../../src/engine/util/random';

describe('classifier/predictLogits: batching by length', function () {
  this.timeout(60_000);
  let previous: string;
  before(async () => { previous = tf.getBackend(); await initBackend('wasm'); });
  after(async () => { if (previous) await tf.setBackend(previous); });

  it('returns each example\'s own logits in the given order, whatever the batch size (padding is invisible)', async () => {
    const config = makeEncoderConfig({ modelType: 'bert', vocabSize: 50, hiddenSize: 16, numLayers: 2, numHeads: 2, intermediateSize: 32, maxPositions: 64 });
    const params = randomParams(config, 3);
    const classify = promptClassifier(params, config, 0, [7, 9, 11]);
    const rand = mulberry32(4);
    const examples: EncodedExample[] = Array.from({ length: 23 }, () => {
      const n = 3 + Math.floor(rand() * 30); // lengths 3–32, in random order
      const inputIds = Array.from({ length: n }, () => 5 + Math.floor(rand() * 45));
      return { inputIds, tokenTypeIds: new Array(n).fill(0), maskPos: Math.floor(rand() * n) };
    });
    const one = examples.map((e) => tf.tidy(() => classify([e], { training: false }).dataSync())); // unpadded, alone
    for (const batchSize of [1, 5, 32]) {
      const got = await predictLogits(classify, examples, batchSize);
      assert.equal(got.length, examples.length * 3);
      examples.forEach((_, i) => {
        for (let c = 0; c < 3; c++) {
          assert.ok(Math.abs(got[i * 3 + c] - one[i][c]) < 1e-5, `batch ${batchSize}, example ${i}, class ${c}: ${got[i * 3 + c]} vs ${one[i][c]}`);
        }
      });
    }
    params.forEach((v) => v.dispose());
  });
});
