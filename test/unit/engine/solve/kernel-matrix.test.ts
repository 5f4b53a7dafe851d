import { strict as assert } from 'node:assert';
import { blockFromStacked, flippedMatrix, kernelMatrix, regressionTargets, toScoreMatrix } from '../../../../src/engine/solve/kernel-matrix';

describe('solve/kernel-matrix', () => {
  it('reads an [N, C, M, C] block as the (N·C)×(M·C) matrix with row n·C + c and column m·C + c\'', () => {
    // K[n, c, m, c'] = 1000n + 100c + 10m + c'
    const N = 2, C = 2, M = 3;
    const data = new Float64Array(N * C * M * C);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let m = 0; m < M; m++) for (let d = 0; d < C; d++)
      data[((n * C + c) * M + m) * C + d] = 1000 * n + 100 * c + 10 * m + d;
    const K = kernelMatrix({ data, shape: [N, C, M, C] });
    assert.equal(K.rows, 4);
    assert.equal(K.cols, 6);
    assert.equal(K.data[(1 * C + 0) * K.cols + 2 * C + 1], 1021);
  });

  it('takes K_ttᵀ as the flipped train kernel and K itself for a symmetric evaluated block when none is given', () => {
    const K = { data: Float64Array.from([1, 2, 3, 4]), shape: [2, 1, 2, 1] as [number, number, number, number] };
    assert.deepEqual(Array.from(flippedMatrix(K, true).data), [1, 3, 2, 4]);
    assert.deepEqual(Array.from(flippedMatrix(K, false).data), [1, 2, 3, 4]);
    assert.deepEqual(Array.from(flippedMatrix({ ...K, flipped: Float64Array.from([9, 8, 7, 6]) }, true).data), [9, 8, 7, 6]);
  });

  it('splits a stacked [2, N, C, M, C] A-SignGD array into K and its flipped K\'', () => {
    const b = blockFromStacked(Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [2, 1, 2, 2, 1]);
    assert.deepEqual(b.shape, [1, 2, 2, 1]);
    assert.deepEqual(Array.from(b.data), [1, 2, 3, 4]);
    assert.deepEqual(Array.from(b.flipped!), [5, 6, 7, 8]);
    assert.throws(() => blockFromStacked(new Float64Array(4), [1, 2, 2]), /\[2, N, C, M, C\]/);
  });

  it('encodes targets one-hot {0,1} for C ≥ 2 and ±1 for one output; one output s becomes logits [−s, s]', () => {
    assert.deepEqual(Array.from(regressionTargets(Int32Array.from([2, 0]), 3)), [0, 0, 1, 1, 0, 0]);
    assert.deepEqual(Array.from(regressionTargets(Int32Array.from([1, 0]), 1)), [1, -1]);
    assert.deepEqual(Array.from(toScoreMatrix(Float64Array.from([0.5, -2]), 2, 1).data), [-0.5, 0.5, 2, -2]);
  });
});
