import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { empiricalNtkFn, defaultMaxGradients } from '../../../../src/engine/kernel/empirical-ntk';
import { exampleJacobian } from '../../../../src/engine/kernel/gradients';
import type { KernelBlock, KernelProgress } from '../../../../src/engine/kernel/types';
import { AbortError } from '../../../../src/engine/util/abort';
import { makeMlp, makeTokenModel, symmetricEigenvalues, type TokenInput, type ToyModel } from './toy-models';

/** Flattened per-example Jacobian rows in float64: rows[c] = ∇f_c(x) over all parameters. */
function jac<I>(model: ToyModel<I>, x: I): Float64Array[] {
  const perParam = exampleJacobian(model.outputFn, model.vars.map((variable) => ({ variable })), x, model.C);
  const data = perParam.map((t) => t.arraySync() as number[][]);
  perParam.forEach((t) => t.dispose());
  return Array.from({ length: model.C }, (_, c) => Float64Array.from(data.flatMap((r) => r[c])));
}

const sign = (v: number) => (v > 0 ? 1 : v < 0 ? -1 : 0);
const dot = (a: Float64Array, b: Float64Array, fa = (v: number) => v, fb = (v: number) => v) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += fa(a[i]) * fb(b[i]);
  return s;
};

/** Explicit [N, C, M, C] kernel from flattened gradients by a plain float64 loop. */
function explicit(A: Float64Array[][], B: Float64Array[][], C: number, fa?: (v: number) => number, fb?: (v: number) => number): Float64Array {
  const out = new Float64Array(A.length * C * B.length * C);
  let i = 0;
  for (const ga of A) for (let c = 0; c < C; c++) for (const gb of B) for (let c2 = 0; c2 < C; c2++) out[i++] = dot(ga[c], gb[c2], fa, fb);
  return out;
}

function assertClose(actual: Float64Array, expected: Float64Array, rel: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  const scale = expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= rel * scale, `${what}[${i}]: ${actual[i]} vs ${expected[i]} (scale ${scale})`);
  }
}

/** transpose [N, C, N, C] → K[m, c', n, c]. */
function transposeBlock(b: KernelBlock): Float64Array {
  const [N, C, M] = b.shape;
  const out = new Float64Array(b.data.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let m = 0; m < M; m++) for (let c2 = 0; c2 < C; c2++) {
    out[((n * C + c) * M + m) * C + c2] = b.data[((m * C + c2) * N + n) * C + c];
  }
  return out;
}

const TRAIN: TokenInput[] = [
  { ids: [1, 3, 3, 0], mask: 2 }, { ids: [4, 4, 4, 6], mask: 0 }, { ids: [2, 5, 1, 3], mask: 3 },
  { ids: [0, 6, 2, 2], mask: 1 }, { ids: [5, 1, 0, 4], mask: 2 },
];
const DEV: TokenInput[] = [{ ids: [3, 3, 1, 2], mask: 0 }, { ids: [6, 0, 5, 5], mask: 3 }];
const TEST: TokenInput[] = [{ ids: [1, 1, 1, 1], mask: 1 }];

