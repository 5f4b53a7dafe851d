import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../../src/engine/backend';
import { prng } from '../../../support/tiny-checkpoint';

/** out[s] = Σ_{i: ids[i] = s} x[i], written as plainly as possible. */
function naiveSegmentSum(x: number[][], ids: number[], numSegments: number): number[][] {
  const out = Array.from({ length: numSegments }, () => new Array<number>(x[0].length).fill(0));
  ids.forEach((s, i) => {
    if (s >= 0 && s < numSegments) x[i].forEach((v, j) => { out[s][j] += v; });
  });
  return out;
}

describe('engine/backend: linear-time UnsortedSegmentSum kernel', function () {
  let previous: string;
  before(() => { previous = tf.getBackend(); });
  after(async () => { if (previous) await tf.setBackend(previous); });

  for (const backend of ['cpu', 'wasm'] as const) {
    it(`${backend}: equals a naive sum, with repeated ids and dropped out-of-range ids`, async () => {
      await initBackend(backend);
      const rand = prng(9);
      const x = Array.from({ length: 50 }, () => Array.from({ length: 6 }, () => rand() * 2 - 1));
      const ids = x.map(() => Math.floor(rand() * 14) - 1); // −1 and 12 are outside [0, 12)
      ids[3] = ids[4] = 5; // a repeated id for sure
      const want = naiveSegmentSum(x, ids, 12);
      const got = tf.tidy(() => tf.unsortedSegmentSum(tf.tensor2d(x).reshape([50, 3, 2]),
        tf.tensor1d(ids, 'int32'), 12).reshape([12, 6]).arraySync() as number[][]);
      want.forEach((row, s) => row.forEach((v, j) => assert.ok(Math.abs(v - got[s][j]) < 1e-5, `segment ${s}`)));
    });

    it(`${backend}: the embedding (gather) gradient sums rows per token id`, async () => {
      await initBackend(backend);
      const ids = [3, 1, 3, 0, 3];
      const g = tf.tidy(() => {
        const table = tf.ones([5, 2]);
        const weights = tf.tensor2d([[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]]);
        return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, tf.tensor1d(ids, 'int32')), weights)))(table)
          .arraySync() as number[][];
      });
      assert.deepEqual(g, [[7, 8], [3, 4], [0, 0], [15, 18], [0, 0]]);
    });
  }

  it('cpu: a 30 522-row embedding gradient takes under 3 s (the built-in O(V·N) kernel takes minutes)', async () => {
    await initBackend('cpu');
    const start = Date.now();
    tf.tidy(() => {
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.gather(t, tf.range(0, 512, 1, 'int32'))))(tf.zeros([30522, 8]));
      g.dataSync();
    });
    assert.ok(Date.now() - start < 3000, `took ${Date.now() - start} ms`);
  });
});
