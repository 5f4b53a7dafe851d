import { strict as assert } from 'node:assert';
import { fitLinearProbe, lbfgs, predictRow, stratifiedFolds } from '../../../../src/engine/classifier/linear-probe';

function seededNormal(seed: number) {
  let s = seed >>> 0;
  const u = () => ((s = (s * 1664525 + 1013904223) >>> 0) + 0.5) / 4294967296;
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

describe('linear probe (LP head initialisation)', () => {
  it('L-BFGS finds the minimiser of a convex quadratic (closed form)', () => {
    // f(x) = ½ xᵀAx − bᵀx with A = [[3,1],[1,2]], minimiser A⁻¹b
    const A = [3, 1, 1, 2];
    const b = [1, -1];
    const x = lbfgs((v, g) => {
      g[0] = A[0] * v[0] + A[1] * v[1] - b[0];
      g[1] = A[2] * v[0] + A[3] * v[1] - b[1];
      return 0.5 * (v[0] * (A[0] * v[0] + A[1] * v[1]) + v[1] * (A[2] * v[0] + A[3] * v[1])) - b[0] * v[0] - b[1] * v[1];
    }, new Float64Array(2), 100);
    // A⁻¹ = 1/5 [[2,−1],[−1,3]] → x* = (3/5, −4/5)
    assert.ok(Math.abs(x[0] - 0.6) < 1e-6 && Math.abs(x[1] + 0.8) < 1e-6, `got ${x}`);
  });

  it('the fitted softmax head satisfies the optimality condition C·Xᵀ(p − y) + W = 0', () => {
    const rnd = seededNormal(3);
    const N = 30, D = 4, C = 3;
    const X = new Float64Array(N * D).map(() => rnd());
    const y = Array.from({ length: N }, (_, i) => i % C);
    const m = fitLinearProbe(X, y, C, { Cs: [0.7] });
    assert.equal(m.regC, 0.7);
    const grad = new Float64Array(C * D);
    const gb = new Float64Array(C);
    for (let n = 0; n < N; n++) {
      const z = predictRow(m, X.subarray(n * D, (n + 1) * D));
      const mx = Math.max(...z);
      const e = Array.from(z, (v) => Math.exp(v - mx));
      const s = e.reduce((a, b) => a + b, 0);
      for (let c = 0; c < C; c++) {
        const g = 0.7 * (e[c] / s - (y[n] === c ? 1 : 0));
        gb[c] += g;
        for (let d = 0; d < D; d++) grad[c * D + d] += g * X[n * D + d];
      }
    }
    for (let i = 0; i < C * D; i++) assert.ok(Math.abs(grad[i] + m.W[i]) < 1e-5, `stationarity W[${i}]`);
    for (let c = 0; c < C; c++) assert.ok(Math.abs(gb[c]) < 1e-5, `stationarity b[${c}]`);
  });

  it('cross-validation breaks accuracy ties towards the smallest C (as sklearn) and the probe still separates separable classes', () => {
    const rnd = seededNormal(11);
    const N = 40, D = 3;
    const y = Array.from({ length: N }, (_, i) => i % 2);
    const X = new Float64Array(N * D);
    for (let n = 0; n < N; n++) for (let d = 0; d < D; d++) X[n * D + d] = rnd() * 0.3 + (d === 0 ? (y[n] ? 2 : -2) : 0);
    const m = fitLinearProbe(X, y, 2);
    assert.equal(m.cvAccuracy, 1);
    for (let n = 0; n < N; n++) {
      const z = predictRow(m, X.subarray(n * D, (n + 1) * D));
      assert.equal(z[1] > z[0] ? 1 : 0, y[n]);
    }
    // Like sklearn's LogisticRegressionCV, ties in CV accuracy keep the first (smallest) C of the grid.
    assert.ok(Math.abs(m.regC - 1e-4) < 1e-12, `chose C = ${m.regC}`);
  });

  it('stratified folds keep every class in every fold and cover each row once', () => {
    const y = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1];
    const folds = stratifiedFolds(y, 2, 5);
    assert.equal(folds.length, 5);
    for (const f of folds) assert.deepEqual(f.map((i) => y[i]).sort(), [0, 1]);
    assert.deepEqual(folds.flat().sort((a, b) => a - b), y.map((_, i) => i));
  });
});
