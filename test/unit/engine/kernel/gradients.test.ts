import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { exampleJacobian } from '../../../../src/engine/kernel/gradients';
import { jacobianFd, makeMlp, makeTokenModel, type ToyModel } from './toy-models';

/**
 * Per-example gradients against central finite differences.
 *
 * Step size and tolerance: the finite differences are taken on a second, float64 implementation of each toy model
 * (same float32-rounded parameter values), with h = 1e-6: truncation error ~h²·|f'''| ≈ 1e-12 and rounding error
 * ~1e-16/h ≈ 1e-10, so the reference is exact to ~1e-9. The tfjs gradient is computed in float32, whose rounding
 * error per coordinate is ~1e-7·(size of the terms) ≤ 1e-6·max|g|. We accept |g − g_fd| ≤ 1e-5·max|g| + 1e-4·|g_fd|.
 * A coordinate off by 10% misses this by a factor ≥ 10 unless |g_i| < 1e-4·max|g| (the last test shows such an
 * error is rejected for a typical coordinate).
 */
function compare(g: Float64Array, fd: Float64Array): { worst: number; at: number } {
  const max = fd.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  let worst = 0, at = -1;
  for (let i = 0; i < g.length; i++) {
    const ratio = Math.abs(g[i] - fd[i]) / (1e-5 * max + 1e-4 * Math.abs(fd[i]));
    if (ratio > worst) { worst = ratio; at = i; }
  }
  return { worst, at };
}

function jacobianRows<I>(model: ToyModel<I>, x: I): Float64Array[] {
  const perParam = exampleJacobian(model.outputFn, model.vars.map((variable) => ({ variable })), x, model.C); // [C, P_i]
  const data = perParam.map((t) => t.arraySync() as number[][]);
  perParam.forEach((t) => t.dispose());
  return Array.from({ length: model.C }, (_, c) => Float64Array.from(data.flatMap((rows) => rows[c])));
}

describe('kernel/gradients: per-example gradients', () => {
  before(async () => { await tf.setBackend('cpu'); });

  const cases: [string, () => ToyModel<any>, any[]][] = [
    ['two-layer tanh MLP', () => makeMlp(11), [[0.3, -1.2, 0.7], [1.5, 0.2, -0.4], [-0.9, 0.8, 0.1]]],
    ['embedding + mixer + gathered vocabulary head (repeated tokens)', () => makeTokenModel(5), [
      { ids: [1, 3, 3, 0], mask: 2 }, { ids: [4, 4, 4, 6], mask: 0 }, { ids: [2, 5, 1, 3], mask: 3 },
    ]],
  ];
  for (const [name, make, inputs] of cases) {
    it(`equal float64 central finite differences for every class and coordinate: ${name}`, () => {
      const model = make();
      try {
        const before = tf.memory().numTensors;
        const theta = model.theta();
        // the float64 twin computes the same function as the tfjs model
        for (const x of inputs) {
          const tfOut = tf.tidy(() => model.outputFn(x).dataSync());
          const f64 = model.f64(theta, x);
          for (let c = 0; c < model.C; c++) assert.ok(Math.abs(tfOut[c] - f64[c]) < 1e-5, `forward mismatch at class ${c}`);
        }
        for (const x of inputs) {
          const J = jacobianRows(model, x);
          const F = jacobianFd(model, theta, x);
          for (let c = 0; c < model.C; c++) {
            const { worst, at } = compare(J[c], F[c]);
            assert.ok(worst <= 1, `class ${c}, coordinate ${at}: tfjs ${J[c][at]} vs finite differences ${F[c][at]}`);
          }
        }
        assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      } finally { model.dispose(); }
    });
  }

  it('the finite-difference check rejects a gradient with one typical coordinate off by 10%', () => {
    const model = makeTokenModel(5);
    try {
      const x = { ids: [1, 3, 3, 0], mask: 2 };
      const J = jacobianRows(model, x)[1];
      const F = jacobianFd(model, model.theta(), x)[1];
      assert.ok(compare(J, F).worst <= 1);
      const mags = Array.from(F, Math.abs).filter((v) => v > 0).sort((a, b) => a - b);
      const median = mags[Math.floor(mags.length / 2)];
      const i = Array.from(F).findIndex((v) => Math.abs(v) === median);
      const wrong = Float64Array.from(J);
      wrong[i] *= 1.1;
      assert.ok(compare(wrong, F).worst > 1, 'a 10% error on a median-size coordinate must fail the check');
    } finally { model.dispose(); }
  });
});