describe('kernel/empirical-ntk', () => {
  before(async () => { await tf.setBackend('cpu'); });
  let model: ToyModel<TokenInput>;
  beforeEach(() => { model = makeTokenModel(3); });
  afterEach(() => model.dispose());

  it('gives kernel entries equal to explicit float64 dot products of per-example gradients (sgd, signgd, A-SignGD and its flip)', async () => {
    const before = tf.memory().numTensors;
    const ntk = empiricalNtkFn(model.outputFn, model.vars, { kinds: ['sgd', 'signgd', 'asymmetric-signgd'] });
    const K = await ntk(TRAIN, [{ name: 'dev', inputs: DEV }, { name: 'test', inputs: TEST }]);
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    const C = model.C;
    const gTrain = TRAIN.map((x) => jac(model, x));
    for (const [name, set] of [['train', TRAIN], ['dev', DEV], ['test', TEST]] as const) {
      const g = set.map((x) => jac(model, x));
      assert.deepEqual(K.sgd![name].shape, [TRAIN.length, C, set.length, C]);
      assertClose(K.sgd![name].data, explicit(gTrain, g, C), 2e-6, `sgd ${name}`);
      assert.deepEqual(Array.from(K.signgd![name].data), Array.from(explicit(gTrain, g, C, sign, sign)), `signgd ${name}`);
      assertClose(K['asymmetric-signgd']![name].data, explicit(gTrain, g, C, sign), 2e-6, `A-SignGD ${name}`);
      // flipped: K'[n, c, m, c'] = ⟨sign g_m,c', g_n,c⟩
      assertClose(K['asymmetric-signgd']![name].flipped!, explicit(gTrain, g, C, undefined, sign), 2e-6, `A-SignGD flipped ${name}`);
    }
  });

  it('makes SignGD integer-valued and symmetric, and the SGD train kernel symmetric positive semi-definite', async () => {
    const K = await empiricalNtkFn(model.outputFn, model.vars, { kinds: ['sgd', 'signgd'] })(TRAIN, []);
    const n = TRAIN.length * model.C;
    const s = K.signgd!.train.data;
    assert.ok(s.every((v) => Number.isInteger(v)), 'SignGD entries are integers');
    assert.ok(s.some((v) => v !== 0));
    const k = K.sgd!.train.data;
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      assert.equal(k[i * n + j], k[j * n + i], 'sgd symmetric');
      assert.equal(s[i * n + j], s[j * n + i], 'signgd symmetric');
    }
    const eig = symmetricEigenvalues(k, n);
    const max = Math.max(...eig);
    assert.ok(max > 0 && Math.min(...eig) >= -1e-6 * max, `eigenvalues ${eig}`);
  });

  it('gives the same kernels with one train example per chunk and tiny contraction pieces as in one pass (chunked = unchunked)', async () => {
    const kinds = ['sgd', 'signgd', 'asymmetric-signgd'] as const;
    const sets = [{ name: 'dev', inputs: DEV }];
    const whole = await empiricalNtkFn(model.outputFn, model.vars, { kinds: [...kinds], maxGradientsInMemory: 1000 })(TRAIN, sets);
    const progress: KernelProgress[] = [];
    const chunked = await empiricalNtkFn(model.outputFn, model.vars, { kinds: [...kinds], maxGradientsInMemory: 2 * model.C, maxPieceSize: 5 })(
      TRAIN, sets, { onProgress: (p) => progress.push(p) });
    for (const kind of kinds) for (const name of ['train', 'dev']) {
      assertClose(chunked[kind]![name].data, whole[kind]![name].data, kind === 'signgd' ? 0 : 1e-6, `${kind} ${name}`);
      if (kind === 'asymmetric-signgd') assertClose(chunked[kind]![name].flipped!, whole[kind]![name].flipped!, 1e-6, `${kind} ${name} flipped`);
    }
    // one chunk per train example: chunk n computes example n, the train tail n+1..N−1 and the dev set again
    const N = TRAIN.length, M = DEV.length;
    assert.equal(progress.at(-1)!.total, N * (N + 1) / 2 + N * M);
    assert.equal(progress.at(-1)!.done, progress.at(-1)!.total);
    assert.equal(progress.at(-1)!.etaSeconds, 0);
  });

  it('makes the A-SignGD flipped train block the transpose of the A-SignGD train block (and the kernel itself not symmetric)', async () => {
    const K = await empiricalNtkFn(model.outputFn, model.vars, { kinds: ['asymmetric-signgd'], maxGradientsInMemory: 3 * model.C })(TRAIN, []);
    const b = K['asymmetric-signgd']!.train;
    assert.deepEqual(Array.from(b.flipped!), Array.from(transposeBlock(b)));
    assert.notDeepEqual(Array.from(b.data), Array.from(transposeBlock(b)));
  });

  it('equals the closed form δ_cc′·(φ(x)·φ(x′) + 1) on a model linear in its parameters, f(x) = W·φ(x) + b', async () => {
    const D = 4, C = 3;
    const W = tf.variable(tf.randomNormal([C, D], 0, 1, 'float32', 7)), b = tf.variable(tf.zeros([C]));
    const phi = (x: number[]) => x.map((v, i) => Math.sin(v * (i + 1)));
    const f = (x: number[]) => tf.tidy(() => tf.add(tf.matMul(tf.tensor2d([phi(x)]), W, false, true), b) as tf.Tensor2D);
    const xs = [[0.1, 0.5, -0.3, 1.2], [0.9, -0.2, 0.4, 0.0], [-1.1, 0.3, 0.8, 0.6]];
    try {
      const K = await empiricalNtkFn(f, [W, b], { kinds: ['sgd'] })(xs, []);
      const expected = new Float64Array(K.sgd!.train.data.length);
      xs.forEach((x, n) => xs.forEach((y, m) => {
        const k = phi(x).reduce((s, v, i) => s + Math.fround(v) * Math.fround(phi(y)[i]), 0) + 1;
        for (let c = 0; c < C; c++) expected[((n * C + c) * xs.length + m) * C + c] = k;
      }));
      assertClose(K.sgd!.train.data, expected, 1e-6, 'linear-model kernel');
    } finally { W.dispose(); b.dispose(); }
  });

  it('stops within one example when aborted during the kernel, throws AbortError and releases every tensor', async () => {
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    const seen: number[] = [];
    const ntk = empiricalNtkFn(model.outputFn, model.vars, { kinds: ['sgd', 'signgd'], maxGradientsInMemory: 2 * model.C });
    await assert.rejects(
      ntk(TRAIN, [{ name: 'dev', inputs: DEV }], {
        signal: controller.signal,
        onProgress: (p) => { seen.push(p.done); if (p.done === 3) controller.abort(); },
      }),
      (e: unknown) => e instanceof AbortError && /kernel/.test(e.message),
    );
    assert.equal(Math.max(...seen), 3, 'no gradient is computed after the abort');
    assert.equal(tf.memory().numTensors, before, 'tensors leaked on abort');
  });

  it('refuses a memory cap below two examples and names the setting; sizes the default cap from the budget', async () => {
    const ntk = empiricalNtkFn(model.outputFn, model.vars, { kinds: ['sgd'], maxGradientsInMemory: model.C });
    await assert.rejects(ntk(TRAIN, []), /maxGradientsInMemory = 3 .*at least 6/);
    assert.equal(defaultMaxGradients(1000, { budgetBytes: 40_000 }), 10);
    assert.equal(defaultMaxGradients(1000, { budgetBytes: 40_000, signCopies: true }), 5);
    assert.equal(defaultMaxGradients(1e12, { budgetBytes: 1 }), 2);
  });

  it('works for an MLP with C = 2 and several chunk sizes (kernel independent of maxGradientsInMemory)', async () => {
    const mlp = makeMlp(2);
    try {
      const xs = [[0.3, -1.2, 0.7], [1.5, 0.2, -0.4], [-0.9, 0.8, 0.1], [0.2, 0.2, 0.2]];
      const results = [];
      for (const cap of [4, 6, 100]) results.push((await empiricalNtkFn(mlp.outputFn, mlp.vars, { kinds: ['sgd'], maxGradientsInMemory: cap })(xs, [{ name: 'x', inputs: xs }])).sgd!);
      for (const r of results.slice(1)) {
        assertClose(r.train.data, results[0].train.data, 1e-6, 'train');
        assertClose(r.x.data, results[0].x.data, 1e-6, 'x');
      }
      // train×train by symmetry equals the streamed train×x block on the same inputs
      assertClose(results[0].train.data, results[0].x.data, 1e-6, 'symmetric fill = streamed');
    } finally { mlp.dispose(); }
  });
});
