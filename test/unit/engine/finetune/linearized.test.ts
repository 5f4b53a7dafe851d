import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { empiricalNtkFn } from '../../../../src/engine/kernel/empirical-ntk';
import { exampleJacobian } from '../../../../src/engine/kernel/gradients';
import { batchSchedule } from '../../../../src/engine/finetune/batches';
import { clipCoefficient } from '../../../../src/engine/finetune/clip';
import { linearizedDynamics } from '../../../../src/engine/finetune/linearized';
import { lossAndGradient } from '../../../../src/engine/finetune/losses';
import { linearWarmupDecay } from '../../../../src/engine/finetune/schedule';
import { makeMlp, solve, symmetricEigenvalues, type ToyModel } from '../kernel/toy-models';

/**
 * The linearised model f_lin(x; θ) = f0(x) + J(x)(θ − θ0), built explicitly in float64 from the per-example Jacobian
 * at θ0, is trained here in PARAMETER space; the code under test (the kernel and linearized.ts) works in function
 * space from the kernel only.
 */
interface Linearised { f0: Float64Array[]; J: Float64Array[][] } // per example: f0 [C], J [C][P]

function linearise(model: ToyModel<number[]>, xs: number[][]): Linearised {
  const f0 = xs.map((x) => {
    const y = model.outputFn(x); // [1, C]
    const v = Float64Array.from(y.dataSync());
    y.dispose();
    return v;
  });
  const J = xs.map((x) => {
    const perParam = exampleJacobian(model.outputFn, model.vars.map((variable) => ({ variable })), x, model.C);
    const rows = perParam.map((t) => t.arraySync() as number[][]);
    perParam.forEach((t) => t.dispose());
    return Array.from({ length: model.C }, (_, c) => Float64Array.from(rows.flatMap((r) => r[c])));
  });
  return { f0, J };
}

const evalLin = (L: Linearised, i: number, delta: Float64Array): Float64Array =>
  L.f0[i].map((v, c) => v + L.J[i][c].reduce((s, j, p) => s + j * delta[p], 0));

const flat = (L: Linearised, delta: Float64Array) => Float64Array.from(L.f0.flatMap((_, i) => Array.from(evalLin(L, i, delta))));

const TRAIN = [[0.9, 0.3, -0.2], [-0.8, -0.4, 0.1], [0.5, -0.1, 0.9], [-0.3, 0.7, 0.2], [1.1, -0.6, -0.5]];
const EVAL = [[-0.9, 0.2, 0.6], [0.2, 0.9, -0.7], [-0.4, -0.9, -0.1]];
const LABELS = [1, 0, 0, 1, 1];

function assertRel(actual: ArrayLike<number>, expected: ArrayLike<number>, rel: number, what: string): void {
  const scale = Math.max(...Array.from(expected, Math.abs));
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= rel * scale, `${what}[${i}]: ${actual[i]} vs ${expected[i]} (scale ${scale})`);
  }
}

