import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { initBackend, mm, mmBT } from '../../../../src/engine/backend';

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe('engine/backend: mm and mmBT', function () {
  before(async () => { await initBackend('cpu'); });

  it('mm(a, b) and mmBT(a, c) equal tf.matMul in value and in both gradients', () => {
    tf.tidy(() => {
      const a = tf.randomNormal([5, 7], 0, 1, 'float32', 1);
      const b = tf.randomNormal([7, 3], 0, 1, 'float32', 2);
      const c = tf.randomNormal([3, 7], 0, 1, 'float32', 3);
      const w = tf.randomNormal([5, 3], 0, 1, 'float32', 4); // weights a scalar loss so every dy entry differs
      const loss = (f: (x: tf.Tensor, y: tf.Tensor) => tf.Tensor) => (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(f(x, y), w));
      assert.ok(maxDiff(mm(a, b), tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D)) < 1e-6);
      assert.ok(maxDiff(mmBT(a, c), tf.matMul(a as tf.Tensor2D, c as tf.Tensor2D, false, true)) < 1e-6);
      const [ga, gb] = tf.grads(loss(mm))([a, b]);
      const [ra, rb] = tf.grads(loss((x, y) => tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D)))([a, b]);
      assert.ok(maxDiff(ga, ra) < 1e-5 && maxDiff(gb, rb) < 1e-5, 'mm gradients');
      const [ha, hc] = tf.grads(loss(mmBT))([a, c]);
      const [sa, sc] = tf.grads(loss((x, y) => tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D, false, true)))([a, c]);
      assert.ok(maxDiff(ha, sa) < 1e-5 && maxDiff(hc, sc) < 1e-5, 'mmBT gradients');
      assert.deepEqual(hc.shape, [3, 7]);
    });
  });

  it('refuses tensors that are not 2-D, naming the function and shapes', () => {
    tf.tidy(() => {
      assert.throws(() => mm(tf.zeros([2, 3, 4]), tf.zeros([4, 2])), /matmul\.ts mm: .*\[2,3,4\]/);
    });
  });
});

describe('engine/backend: initBackend', function () {
  let previous: string;
  before(() => { previous = tf.getBackend(); });
  after(async () => { if (previous) await tf.setBackend(previous); });

  it('sets and returns cpu and wasm', async () => {
    assert.equal(await initBackend('wasm'), 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(await initBackend('cpu'), 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
  });

  it('"auto" picks wasm when the native tensorflow bindings are not installed', async function () {
    let nativeInstalled = true;
    try { require.resolve('@tensorflow/tfjs-node'); } catch { nativeInstalled = false; }
    if (nativeInstalled) this.skip(); // then auto would rightly pick tensorflow
    assert.equal(await initBackend('auto'), 'wasm');
  });

  it('"tensorflow" without the bindings fails saying what is missing and what to use instead', async function () {
    try { require.resolve('@tensorflow/tfjs-node'); this.skip(); } catch { /* not installed: the case under test */ }
    await assert.rejects(initBackend('tensorflow'), /tfjs-node.*Set the backend to "auto" or "wasm"/s);
  });

  it('an unknown name is an error listing the valid ones', async () => {
    await assert.rejects(initBackend('tpu' as never), /unknown backend "tpu".*auto, tensorflow, webgpu, wasm, cpu/);
  });
});
