import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../../src/engine/backend';

describe('engine/backend/wasm-gather: row-copy GatherV2 on wasm', function () {
  let previous: string;
  before(async () => { previous = tf.getBackend(); await initBackend('wasm'); });
  after(async () => { if (previous) await tf.setBackend(previous); });

  const table = (shape: number[], dtype: 'float32' | 'int32') => {
    const n = shape.reduce((p, d) => p * d, 1);
    return Array.from({ length: n }, (_, i) => (dtype === 'int32' ? i * 3 - 7 : Math.sin(i) * 10));
  };

  it('equals the cpu backend for axis-0 gathers of float32 and int32 tables, any index shape, repeated rows', async () => {
    const cases: { shape: number[]; dtype: 'float32' | 'int32'; ids: number[]; idShape: number[]; axis: number }[] = [
      { shape: [50, 8], dtype: 'float32', ids: [3, 3, 49, 0, 17], idShape: [5], axis: 0 },
      { shape: [20, 3, 4], dtype: 'float32', ids: [1, 19, 2, 2, 0, 5], idShape: [2, 3], axis: 0 },
      { shape: [30], dtype: 'int32', ids: [29, 0, 4], idShape: [3], axis: 0 },
      { shape: [6, 7], dtype: 'float32', ids: [6, 0, 2], idShape: [3], axis: 1 }, // the package's kernel
    ];
    const run = () => cases.map((c) => tf.tidy(() => Array.from(tf.gather(tf.tensor(table(c.shape, c.dtype), c.shape, c.dtype),
      tf.tensor(c.ids, c.idShape, 'int32'), c.axis).dataSync())));
    const onWasm = run();
    await tf.setBackend('cpu');
    const onCpu = run();
    await tf.setBackend('wasm');
    assert.deepEqual(onWasm, onCpu);
  });

  it('refuses an index outside the table, naming it', () => {
    assert.throws(() => tf.tidy(() => tf.gather(tf.zeros([4, 2]), tf.tensor1d([1, 4], 'int32'))), /index 4 \(position 1\) is outside \[0, 4\)/);
  });
});
