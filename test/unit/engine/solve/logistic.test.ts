import { strict as assert } from 'node:assert';
import { mat } from '../../../../src/engine/solve/linalg';
import { DEFAULT_CS, fitLogistic, logisticSolver, stratifiedFolds } from '../../../../src/engine/solve/logistic';
import { argmaxRows } from '../../../../src/engine/report/metrics';
import { clusters, kernelFromFeatures, rng } from './fixtures';

describe('solve/logistic', () => {
  it('uses numpy.logspace(−4, 4, 10) as the default C grid', () => {
    assert.equal(DEFAULT_CS.length, 10);
    assert.equal(DEFAULT_CS[0], 1e-4);
    assert.equal(DEFAULT_CS[9], 1e4);
    for (let i = 1; i < 10; i++) assert.ok(Math.abs(DEFAULT_CS[i] / 10 ** (-4 + (8 * i) / 9) - 1) < 1e-14);
  });

  it("assigns folds as sklearn 0.24's StratifiedKFold(5) (worked by hand for 6 zeros then 4 ones)", () => {
    // sorted labels 0×6, 1×4; counts per fold from every 5th element: class 0 → [2,1,1,1,1], class 1 → [0,1,1,1,1].
    assert.deepEqual(Array.from(stratifiedFolds([0, 0, 0, 0, 0, 0, 1, 1, 1, 1], 5)), [0, 0, 1, 2, 3, 4, 1, 2, 3, 4]);
    // Interleaved rows keep the per-class order.
    assert.deepEqual(Array.from(stratifiedFolds([1, 0, 1, 0, 1, 0], 3)), [0, 0, 1, 1, 2, 2]);
    assert.throws(() => stratifiedFolds([0, 1, 0, 1], 5), /5-fold cross-validation needs at least 5 rows/);
  });

  it('fits the L2 logistic objective to its optimality conditions: Xᵀ(p − t) + w/C = 0 and Σ(p − t) = 0', () => {
    const r = rng(21);
    const n = 40;
    const d = 6;
    const X = mat(n, d, Array.from({ length: n * d }, () => 3 * r()));
    const t = Array.from({ length: n }, (_, i) => (X.data[i * d] + 0.5 * r() > 0 ? 1 : 0));
    for (const Creg of [1e-3, 1, 100]) {
      const fit = fitLogistic(X, t, Creg);
      assert.ok(fit.converged);
      const p = Array.from({ length: n }, (_, i) => {
        let z = fit.b;
        for (let j = 0; j < d; j++) z += X.data[i * d + j] * fit.w[j];
        return 1 / (1 + Math.exp(-z));
      });
      const gb = p.reduce((s, pi, i) => s + pi - t[i], 0);
      assert.ok(Math.abs(gb) < 1e-6, `intercept gradient ${gb} at C=${Creg}`);
      for (let j = 0; j < d; j++) {
        const g = p.reduce((s, pi, i) => s + (pi - t[i]) * X.data[i * d + j], 0) + fit.w[j] / Creg;
        assert.ok(Math.abs(g) < 1e-6, `gradient[${j}] = ${g} at C=${Creg}`);
      }
    }
  });

  it('separates a separable 3-class problem on kernel rows, and CV picks the weakly regularised C', () => {
    // With 1/3 positive rows, a tiny C leaves only the intercept (every row "wrong class": 2/3 accuracy); C = 1e3 separates.
    const train = clusters(15, 3, 0.3, 22);
    const test = clusters(9, 3, 0.3, 23);
    const Ktt = kernelFromFeatures(train.phi, train.phi);
    const Ktx = kernelFromFeatures(train.phi, test.phi);
    const { scores, info } = logisticSolver(Ktt, [Ktx, Ktt], train.y, { Cs: [1e-9, 1e3] });
    assert.equal(info.C, 1e3);
    assert.ok(info.cvAccuracy > 0.9, `cv accuracy ${info.cvAccuracy}`);
    assert.deepEqual(Array.from(argmaxRows(scores[0].data, 9, 3)), test.y);
    assert.deepEqual(Array.from(argmaxRows(scores[1].data, 15, 3)), train.y);
  });

  it('breaks CV accuracy ties towards the smallest C, as numpy argmax over the ascending grid', () => {
    // Binary, well separated, half the rows positive: every C classifies all rows right.
    const train = clusters(20, 2, 0.2, 24);
    const K = kernelFromFeatures(train.phi, train.phi);
    const { scores, info } = logisticSolver(K, [K], train.y);
    assert.equal(info.C, DEFAULT_CS[0]);
    assert.equal(info.cvAccuracy, 1);
    assert.deepEqual(Array.from(argmaxRows(scores[0].data, 20, 2)), train.y);
  });

  it('scores are log P(1) − log P(0): a single-output kernel gives [−s, s] with s the fitted logit', () => {
    const r = rng(25);
    const x = Array.from({ length: 12 }, (_, i) => [(i % 2 ? 1 : -1) + 0.3 * r(), 0.3 * r()]);
    const y = x.map((_, i) => i % 2);
    const phi = x.map((p) => [p]);
    const K = kernelFromFeatures(phi, phi);
    const { scores } = logisticSolver(K, [K], y, { Cs: [1], folds: 3 });
    assert.deepEqual(scores[0].shape, [12, 2]);
    y.forEach((label, m) => {
      assert.equal(scores[0].data[2 * m], -scores[0].data[2 * m + 1]);
      assert.equal(scores[0].data[2 * m + 1] > 0 ? 1 : 0, label);
    });
  });
});