describe('finetune/linearized: the linearised model and kernel regression', () => {
  before(async () => { await tf.setBackend('cpu'); });

  it('theorem: the linearised model trained by full-batch GD on MSE to convergence predicts f0(X) + K_Xt·K_tt⁻¹·(y − f0(t)) (to 1e-4 relative)', async () => {
    const model = makeMlp(21, 3, 16, 2); // P = 98 > N·C = 10: the train targets can be interpolated
    try {
      const C = 2, N = TRAIN.length, n = N * C;
      const K = (await empiricalNtkFn(model.outputFn, model.vars, { kinds: ['sgd'] })(TRAIN, [{ name: 'eval', inputs: EVAL }])).sgd!;
      const Lt = linearise(model, TRAIN), Lx = linearise(model, EVAL);
      const y = Float64Array.from({ length: n }, (_, i) => (i % C === LABELS[Math.floor(i / C)] ? 1 : 0));
      // parameter-space gradient descent on L = mean over N·C of (f_lin − y)², from θ0 (δ = 0)
      const eig = symmetricEigenvalues(K.train.data, n);
      const lambdaMax = Math.max(...eig), kappa = lambdaMax / Math.min(...eig);
      const eta = (0.9 * n) / (2 * lambdaMax);
      const P = Lt.J[0][0].length;
      const delta = new Float64Array(P);
      let it = 0;
      for (; it < 200_000; it++) {
        const f = flat(Lt, delta);
        let res = 0;
        const grad = new Float64Array(P);
        for (let i = 0; i < N; i++) for (let c = 0; c < C; c++) {
          const r = f[i * C + c] - y[i * C + c];
          res = Math.max(res, Math.abs(r));
          const J = Lt.J[i][c];
          for (let p = 0; p < P; p++) grad[p] += (2 * r * J[p]) / n;
        }
        if (res < 1e-12) break;
        for (let p = 0; p < P; p++) delta[p] -= eta * grad[p];
      }
      assert.ok(it < 200_000, `GD did not converge (κ = ${kappa})`);
      // kernel regression around f0 with the kernel computed by the code under test
      const ft = Float64Array.from(Lt.f0.flatMap((v) => Array.from(v)));
      const alpha = solve(K.train.data, y.map((v, i) => v - ft[i]), n);
      const M = EVAL.length;
      const regression = Array.from({ length: M * C }, (_, j) => Lx.f0[Math.floor(j / C)][j % C] + Array.from(alpha).reduce((s, a, i) => s + a * K.eval.data[i * M * C + j], 0));
      assertRel(flat(Lx, delta), regression, 1e-4, 'eval predictions');
      // the prediction moved away from f0: the comparison is not trivially f0 = f0
      assert.ok(regression.some((v, j) => Math.abs(v - Lx.f0[Math.floor(j / C)][j % C]) > 0.05));
    } finally { model.dispose(); }
  });

  it('function-space SGD dynamics equal parameter-space training of the linearised model step by step (CE, mini-batches, warm-up, clipping)', async () => {
    const model = makeMlp(8, 3, 6, 2);
    try {
      const C = 2, N = TRAIN.length;
      const K = (await empiricalNtkFn(model.outputFn, model.vars, { kinds: ['sgd'] })(TRAIN, [{ name: 'eval', inputs: EVAL }])).sgd!;
      const Lt = linearise(model, TRAIN), Lx = linearise(model, EVAL);
      const opts = { steps: 12, batchSize: 2, seed: 5, learningRate: 0.8, warmupSteps: 3, maxGradNorm: 0.5 };
      // parameter space
      const P = Lt.J[0][0].length;
      const delta = new Float64Array(P);
      const trajectory: { train: Float64Array; eval: Float64Array }[] = [];
      const batches = batchSchedule(N, opts.batchSize, opts.seed, opts.steps);
      let clipped = 0;
      for (let s = 0; s < opts.steps; s++) {
        const b = batches[s];
        const fb = Float64Array.from(b.flatMap((i) => Array.from(evalLin(Lt, i, delta))));
        const { grad } = lossAndGradient('cross-entropy', fb, b.map((i) => LABELS[i]), C);
        const g = new Float64Array(P);
        b.forEach((i, a) => { for (let c = 0; c < C; c++) Lt.J[i][c].forEach((j, p) => { g[p] += grad[a * C + c] * j; }); });
        const coef = clipCoefficient(Math.hypot(...g), opts.maxGradNorm);
        if (coef < 1) clipped++;
        const lr = linearWarmupDecay(s, { learningRate: opts.learningRate, warmupSteps: opts.warmupSteps, totalSteps: opts.steps });
        for (let p = 0; p < P; p++) delta[p] -= lr * coef * g[p];
        trajectory.push({ train: flat(Lt, delta), eval: flat(Lx, delta) });
      }
      assert.ok(clipped > 0 && clipped < opts.steps, `clipping must be active on some steps only (${clipped})`);
      // function space
      const seen: { train: Float64Array; eval: Float64Array }[] = [];
      const r = linearizedDynamics({
        kernel: K, f0: { train: flat(Lt, new Float64Array(P)), eval: flat(Lx, new Float64Array(P)) }, labels: LABELS,
        loss: 'cross-entropy', update: 'sgd', ...opts,
        onStep: ({ logits }) => seen.push({ train: Float64Array.from(logits.train), eval: Float64Array.from(logits.eval) }),
      });
      assert.equal(seen.length, opts.steps);
      seen.forEach((s, t) => {
        assertRel(s.train, trajectory[t].train, 1e-5, `step ${t + 1} train`);
        assertRel(s.eval, trajectory[t].eval, 1e-5, `step ${t + 1} eval`);
      });
      assertRel(r.logits.eval, trajectory.at(-1)!.eval, 1e-5, 'final eval');
      assert.ok(Math.max(...Array.from(r.logits.train, (v, j) => Math.abs(v - flat(Lt, new Float64Array(P))[j]))) > 0.05, 'the logits move');
    } finally { model.dispose(); }
  });

  it('sign dynamics with the A-SignGD kernel equal parameter-space SignGD on the linearised model for one example per step and one output', async () => {
    const model = makeMlp(13, 3, 5, 1);
    try {
      const N = TRAIN.length, labels = TRAIN.map(() => 0); // C = 1: MSE towards 1
      const K = (await empiricalNtkFn(model.outputFn, model.vars, { kinds: ['asymmetric-signgd'] })(TRAIN, [{ name: 'eval', inputs: EVAL }]))['asymmetric-signgd']!;
      const Lt = linearise(model, TRAIN), Lx = linearise(model, EVAL);
      const opts = { steps: 10, batchSize: 1, seed: 2, learningRate: 0.01, warmupSteps: 0 };
      const P = Lt.J[0][0].length;
      const delta = new Float64Array(P);
      const batches = batchSchedule(N, 1, opts.seed, opts.steps);
      const trajectory: Float64Array[] = [];
      for (let s = 0; s < opts.steps; s++) {
        const i = batches[s][0];
        const { grad } = lossAndGradient('mse', evalLin(Lt, i, delta), [0], 1);
        const lr = linearWarmupDecay(s, { learningRate: opts.learningRate, warmupSteps: 0, totalSteps: opts.steps });
        Lt.J[i][0].forEach((j, p) => { delta[p] -= lr * Math.sign(grad[0] * j); });
        trajectory.push(Float64Array.from([...flat(Lt, delta), ...flat(Lx, delta)]));
      }
      const seen: Float64Array[] = [];
      linearizedDynamics({
        kernel: K, f0: { train: flat(Lt, new Float64Array(P)), eval: flat(Lx, new Float64Array(P)) }, labels,
        loss: 'mse', update: 'sign', ...opts,
        onStep: ({ logits }) => seen.push(Float64Array.from([...logits.train, ...logits.eval])),
      });
      seen.forEach((s, t) => assertRel(s, trajectory[t], 1e-5, `step ${t + 1}`));
      assert.ok(Math.max(...trajectory.at(-1)!.map((v, j) => Math.abs(v - trajectory[0][j]))) > 1e-3, 'the logits move');
    } finally { model.dispose(); }
  });
});
