import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { empiricalNtkFn } from '../../../../src/engine/kernel/empirical-ntk';
import { mseLoss, crossEntropyLoss } from '../../../../src/engine/finetune/losses';
import { finetune } from '../../../../src/engine/finetune/loop';
import { AbortError } from '../../../../src/engine/util/abort';
import { makeMlp, solve, symmetricEigenvalues, type ToyModel } from '../kernel/toy-models';

/** A learnable toy task: the class is whether x0 + x1 − x2 > 0. */
const XS = [[0.9, 0.3, -0.2], [-0.8, -0.4, 0.1], [0.5, -0.1, 0.9], [-0.3, 0.7, 0.2], [1.1, -0.6, -0.5], [-0.9, 0.2, 0.6], [0.2, 0.9, -0.7], [-0.4, -0.9, -0.1]];
const LABELS = XS.map((x) => (x[0] + x[1] - x[2] > 0 ? 1 : 0));

function lossOf(model: ToyModel<number[]>, loss = crossEntropyLoss) {
  return (batch: number[]) => tf.tidy(() => loss(tf.concat(batch.map((i) => model.outputFn(XS[i]))) as tf.Tensor2D, batch.map((i) => LABELS[i])));
}

const base = { nTrain: XS.length, batchSize: 4, optimizer: 'adamw' as const, learningRate: 0.05, warmupSteps: 2, maxGradNorm: 1 };

describe('finetune/loop', () => {
  before(async () => { await tf.setBackend('cpu'); });

  it('decreases the loss on a learnable toy task (AdamW, mini-batches, warm-up, clipping) without leaking tensors', async () => {
    const model = makeMlp(4);
    try {
      const before = tf.memory().numTensors;
      const fullLoss = () => tf.tidy(() => lossOf(model)(XS.map((_, i) => i)).dataSync()[0]);
      const initial = fullLoss();
      const r = await finetune({ ...base, params: model.params, lossFn: lossOf(model), steps: 60, seed: 1 });
      assert.equal(r.lossCurve.length, 60);
      assert.ok(fullLoss() < 0.5 * initial, `full-batch loss ${initial} → ${fullLoss()}`);
      assert.equal(tf.memory().numTensors, before);
    } finally { model.dispose(); }
  });

  it('is deterministic: the same seed gives bitwise the same loss curve, another seed another one', async () => {
    const run = async (seed: number) => {
      const model = makeMlp(4);
      try { return (await finetune({ ...base, params: model.params, lossFn: lossOf(model), steps: 12, seed })).lossCurve.map((p) => p.loss); }
      finally { model.dispose(); }
    };
    const a = await run(7), b = await run(7), c = await run(8);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it('restores the parameters of the best dev evaluation at the end (first best on ties)', async () => {
    const model = makeMlp(4);
    try {
      const metrics = [0.5, 0.9, 0.7, 0.9];
      const snapshots: number[][] = [];
      let k = 0;
      const r = await finetune({
        ...base, params: model.params, lossFn: lossOf(model), steps: 8, seed: 3, evalEvery: 2,
        evaluate: async () => { snapshots.push(Array.from(model.theta())); return { metric: metrics[k++] }; },
      });
      assert.deepEqual(r.devCurve, [{ step: 2, metric: 0.5 }, { step: 4, metric: 0.9 }, { step: 6, metric: 0.7 }, { step: 8, metric: 0.9 }]);
      assert.equal(r.bestStep, 4);
      assert.equal(r.bestMetric, 0.9);
      assert.deepEqual(Array.from(model.theta()), snapshots[1]);
      assert.notDeepEqual(snapshots[1], snapshots[3]);
    } finally { model.dispose(); }
  });

  it('throws AbortError before the next step when aborted from onStep, and releases every tensor', async () => {
    const model = makeMlp(4);
    try {
      const before = tf.memory().numTensors;
      const controller = new AbortController();
      let calls = 0;
      const loss = lossOf(model);
      await assert.rejects(finetune({
        ...base, params: model.params, steps: 10, seed: 1, signal: controller.signal,
        lossFn: (b) => { calls++; return loss(b); },
        onStep: ({ step }) => { if (step === 2) controller.abort(); },
      }), (e: unknown) => e instanceof AbortError && /before step 3 of 10/.test(e.message));
      assert.equal(calls, 2);
      assert.equal(tf.memory().numTensors, before);
    } finally { model.dispose(); }
  });

  it('trains a model linear in its parameters to kernel regression around f0: f0(X) + K_Xt·K_tt⁻¹·(y − f0(t)) (full-batch SGD on MSE)', async () => {
    const D = 6, C = 2, n = 4;
    const phi = (x: number[]) => [...x, ...x.map((v) => Math.cos(2 * v))].slice(0, D);
    const W = tf.variable(tf.randomNormal([C, D], 0, 0.3, 'float32', 5)), b = tf.variable(tf.randomNormal([C], 0, 0.3, 'float32', 6));
    const f = (x: number[]) => tf.tidy(() => tf.add(tf.matMul(tf.tensor2d([phi(x)]), W, false, true), b) as tf.Tensor2D);
    const train = XS.slice(0, n), evalX = XS.slice(n);
    const y = LABELS.slice(0, n);
    try {
      const K = (await empiricalNtkFn(f, [W, b], { kinds: ['sgd'] })(train, [{ name: 'x', inputs: evalX }])).sgd!;
      const f0 = (xs: number[][]) => xs.map((x) => tf.tidy(() => Array.from(f(x).dataSync()))).flat();
      const ft = f0(train), fx = f0(evalX);
      const r = Float64Array.from(ft, (v, i) => (i % C === y[Math.floor(i / C)] ? 1 : 0) - v);
      const alpha = solve(K.train.data, r, n * C);
      const M = evalX.length;
      const expected = fx.map((v, j) => v + Array.from(alpha).reduce((s, a, i) => s + a * K.x.data[i * M * C + j], 0));
      const eig = symmetricEigenvalues(K.train.data, n * C);
      const lambdaMax = Math.max(...eig), kappa = lambdaMax / Math.min(...eig);
      assert.ok(kappa < 100, `the test needs a well-conditioned kernel (κ = ${kappa})`);
      // mean MSE over n·C entries: the top mode contracts by (1 − 2ηλ/(nC)) per step; η = nC/(2λmax) zeroes it at once
      const params = new Map([['w', W], ['b', b]]);
      await finetune({
        params, nTrain: n, batchSize: n, optimizer: 'sgd', learningRate: (n * C) / (2 * lambdaMax), maxGradNorm: Infinity, steps: 40 * Math.ceil(kappa) + 200, seed: 0,
        lossFn: (batch) => tf.tidy(() => mseLoss(tf.concat(batch.map((i) => f(train[i]))) as tf.Tensor2D, batch.map((i) => y[i]))),
      });
      const got = f0(evalX), scale = Math.max(...expected.map(Math.abs));
      got.forEach((v, j) => assert.ok(Math.abs(v - expected[j]) < 1e-4 * scale, `eval logit ${j}: trained ${v} vs kernel regression ${expected[j]}`));
      const trained = f0(train);
      trained.forEach((v, i) => assert.ok(Math.abs(v - (ft[i] + r[i])) < 1e-4, 'training targets are fitted'));
    } finally { W.dispose(); b.dispose(); }
  });
});
