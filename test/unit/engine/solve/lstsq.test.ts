import { strict as assert } from 'node:assert';
import { addDiagonal, cholesky, choleskySolve, luSolve, mat, matTMul, svd } from '../../../../src/engine/solve/linalg';
import { lstsqSolver } from '../../../../src/engine/solve/lstsq';
import type { KernelBlock, ScoreMatrix } from '../../../../src/engine/solve/types';
import { Features, kernelFromFeatures, rng } from './fixtures';

function randomFeatures(N: number, C: number, P: number, seed: number): Features {
  const r = rng(seed);
  return Array.from({ length: N }, () => Array.from({ length: C }, () => Array.from({ length: P }, r)));
}

function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

describe('solve/lstsq', () => {
  it('equals the least-squares linear model on the features (normal equations), through a rank-deficient K_tt', () => {
    // N·C = 12 rows, P = 5 features: K_tt = ΦΦᵀ has rank 5, so the pseudo-inverse must cut 7 directions.
    const N = 6;
    const C = 2;
    const P = 5;
    const tr = randomFeatures(N, C, P, 1);
    const ev = randomFeatures(4, C, P, 2);
    const y = [0, 1, 1, 0, 1, 0];
    const { scores, info } = lstsqSolver(kernelFromFeatures(tr, tr), [kernelFromFeatures(tr, ev)], y);
    assert.equal(info.rank, P);

    // Independent closed form: θ = (ΦᵀΦ)⁻¹ Φᵀ t with one-hot targets t, prediction φ(x, c)·θ.
    const Phi = mat(N * C, P, tr.flat(2));
    const t = mat(N * C, 1, y.flatMap((label) => [0, 1].map((c) => (c === label ? 1 : 0))));
    const theta = choleskySolve(cholesky(matTMul(Phi, Phi)), matTMul(Phi, t));
    const expected = ev.flatMap((ex) => ex.map((f) => f.reduce((s, v, i) => s + v * theta.data[i], 0)));
    assert.deepEqual(scores[0].shape, [4, C]);
    for (let j = 0; j < expected.length; j++) assert.ok(Math.abs(scores[0].data[j] - expected[j]) < 1e-9, `score ${j}`);
  });

  it('interpolates the one-hot targets on train when K_tt is invertible', () => {
    const tr = randomFeatures(5, 3, 20, 3);
    const K = kernelFromFeatures(tr, tr);
    const y = [2, 0, 1, 1, 0];
    const { scores, info } = lstsqSolver(K, [K], y);
    assert.equal(info.rank, 15);
    y.forEach((label, n) => {
      for (let c = 0; c < 3; c++) assert.ok(Math.abs(scores[0].data[n * 3 + c] - (c === label ? 1 : 0)) < 1e-8);
    });
  });

  it('shrinks predictions monotonically towards 0 as the ridge λ·σ_max grows', () => {
    const tr = randomFeatures(8, 2, 6, 4);
    const K = kernelFromFeatures(tr, tr);
    const y = [0, 1, 0, 1, 1, 0, 0, 1];
    const norms = [0, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10, 1e4].map((ridge) => norm(lstsqSolver(K, [K], y, { ridge }).scores[0].data));
    for (let i = 1; i < norms.length; i++) assert.ok(norms[i] < norms[i - 1], `‖f‖ at step ${i}: ${norms[i]} ≥ ${norms[i - 1]}`);
    assert.ok(norms[norms.length - 1] < 1e-3 * norms[0]);
  });

  it('ridge: α = (K + λ·σ_max·I)⁻¹t, checked against an LU solve, twice on the same (cached) kernel', () => {
    const tr = randomFeatures(5, 2, 4, 8); // rank 4 of 10: singular without the ridge
    const K = kernelFromFeatures(tr, tr);
    const y = [0, 1, 1, 0, 1];
    const Km = mat(10, 10, K.data);
    const sMax = svd(Km).s[0];
    for (const ridge of [1e-3, 1e-1, 1e-3]) {
      const { scores, info } = lstsqSolver(K, [K], y, { ridge });
      assert.ok(Math.abs(info.sigmaMax - sMax) < 1e-9 * sMax);
      assert.equal(info.rank, 10);
      const t = mat(10, 1, y.flatMap((label) => [0, 1].map((c) => (c === label ? 1 : 0))));
      const alpha = luSolve(addDiagonal(Km, ridge * sMax), t);
      for (let j = 0; j < 10; j++) {
        let expected = 0;
        for (let r = 0; r < 10; r++) expected += Km.data[r * 10 + j] * alpha.data[r];
        assert.ok(Math.abs(scores[0].data[j] - expected) < 1e-9, `ridge ${ridge}, score ${j}`);
      }
    }
  });

  it('solves an asymmetric K_tt (A-SignGD) through the SVD route as the reference: K_tt α = t, scores K_tXᵀα', () => {
    const tr = randomFeatures(4, 2, 10, 9);
    const A = Array.from({ length: 100 }, (_, i) => (i % 11 === 0 ? 1 : 0) + (i % 7 === 1 ? 0.5 : 0));
    const K = kernelFromFeatures(tr, tr, A);
    const y = [1, 0, 0, 1];
    const { scores, info } = lstsqSolver(K, [K], y);
    assert.equal(info.rank, 8);
    const Km = mat(8, 8, K.data);
    const alpha = luSolve(Km, mat(8, 1, y.flatMap((label) => [0, 1].map((c) => (c === label ? 1 : 0)))));
    const expected = matTMul(Km, alpha).data;
    for (let j = 0; j < 8; j++) assert.ok(Math.abs(scores[0].data[j] - expected[j]) < 1e-9, `score ${j}`);
    // The kernel is really asymmetric, so these train scores are not the targets (x_n enters K's other argument).
    assert.ok(expected.some((v, j) => Math.abs(v - (j % 2 === 1 - y[j >> 1] ? 0 : 1)) > 1e-3));
  });

  it('with aroundInit and K = 0 returns f0 of the evaluated set (divided by the f0 scaling)', () => {
    const zero = (N: number, M: number): KernelBlock => ({ data: new Float64Array(N * 2 * M * 2), shape: [N, 2, M, 2] });
    const f0Train: ScoreMatrix = { data: Float64Array.from([0.3, -1, 2, 0.5, 1, 1]), shape: [3, 2] };
    const f0Eval: ScoreMatrix = { data: Float64Array.from([1.5, -2, 0.25, 4]), shape: [2, 2] };
    const out = lstsqSolver(zero(3, 3), [zero(3, 2)], [0, 1, 1], { aroundInit: { f0Train, f0Evals: [f0Eval] } });
    assert.deepEqual(Array.from(out.scores[0].data), Array.from(f0Eval.data));
    assert.equal(out.info.rank, 0);
    const half = lstsqSolver(zero(3, 3), [zero(3, 2)], [0, 1, 1], { aroundInit: { f0Train, f0Evals: [f0Eval], scale: 2 } });
    assert.deepEqual(Array.from(half.scores[0].data), Array.from(f0Eval.data, (v) => v / 2));
  });

  it('with aroundInit fits the residual y − f0: train predictions still interpolate the targets', () => {
    const tr = randomFeatures(4, 2, 12, 5);
    const K = kernelFromFeatures(tr, tr);
    const f0: ScoreMatrix = { data: Float64Array.from([0.5, -0.5, 2, 1, -1, 0, 0.1, 0.2]), shape: [4, 2] };
    const y = [1, 0, 0, 1];
    const { scores } = lstsqSolver(K, [K], y, { aroundInit: { f0Train: f0, f0Evals: [f0] } });
    y.forEach((label, n) => [0, 1].forEach((c) => assert.ok(Math.abs(scores[0].data[n * 2 + c] - (c === label ? 1 : 0)) < 1e-8)));
  });

  it('treats a single-output kernel (C = 1) with ±1 targets and returns the logits [−s, +s]', () => {
    const tr = randomFeatures(4, 1, 10, 6);
    const K = kernelFromFeatures(tr, tr);
    const { scores } = lstsqSolver(K, [K], [1, 0, 0, 1]);
    assert.deepEqual(scores[0].shape, [4, 2]);
    const expected = [1, -1, -1, 1];
    expected.forEach((s, m) => {
      assert.ok(Math.abs(scores[0].data[2 * m + 1] - s) < 1e-8);
      assert.equal(scores[0].data[2 * m], -scores[0].data[2 * m + 1]);
    });
  });

  it('rejects mismatched shapes and labels with messages naming the file', () => {
    const tr = randomFeatures(3, 2, 4, 7);
    const K = kernelFromFeatures(tr, tr);
    assert.throws(() => lstsqSolver(K, [K], [0, 1]), /solve\/lstsq\.ts: 2 train labels/);
    assert.throws(() => lstsqSolver(K, [K], [0, 1, 2]), /label #2 is 2/);
    assert.throws(() => lstsqSolver(K, [{ data: new Float64Array(6), shape: [3, 1, 2, 1] }], [0, 1, 0]), /evaluated kernel #0/);
  });
});
