import { strict as assert } from 'node:assert';
import { askLsFit, asymSvmSolver } from '../../../../src/engine/solve/asym-svm';
import { mat } from '../../../../src/engine/solve/linalg';
import { argmaxRows } from '../../../../src/engine/report/metrics';
import { clusters, kernelFromFeatures, rng } from './fixtures';

/** A = [[1, 0.8], [−0.8, 1]] per 2-D block: uᵀAv is asymmetric, and uᵀAu = ‖u‖² > 0. */
function asymmetricA(P: number): number[] {
  const A = new Array(P * P).fill(0);
  for (let b = 0; b < P; b += 2) {
    A[b * P + b] = 1;
    A[(b + 1) * P + b + 1] = 1;
    A[b * P + b + 1] = 0.8;
    A[(b + 1) * P + b] = -0.8;
  }
  return A;
}

describe('solve/asym-svm', () => {
  it('solves the AsK-LS system [[I/γ, H], [Hᵀ, I/γ]] [α; β] = 1 with H_ij = y_i K_ij y_j', () => {
    const r = rng(31);
    const N = 7;
    const K = mat(N, N, Array.from({ length: N * N }, r));
    const y = [1, -1, 1, 1, -1, -1, 1];
    const gamma = 3;
    const { alpha, beta } = askLsFit(K, y, gamma);
    for (let i = 0; i < N; i++) {
      let top = alpha[i] / gamma;
      let bottom = beta[i] / gamma;
      for (let j = 0; j < N; j++) {
        top += y[i] * K.data[i * N + j] * y[j] * beta[j];
        bottom += y[j] * K.data[j * N + i] * y[i] * alpha[j];
      }
      assert.ok(Math.abs(top - 1) < 1e-10 && Math.abs(bottom - 1) < 1e-10, `row ${i}: ${top}, ${bottom}`);
    }
    assert.throws(() => askLsFit(K, y, 0), /gamma must be a finite number > 0/);
  });

  it('gives α = β for a symmetric kernel, so λ does not change the scores', () => {
    const train = clusters(8, 2, 0.3, 32);
    const K = kernelFromFeatures(train.phi, train.phi);
    const a = asymSvmSolver(K, [K], train.y, { asymLambda: 0 }).scores[0].data;
    const b = asymSvmSolver(K, [K], train.y, { asymLambda: 1 }).scores[0].data;
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-9);
  });

  it('separates a separable binary toy problem with an asymmetric single-output kernel, for λ ∈ {0, 0.5, 1}', () => {
    const r = rng(33);
    const point = (label: number): number[] => [(label ? 1 : -1) + 0.4 * r(), 0.6 * r()];
    const yTrain = Array.from({ length: 16 }, (_, i) => i % 2);
    const yTest = Array.from({ length: 10 }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0);
    const tr = yTrain.map((l) => [point(l)]);
    const te = yTest.map((l) => [point(l)]);
    const A = asymmetricA(2);
    const Ktt = kernelFromFeatures(tr, tr, A);
    const Ktx = kernelFromFeatures(tr, te, A);
    assert.notDeepEqual(Array.from(Ktx.data), Array.from(Ktx.flipped!), 'the fixture kernel must be asymmetric');
    const byLambda = [0, 0.5, 1].map((asymLambda) => {
      const { scores } = asymSvmSolver(Ktt, [Ktx], yTrain, { gamma: 10, asymLambda });
      assert.deepEqual(scores[0].shape, [10, 2]);
      assert.deepEqual(Array.from(argmaxRows(scores[0].data, 10, 2)), yTest, `λ = ${asymLambda}`);
      return scores[0].data;
    });
    // The two sides really differ on an asymmetric kernel: λ = 0 (β, K') and λ = 1 (α, K) give different scores.
    assert.ok(byLambda[0].some((v, i) => Math.abs(v - byLambda[2][i]) > 1e-6));
  });

  it('separates 3 classes one-vs-rest on the diagonal logit blocks K[:, c, :, c] of an asymmetric kernel', () => {
    const train = clusters(18, 3, 0.3, 34);
    const test = clusters(12, 3, 0.3, 35);
    const A = asymmetricA(6);
    const Ktt = kernelFromFeatures(train.phi, train.phi, A);
    const Ktx = kernelFromFeatures(train.phi, test.phi, A);
    for (const asymLambda of [0, 0.5, 1]) {
      const { scores } = asymSvmSolver(Ktt, [Ktx], train.y, { gamma: 10, asymLambda });
      assert.deepEqual(scores[0].shape, [12, 3]);
      assert.deepEqual(Array.from(argmaxRows(scores[0].data, 12, 3)), test.y, `λ = ${asymLambda}`);
    }
  });

  it('uses the flipped kernel only through the β side: changing K\' moves the λ = 0 scores but not the λ = 1 scores', () => {
    const train = clusters(8, 2, 0.3, 36);
    const A = asymmetricA(4);
    const Ktt = kernelFromFeatures(train.phi, train.phi, A);
    const Ktx = kernelFromFeatures(train.phi, train.phi, A);
    const doubled = { ...Ktx, flipped: Ktx.flipped!.map((v) => 2 * v) };
    const at = (lambda: number, K: typeof Ktx): Float64Array => asymSvmSolver(Ktt, [K], train.y, { asymLambda: lambda }).scores[0].data;
    assert.deepEqual(Array.from(at(1, doubled)), Array.from(at(1, Ktx)));
    assert.deepEqual(Array.from(at(0, doubled)), Array.from(at(0, Ktx), (v) => 2 * v));
  });
});
