import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../../src/engine/backend';
import {
  disposeParams, encode, hiddenAt, makeEncoderConfig, mlmLogits, randomParams, type EncoderConfig,
} from '../../../../src/engine/model';

const config: EncoderConfig = makeEncoderConfig({
  modelType: 'roberta', vocabSize: 120, hiddenSize: 32, numLayers: 2, numHeads: 4, intermediateSize: 48,
  maxPositions: 24, tieWordEmbeddings: false,
});

/** Gradients of an MLM cross-entropy (full vocabulary) plus label-word logits, with seeded dropout, on a backend. */
async function gradientsOn(backend: 'cpu' | 'wasm'): Promise<Map<string, Float32Array>> {
  await initBackend(backend);
  const params = randomParams(config, 17); // created per backend: tensors do not move across backends
  try {
    const byName = new Map<string, Float32Array>();
    tf.tidy(() => {
      const inputIds = tf.tensor2d([[0, 5, 6, 7, 8, 2], [0, 9, 10, 2, 1, 1]], undefined, 'int32');
      const attentionMask = tf.tensor2d([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]], undefined, 'int32');
      const targets = tf.oneHot(tf.tensor1d([40, 41], 'int32'), config.vocabSize);
      const { grads } = tf.variableGrads(() => {
        const h = encode(params, config, { inputIds, attentionMask }, { training: true, seed: 5 });
        const atMask = hiddenAt(h, [2, 1]); // [B, H]
        const ce = tf.losses.softmaxCrossEntropy(targets, mlmLogits(params, config, atMask));
        return tf.add(ce, tf.mean(mlmLogits(params, config, atMask, [3, 4]))) as tf.Scalar;
      }, [...params.values()]);
      for (const [name, v] of params) byName.set(name, grads[v.name].dataSync() as Float32Array);
    });
    return byName;
  } finally {
    disposeParams(params);
  }
}

function norm(x: Float32Array): number {
  return Math.sqrt(x.reduce((s, v) => s + v * v, 0));
}

describe('engine/backend: gradients on wasm equal those on cpu', function () {
  let previous: string;
  before(() => { previous = tf.getBackend(); });
  after(async () => { if (previous) await tf.setBackend(previous); });

  it('every parameter gradient of a small RoBERTa agrees to relative L2 ≤ 1e-5', async () => {
    const cpu = await gradientsOn('cpu');
    const wasm = await gradientsOn('wasm');
    assert.equal(wasm.size, cpu.size);
    const largest = Math.max(...[...cpu.values()].map(norm));
    let checked = 0;
    let worst = 0;
    for (const [name, g] of cpu) {
      const w = wasm.get(name)!;
      const diff = norm(w.map((v, i) => v - g[i]));
      if (name.endsWith('attention.self.key.bias')) {
        // softmax is invariant to the key bias: its true gradient is 0, both backends give rounding noise only
        assert.ok(norm(g) < 1e-6 * largest && diff < 1e-6 * largest, `${name}: |g| = ${norm(g)}`);
        continue;
      }
      assert.ok(norm(g) > 0, `${name} has a zero gradient on cpu`);
      assert.ok(diff / norm(g) <= 1e-5, `${name}: relative L2 error ${diff / norm(g)}`);
      worst = Math.max(worst, diff / norm(g));
      checked++;
    }
    assert.ok(checked >= cpu.size - config.numLayers);
    if (process.env.NTK_LENS_VERBOSE) console.log(`      worst relative L2 error: ${worst.toExponential(2)} over ${checked} tensors`);
  });
});
