import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../../src/engine/backend';

describe('engine/backend/wasm-slice: Slice on wasm copies only the slice, in place', function () {
  let previous: string;
  before(async () => { previous = tf.getBackend(); await initBackend('wasm'); });
  after(async () => { if (previous) await tf.setBackend(previous); });

  const values = (shape: number[], dtype: 'float32' | 'int32' | 'bool'): number[] | boolean[] => {
    const n = shape.reduce((p, d) => p * d, 1);
    return dtype === 'bool' ? Array.from({ length: n }, (_, i) => i % 3 === 0)
      : Array.from({ length: n }, (_, i) => (dtype === 'int32' ? i * 3 - 7 : Math.sin(i) * 10));
  };

  it('equals the cpu backend for every rank 1–5, contiguous and strided slices, size −1, empty slices, float32, int32 and bool', async () => {
    type Case = { shape: number[]; dtype: 'float32' | 'int32' | 'bool'; begin: number[]; size: number[] };
    const cases: Case[] = [
      { shape: [10], dtype: 'float32', begin: [3], size: [4] },
      { shape: [10], dtype: 'int32', begin: [0], size: [-1] },
      { shape: [6, 7], dtype: 'float32', begin: [2, 0], size: [3, 7] }, // whole rows: one run
      { shape: [6, 7], dtype: 'float32', begin: [1, 2], size: [4, 3] }, // a column block
      { shape: [6, 7], dtype: 'bool', begin: [0, 6], size: [-1, 1] }, // runs of one element
      { shape: [4, 5, 6], dtype: 'float32', begin: [1, 2, 0], size: [2, 3, 6] },
      { shape: [4, 5, 6], dtype: 'int32', begin: [0, 0, 1], size: [4, 5, 4] },
      { shape: [4, 5, 6], dtype: 'float32', begin: [3, 0, 0], size: [1, 5, 6] }, // the class blocks of structured-ntk
      { shape: [3, 4, 2, 5], dtype: 'float32', begin: [1, 1, 1, 2], size: [2, 2, 1, 3] },
      { shape: [2, 3, 4, 2, 3], dtype: 'float32', begin: [0, 1, 0, 1, 0], size: [2, 2, 4, 1, 3] },
      { shape: [6, 7], dtype: 'float32', begin: [2, 3], size: [0, 2] }, // empty
    ];
    const run = () => cases.map((c) => tf.tidy(() => {
      const y = tf.slice(tf.tensor(values(c.shape, c.dtype), c.shape, c.dtype), c.begin, c.size);
      return { shape: y.shape, dtype: y.dtype, values: Array.from(y.dataSync()) };
    }));
    const onWasm = run();
    await tf.setBackend('cpu');
    const onCpu = run();
    await tf.setBackend('wasm');
    assert.deepEqual(onWasm, onCpu);
  });

  it('leaves its input and earlier tensors as they were, and its gradient is the padded cotangent', () => {
    const x = tf.tensor2d(values([5, 4], 'float32') as number[], [5, 4]);
    const before = Array.from(x.dataSync());
    const y = tf.slice(x, [1, 1], [3, 2]);
    y.dispose();
    assert.deepEqual(Array.from(x.dataSync()), before);
    const g = tf.tidy(() => Array.from(tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.slice(t, [1, 1], [3, 2]), 2)))(x).dataSync()));
    const expected = Array.from({ length: 20 }, (_, i) => (Math.floor(i / 4) >= 1 && Math.floor(i / 4) <= 3 && i % 4 >= 1 && i % 4 <= 2 ? 2 : 0));
    assert.deepEqual(g, expected);
    x.dispose();
  });

  it('is the registered kernel (the package\'s own would read the whole input into a JavaScript copy first)', () => {
    const own = tf.getKernel('Slice', 'wasm')!;
    assert.ok(!/readSync/.test(own.kernelFunc.toString()), 'the registered wasm Slice still reads the input with readSync');
  });
});
