/**
 * LoRA fine-tuning (classifier/lora.ts) is the model the LoRA kernel (kernel/parameter-subsets.ts `loraSubspace`)
 * linearises: same A, same s = α/r, B = 0 at the start, frozen weights untouched. On a tiny random BERT checkpoint
 * (test/support/tiny-checkpoint.ts), cpu backend.
 */
import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '../../../../src/engine/backend'; // registers the linear-time UnsortedSegmentSum for cpu
import type { EncodedExample } from '../../../../src/engine/classifier/batch';
import { loraModel, type LoraModel } from '../../../../src/engine/classifier/lora';
import { HEAD_BIAS, HEAD_WEIGHT, promptClassifier, standardClassifier, type Classifier } from '../../../../src/engine/classifier/masked-lm-classifier';
import { crossEntropyLoss, finetune, lossAndGradient } from '../../../../src/engine/finetune';
import { empiricalNtkFn } from '../../../../src/engine/kernel/empirical-ntk';
import { loraSubspace, selectParameters, type LoraSubspace } from '../../../../src/engine/kernel/parameter-subsets';
import type { KernelBlock } from '../../../../src/engine/kernel/types';
import { loadCheckpoint, parameterGroup, type EncoderConfig, type Params } from '../../../../src/engine/model';
import { prng, writeTinyCheckpoint } from '../../../support/tiny-checkpoint';

const LABELS = [7, 11, 30]; // label-word ids (C = 3)
const C = LABELS.length;
const RANK = 2;
const ALPHA = 4; // s = 2
const SEED = 3;
const ex = (inputIds: number[], maskPos: number): EncodedExample => ({ inputIds, tokenTypeIds: inputIds.map(() => 0), maskPos });
const TRAIN = [ex([2, 5, 9, 14, 3], 2), ex([2, 21, 8, 3], 1), ex([2, 33, 17, 26, 12, 3], 4), ex([2, 6, 3], 1)];
const Y = [0, 2, 1, 2];
const TEST = [ex([2, 19, 4, 3], 2), ex([2, 28, 10, 15, 3], 3), ex([2, 35, 3], 1)];

const groupOf = (config: EncoderConfig) => (name: string) => (name === HEAD_WEIGHT || name === HEAD_BIAS ? 'head' : parameterGroup(name, config));
const maxAbs = (a: ArrayLike<number>) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i])); return m; };
const norm = (a: ArrayLike<number>) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * a[i]; return Math.sqrt(s); };
const evalOf = (classify: Classifier) => (x: EncodedExample) => classify([x], { training: false });
const logits = (classify: Classifier, xs: EncodedExample[]): Float32Array => tf.tidy(() => classify(xs, { training: false }).dataSync() as Float32Array);

/** The LoRA kernel of `loraSubspace` and the LoRA model built on it (same params, rank, α, seed). */
function makeLora(params: Params, config: EncoderConfig): { sub: LoraSubspace; lm: LoraModel; dispose(): void } {
  const sub = loraSubspace(params, groupOf(config), { rank: RANK, alpha: ALPHA, seed: SEED });
  const lm = loraModel(params, sub, { rank: RANK, alpha: ALPHA });
  return { sub, lm, dispose: () => { lm.dispose(); sub.dispose(); } };
}

/** Runs fn, then puts every variable of `params` back to its value before (fine-tuning moves the head). */
async function keepingParams<T>(params: Params, fn: () => Promise<T>): Promise<T> {
  const saved = new Map([...params].map(([n, v]) => [n, tf.clone(v)]));
  try { return await fn(); } finally {
    for (const [n, v] of params) v.assign(saved.get(n)!);
    tf.dispose([...saved.values()]);
  }
}

const loraB = (lm: LoraModel) => [...lm.trainable].filter(([n]) => n.endsWith('.lora_B')).map(([, v]) => v);
const loraA = (lm: LoraModel) => [...lm.trainable].filter(([n]) => n.endsWith('.lora_A')).map(([, v]) => v);

