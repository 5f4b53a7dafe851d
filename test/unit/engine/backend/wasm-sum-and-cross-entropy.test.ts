import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../../src/engine/backend';
import { useWasmKernelVariant, type WasmKernelVariant } from '../../../../src/engine/backend/wasm-kernels';
import { crossEntropyLoss, lossAndGradient } from '../../../../src/engine/finetune/losses';
import { mulberry32 } from '../../../../src/engine/util/random';

/** Σ over `axes` of x (shape `shape`, row-major) in float64, as a flat array in the kept axes' order. */
function refSum(x: Float32Array, shape: number[], axes: number[]): Float64Array {
  const keptShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out = new Float64Array(keptShape.reduce((p, d) => p * d, 1));
  const idx = new Array(shape.length).fill(0);
  for (let flat = 0; flat < x.length; flat++) {
    let o = 0;
    for (let i = 0; i < shape.length; i++) o = o * keptShape[i] + (axes.includes(i) ? 0 : idx[i]);
    out[o] += x[flat];
    for (let i = shape.length - 1; i >= 0; i--) { if (++idx[i] < shape[i]) break; idx[i] = 0; }
  }
  return out;
}

for (const variant of ['simd128', 'relaxed-simd-fma'] as WasmKernelVariant[]) describe(`engine/backend/wasm-kernels (${variant} build): Sum and softmax cross-entropy`, function () {
  this.timeout(120_000);
  let previous: string;
  before(async function () {
    previous = tf.getBackend();
    await initBackend('wasm');
    if (useWasmKernelVariant(variant) !== variant) this.skip();
  });
  after(async () => { useWasmKernelVariant(undefined); if (previous) await tf.setBackend(previous); });

  it('Sum equals a float64 sum over leading, trailing, middle and all axes, with and without keepDims, for every width mod 16', () => {
    const rand = mulberry32(3);
    const cases: [number[], number[]][] = [
      [[37, 1], [0]], [[5, 3], [0]], [[9, 16], [0]], [[33, 21], [0]], [[4, 3, 19], [0, 1]], [[3, 4, 40], [0]], // leading
      [[37, 5], [1]], [[6, 9], [-1]], [[2, 3, 17], [1, 2]], [[7, 8], [1]], [[1, 3], [1]], // trailing
      [[3, 4, 5], [1]], [[3, 4, 5], [0, 2]], // middle / mixed: the package's kernel
      [[6, 7], [0, 1]], [[11], [0]], // all axes
    ];
    for (const [shape, axis] of cases) {
      const x = Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => rand() * 2 - 1);
      const axes = axis.map((a) => (a < 0 ? a + shape.length : a));
      const want = refSum(x, shape, axes);
      for (const keepDims of [false, true]) {
        const got = tf.tidy(() => { const s = tf.sum(tf.tensor(x, shape), axis, keepDims); return { shape: s.shape, data: s.dataSync() }; });
        assert.deepEqual(got.shape, keepDims ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i)), `${shape} over ${axis}`);
        got.data.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-5 * Math.max(1, Math.abs(want[i])), `[${shape}] over ${axis}: ${v} vs ${want[i]}`));
      }
    }
    assert.deepEqual(Array.from(tf.tidy(() => tf.sum(tf.tensor2d([[1, 2], [3, 4]], [2, 2], 'int32'), 0).dataSync())), [4, 6], 'int32 goes to the package kernel');
  });

  it('softmax cross-entropy and its gradient equal the float64 formulas, for large logits, V mod 4 ≠ 0 and a scaled upstream gradient', () => {
    const rand = mulberry32(5);
    for (const [M, V, spread] of [[1, 2, 1], [7, 3, 1], [13, 1001, 4], [5, 12000, 30], [3, 9, 200]]) {
      const z = Float32Array.from({ length: M * V }, () => (rand() * 2 - 1) * spread);
      const labels = Array.from({ length: M }, () => Math.floor(rand() * V));
      const ref = lossAndGradient('cross-entropy', Float64Array.from(z), labels, V);
      const zt = tf.variable(tf.tensor2d(z, [M, V]));
      const before = tf.memory().numTensors;
      const { value, grads } = tf.variableGrads(() => tf.mul(crossEntropyLoss(zt as unknown as tf.Tensor2D, labels), 3) as tf.Scalar, [zt]);
      const loss = value.dataSync()[0];
      const g = grads[zt.name].dataSync();
      tf.dispose([value, grads[zt.name]]);
      assert.equal(tf.memory().numTensors, before, 'no tensor outlives the step');
      assert.ok(Math.abs(loss - 3 * ref.loss) < 1e-5 * Math.max(1, 3 * ref.loss), `[${M}, ${V}] loss ${loss} vs ${3 * ref.loss}`);
      g.forEach((v, i) => assert.ok(Math.abs(v - 3 * ref.grad[i]) < 1e-6, `[${M}, ${V}] gradient ${i}: ${v} vs ${3 * ref.grad[i]}`));
      // forward only (evaluation): nothing is kept for a backward pass that never comes
      const n = tf.memory().numTensors;
      tf.tidy(() => crossEntropyLoss(zt as unknown as tf.Tensor2D, labels)).dispose();
      assert.equal(tf.memory().numTensors, n);
      zt.dispose();
    }
  });

  it('softmax cross-entropy names a label outside the vocabulary or a count mismatch', () => {
    const z = tf.zeros([2, 5]) as tf.Tensor2D;
    assert.throws(() => crossEntropyLoss(z, [0, 5]), /label 5 of row 1 is outside \[0, 5\)/);
    assert.throws(() => crossEntropyLoss(z, [0]), /1 labels for 2 rows of logits/);
    z.dispose();
  });
});
