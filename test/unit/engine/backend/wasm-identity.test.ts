import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../../src/engine/backend';

describe('engine/backend/wasm-identity: Identity shares memory on wasm', function () {
  let previous: string;
  before(async () => { previous = tf.getBackend(); await initBackend('wasm'); });
  after(async () => { if (previous) await tf.setBackend(previous); });

  it('a clone points at the same memory, and outlives the original with its values', () => {
    const be = tf.backend() as unknown as { dataIdMap: { get(id: object): { memoryOffset: number } } };
    const x = tf.tensor1d([1, 2, 3, 4]);
    const y = x.clone();
    assert.equal(be.dataIdMap.get(y.dataId).memoryOffset, be.dataIdMap.get(x.dataId).memoryOffset);
    x.dispose();
    assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3, 4]);
    const z = tf.fill([4], 9); // may reuse freed memory: must not be y's
    assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3, 4]);
    tf.dispose([y, z]);
  });

  it('gradients through saved (cloned) activations are unchanged: d/dx Σ tanh(x)² = 2 tanh(x)(1 − tanh²(x))', () => {
    const x = tf.tensor1d([-1.5, -0.2, 0.3, 2]);
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.square(tf.tanh(v))))(x);
    Array.from(g.dataSync()).forEach((v, i) => {
      const t = Math.tanh(x.dataSync()[i]);
      assert.ok(Math.abs(v - 2 * t * (1 - t * t)) < 1e-6, `entry ${i}: ${v}`);
    });
    tf.dispose([x, g]);
  });
});