describe('classifier/lora: LoRA fine-tuning is what the LoRA kernel linearises', function () {
  this.timeout(120_000);
  let dir: string;
  let config: EncoderConfig;
  let params: Params;
  let previous: string;

  before(async () => {
    previous = tf.getBackend();
    await tf.setBackend('cpu');
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ntk-lora-'));
    await writeTinyCheckpoint(dir, { modelType: 'bert', seed: 77 });
    ({ config, params } = await loadCheckpoint(dir));
  });
  after(async () => {
    params?.forEach((v) => v.dispose());
    if (dir) await fs.rm(dir, { recursive: true, force: true });
    if (previous) await tf.setBackend(previous);
  });

  it('names and shapes: A [r, in] per target (a copy of the kernel\'s A), B [out, r] = 0, then the kernel\'s head; the view only reads', () => {
    const { sub, lm, dispose } = makeLora(params, config);
    try {
      const q = 'bert.encoder.layer.0.attention.self.query.weight';
      const A = lm.trainable.get('bert.encoder.layer.0.attention.self.query.lora_A')!;
      const B = lm.trainable.get('bert.encoder.layer.0.attention.self.query.lora_B')!;
      assert.deepEqual(A.shape, [RANK, config.hiddenSize]);
      assert.deepEqual(B.shape, [config.hiddenSize, RANK]);
      assert.deepEqual(A.dataSync(), sub.loraA.get(q)!.dataSync());
      assert.ok(B.dataSync().every((v) => v === 0));
      assert.notEqual(A, sub.loraA.get(q), 'A is the model\'s own variable, the kernel keeps its draw');
      assert.equal(loraA(lm).length, 4 * config.numLayers);
      const heads = [...lm.trainable.keys()].filter((n) => !/\.lora_[AB]$/.test(n));
      assert.deepEqual(heads, sub.parameters.filter((p) => !p.project).map((p) => p.name));
      assert.ok(heads.length > 0 && heads.every((n) => n.startsWith('cls.')));
      assert.equal(lm.scale, ALPHA / RANK);
      assert.deepEqual(lm.kernelParameters.map((p) => p.name), [...lm.trainable.keys()]);
      assert.equal(lm.view.get('bert.embeddings.LayerNorm.weight'), params.get('bert.embeddings.LayerNorm.weight'), 'non-targets are the frozen variables');
      assert.throws(() => [...lm.view], /only supports get\/has/);
      assert.throws(() => lm.view.set('x', B), /only supports get\/has/);
      assert.throws(() => loraModel(params, sub, { rank: RANK + 1, alpha: ALPHA }), /A \[2,16\].*A \[3, in\]/);
    } finally { dispose(); }
  });

  it('(b) at B = 0 the LoRA view gives bitwise the frozen model\'s outputs (prompt and standard mode), and differs once B ≠ 0', () => {
    const xs = [...TRAIN, ...TEST]; // one padded batch
    const H = config.hiddenSize;
    const rand = prng(5);
    const W = tf.variable(tf.tensor2d(Array.from({ length: C * H }, () => rand() - 0.5), [C, H]));
    const b = tf.variable(tf.tensor1d([0.1, -0.2, 0.05]));
    const withHead: Params = new Map([...params, [HEAD_WEIGHT, W], [HEAD_BIAS, b]]);
    const { lm, dispose } = makeLora(withHead, config);
    try {
      assert.ok(lm.trainable.get(HEAD_WEIGHT) === W && lm.trainable.get(HEAD_BIAS) === b, 'standard mode: the linear head is trained');
      const pairs: [string, Classifier, Classifier][] = [
        ['prompt', promptClassifier(params, config, config.padTokenId, LABELS), promptClassifier(lm.view, config, config.padTokenId, LABELS)],
        ['standard', standardClassifier(withHead, config, config.padTokenId), standardClassifier(lm.view, config, config.padTokenId)],
      ];
      for (const [mode, frozen, lora] of pairs) {
        const before = tf.memory().numTensors;
        const got = logits(lora, xs);
        assert.equal(tf.memory().numTensors, before, `${mode}: the view's W + s·B·A temporaries are released by the classifier's tidy`);
        assert.deepEqual(got, logits(frozen, xs), `${mode}: LoRA view at B = 0 vs frozen model`);
      }
      tf.tidy(() => loraB(lm)[0].assign(tf.fill(loraB(lm)[0].shape, 0.1)));
      for (const [mode, frozen, lora] of pairs) {
        const d = logits(lora, xs).map((v, i) => v - logits(frozen, xs)[i]);
        assert.ok(maxAbs(d) > 1e-3, `${mode}: B ≠ 0 must change the outputs (max change ${maxAbs(d)})`);
      }
    } finally { dispose(); W.dispose(); b.dispose(); }
  });

  it('(a) at initialisation the plain eNTK over (B, A, head) of the LoRA model equals loraSubspace\'s projected kernel: SGD to 1e-5, SignGD exactly', async () => {
    const { sub, lm, dispose } = makeLora(params, config);
    try {
      const base = promptClassifier(params, config, config.padTokenId, LABELS);
      const lora = promptClassifier(lm.view, config, config.padTokenId, LABELS);
      const sets = [{ name: 'test', inputs: TEST }];
      const kinds: ('sgd' | 'signgd')[] = ['sgd', 'signgd'];
      const projected = await empiricalNtkFn(evalOf(base), sub.parameters, { kinds })(TRAIN, sets);
      const explicit = await empiricalNtkFn(evalOf(lora), lm.kernelParameters, { kinds })(TRAIN, sets);
      const headOnly = await empiricalNtkFn(evalOf(base), selectParameters(params, 'head', groupOf(config)), { kinds: ['sgd'] })(TRAIN, sets);
      // The A coordinates alone: ∂f/∂A = s·Bᵀ·G is exactly 0 at B = 0, so they add 0 to SGD and sign 0 to SignGD.
      const aOnly = await empiricalNtkFn(evalOf(lora), lm.kernelParameters.filter((p) => p.name!.endsWith('.lora_A')), { kinds })(TRAIN, sets);
      for (const set of ['train', 'test']) {
        const kP = projected.sgd![set].data;
        const kE = explicit.sgd![set].data;
        const scale = maxAbs(kP);
        kE.forEach((v, i) => assert.ok(Math.abs(v - kP[i]) <= 1e-5 * scale, `sgd/${set} entry ${i}: ${v} vs ${kP[i]}`));
        assert.deepEqual(explicit.signgd![set].data, projected.signgd![set].data, `signgd/${set}: the same integers`);
        const kH = headOnly.sgd![set].data;
        assert.ok(kP.some((v, i) => Math.abs(v - kH[i]) > 1e-2 * scale), `sgd/${set}: the B coordinates contribute (not only the head)`);
        assert.ok(aOnly.sgd![set].data.every((v) => v === 0) && aOnly.signgd![set].data.every((v) => v === 0), `${set}: A adds exactly 0 at B = 0`);
      }
    } finally { dispose(); }
  });

  it('(c) finetune() over `trainable` moves B, then A (not at step 1, where ∂f/∂A = 0), and the head; frozen weights stay bitwise', async () => {
    await keepingParams(params, async () => {
      const { lm, dispose } = makeLora(params, config);
      try {
        const frozenNames = [...params.keys()].filter((n) => !lm.trainable.has(n));
        const frozen0 = new Map(frozenNames.map((n) => [n, params.get(n)!.dataSync().slice()]));
        const trained0 = new Map([...lm.trainable].map(([n, v]) => [n, v.dataSync().slice() as Float32Array]));
        const classify = promptClassifier(lm.view, config, config.padTokenId, LABELS);
        const afterStep: Map<string, Float32Array>[] = [];
        const result = await finetune({
          params: lm.trainable,
          lossFn: (batch, { training, seed }) => tf.tidy(() => crossEntropyLoss(classify(batch.map((i) => TRAIN[i]), { training, seed }), batch.map((i) => Y[i]))),
          nTrain: TRAIN.length, steps: 3, batchSize: 2, optimizer: 'adamw', learningRate: 1e-2, weightDecay: 0, seed: 1,
          onStep: () => { afterStep.push(new Map([...lm.trainable].map(([n, v]) => [n, v.dataSync().slice() as Float32Array]))); },
        });
        assert.equal(result.lossCurve.length, 3);
        const moved = (step: Map<string, Float32Array>, name: string) => step.get(name)!.some((v, i) => v !== trained0.get(name)![i]);
        const names = [...lm.trainable.keys()];
        const bs = names.filter((n) => n.endsWith('.lora_B'));
        const as = names.filter((n) => n.endsWith('.lora_A'));
        const heads = names.filter((n) => !/\.lora_[AB]$/.test(n));
        assert.ok(bs.every((n) => moved(afterStep[0], n)), 'every B moves at step 1');
        assert.ok(as.every((n) => !moved(afterStep[0], n)), 'no A moves at step 1 (B = 0 ⇒ ∂f/∂A = 0)');
        assert.ok(as.every((n) => moved(afterStep[2], n)), 'every A has moved by step 3');
        assert.ok(heads.every((n) => moved(afterStep[2], n)), `every head parameter moves (${heads.join(', ')})`);
        for (const n of frozenNames) assert.deepEqual(params.get(n)!.dataSync(), frozen0.get(n), `frozen '${n}' unchanged`);
      } finally { dispose(); }
    });
  });

  it('(d) ∂f/∂B = s·G·Aᵀ = central finite differences of the view, and the first SGD step moves f by −η·K·g of the LoRA kernel', async () => {
    const { sub, lm, dispose } = makeLora(params, config);
    try {
      const lora = promptClassifier(lm.view, config, config.padTokenId, LABELS);
      const base = promptClassifier(params, config, config.padTokenId, LABELS);
      const x = TRAIN[0];
      const c = 1;
      const fc = (cl: Classifier) => () => tf.tidy(() => cl([x], { training: false }).slice([0, c], [1, 1]).sum() as tf.Scalar);
      const Bs = loraB(lm);
      const gB = tf.variableGrads(fc(lora), Bs);
      const gW = tf.variableGrads(fc(base), sub.parameters.filter((p) => p.project).map((p) => p.variable));
      try {
        // Known answer: the gradient in B is the kernel's projection of the full gradient, s·G·Aᵀ.
        const targets = [...sub.loraA.keys()];
        targets.forEach((name, t) => {
          const B = Bs[t];
          const expected = tf.tidy(() => tf.matMul(gW.grads[params.get(name)!.name], sub.loraA.get(name)!, false, true).mul(ALPHA / RANK));
          const got = gB.grads[B.name].dataSync();
          const e = expected.dataSync();
          const scale = maxAbs(e);
          got.forEach((v, i) => assert.ok(Math.abs(v - e[i]) <= 1e-5 * scale, `${name} ∂f/∂B[${i}]: ${v} vs ${e[i]}`));
          expected.dispose();
        });
        // Central differences along a random direction V over every B, and on the largest coordinates of one B.
        const eps = 1e-2;
        const rand = prng(11);
        const V = Bs.map((B) => tf.tensor(Array.from({ length: B.size }, () => rand() - 0.5), B.shape));
        const f = () => { const s = fc(lora)(); const v = s.dataSync()[0]; s.dispose(); return v; };
        const shift = (k: number) => Bs.forEach((B, t) => B.assign(tf.tidy(() => tf.mul(V[t], k))));
        shift(eps); const fPlus = f();
        shift(-eps); const fMinus = f();
        shift(0);
        const fd = (fPlus - fMinus) / (2 * eps);
        const ad = Bs.reduce((s, B, t) => s + tf.tidy(() => tf.sum(tf.mul(gB.grads[B.name], V[t])).dataSync()[0]), 0);
        tf.dispose(V);
        assert.ok(Math.abs(fd - ad) <= 1e-2 * Math.abs(ad) && Math.abs(ad) > 1e-3, `directional: FD ${fd} vs autodiff ${ad}`);
        const B0 = Bs[0];
        const g0 = gB.grads[B0.name].dataSync();
        const top = [...g0.keys()].sort((i, j) => Math.abs(g0[j]) - Math.abs(g0[i])).slice(0, 3);
        for (const i of top) {
          const at = (v: number) => { const z = new Float32Array(B0.size); z[i] = v; tf.tidy(() => B0.assign(tf.tensor(z, B0.shape))); return f(); };
          const fdi = (at(eps) - at(-eps)) / (2 * eps);
          at(0);
          assert.ok(Math.abs(fdi - g0[i]) <= 1e-2 * Math.abs(g0[i]), `∂f/∂B0[${i}]: FD ${fdi} vs autodiff ${g0[i]}`);
        }
      } finally {
        tf.dispose([gB.value, gW.value, ...Object.values(gB.grads), ...Object.values(gW.grads)]);
      }

      // One full-batch SGD step (no clipping, no dropout) of LoRA fine-tuning: Δf(x_m) vs −η·Σ_n K(x_n, x_m)ᵀ·g_n,
      // with K the projected LoRA kernel of loraSubspace and g_n = ∂L/∂f(x_n) at θ0 (mean cross-entropy).
      const sets = [{ name: 'test', inputs: TEST }];
      const kLora = (await empiricalNtkFn(evalOf(base), sub.parameters, { kinds: ['sgd'] })(TRAIN, sets)).sgd!;
      const kFull = (await empiricalNtkFn(evalOf(base), selectParameters(params, 'all', groupOf(config)), { kinds: ['sgd'] })(TRAIN, sets)).sgd!;
      const f0Train = Float64Array.from(logits(lora, TRAIN));
      const { grad } = lossAndGradient('cross-entropy', f0Train, Y, C); // [N·C], already / N
      const predict = (k: KernelBlock, eta: number): Float64Array => {
        const [N, , M] = k.shape;
        const out = new Float64Array(M * C);
        for (let n = 0; n < N; n++) for (let a = 0; a < C; a++) for (let m = 0; m < M; m++) for (let b = 0; b < C; b++) {
          out[m * C + b] -= eta * k.data[((n * C + a) * M + m) * C + b] * grad[n * C + a];
        }
        return out;
      };
      const stepError = async (eta: number, set: 'train' | 'test'): Promise<{ rel: number; relFull: number; moved: number }> =>
        keepingParams(params, async () => {
          const xs = set === 'train' ? TRAIN : TEST;
          const f0 = logits(lora, xs);
          tf.tidy(() => Bs.forEach((B) => B.assign(tf.zerosLike(B))));
          const A0 = loraA(lm).map((A) => A.clone());
          try {
            await finetune({
              params: lm.trainable,
              lossFn: (batch) => tf.tidy(() => crossEntropyLoss(lora(batch.map((i) => TRAIN[i]), { training: false }), batch.map((i) => Y[i]))),
              nTrain: TRAIN.length, steps: 1, batchSize: TRAIN.length, optimizer: 'sgd', learningRate: eta, maxGradNorm: Infinity, seed: 0,
            });
            const df = logits(lora, xs).map((v, i) => v - f0[i]);
            const pred = predict(kLora[set], eta);
            const predFull = predict(kFull[set], eta);
            const rel = norm(df.map((v, i) => v - pred[i])) / norm(pred);
            const relFull = norm(df.map((v, i) => v - predFull[i])) / norm(predFull);
            return { rel, relFull, moved: norm(df) };
          } finally {
            tf.tidy(() => Bs.forEach((B) => B.assign(tf.zerosLike(B))));
            loraA(lm).forEach((A, i) => A.assign(A0[i]));
            tf.dispose(A0);
          }
        });
      for (const set of ['train', 'test'] as const) {
        const big = await stepError(2e-3, set);
        const small = await stepError(1e-3, set);
        assert.ok(small.moved > 1e-2, `${set}: the step moves f (‖Δf‖ = ${small.moved})`);
        assert.ok(small.rel < 1e-2, `${set}: Δf vs −η·K·g, relative error ${small.rel} at η = 1e-3`);
        // First order: the residual is O(η²), so its share of Δf halves with η.
        assert.ok(small.rel < 0.7 * big.rel, `${set}: relative error ${big.rel} (η = 2e-3) → ${small.rel} (η = 1e-3) should halve`);
        assert.ok(small.relFull > 0.3, `${set}: the full-model eNTK does not predict the LoRA step (relative error ${small.relFull})`);
      }
    } finally { dispose(); }
  });
});
