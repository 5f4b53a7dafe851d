/**
 * The structured eNTK of the causal families (model/causal/recording.ts: taps on each family's own forward) against
 * the plain per-example autodiff kernel (empiricalNtkFn), on tiny random models with non-trivial biases and norms:
 * GPT-2 (Conv1D layout, learned positions), GPT-NeoX (partial rotary, parallel and sequential residual, fused qkv),
 * Llama (GQA, llama3 rope scaling), Qwen2 (q/k/v biases), Mistral (sliding window); tied and untied heads; prompt
 * mode and the linear head of standard mode; sgd, signgd, asymmetric-signgd; padded batches of varied sizes and
 * several train chunks.
 *
 * Tolerances (float32 on both sides, different summation orders):
 *   - sgd and asymmetric-signgd: max |K − K_plain| ≤ 1e-4 · max |K_plain| per block (and the flipped block);
 *   - signgd counts coordinates whose signs agree, so it is exact except at coordinates whose true gradient is 0 and
 *     whose computed value is rounding noise with a random sign (each such coordinate may move an entry by ±2). Those
 *     are known: the key bias, where the softmax ignores it (q·b_k is the same for every key): GPT-2's fused c_attn
 *     bias holds it (H per layer), NeoX's fused query_key_value bias on the dims rotary leaves alone (nh·(hs − rd) per
 *     layer); with full rotary (the Llama layout) the key bias rotates with the position and its gradient is not 0.
 *     So |K − K_plain| ≤ 2·Z per entry (Z of them), and with those biases left out the signgd kernel must be equal
 *     (≤ 1e-4 relative: less than one coordinate of difference).
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import type { EncodedExample } from '../../../../src/engine/classifier/batch';
import { HEAD_BIAS, HEAD_WEIGHT, predictLogits, promptClassifier, standardClassifier } from '../../../../src/engine/classifier/masked-lm-classifier';
import { empiricalNtkFn } from '../../../../src/engine/kernel/empirical-ntk';
import { selectParameters } from '../../../../src/engine/kernel/parameter-subsets';
import { structuredNtkFn, type StructuredNtkOptions } from '../../../../src/engine/kernel/structured-ntk';
import type { KernelKind, KernelParameter, KernelResult } from '../../../../src/engine/kernel/types';
import type { Params } from '../../../../src/engine/model';
import {
  causalFamilyFor, causalRecordingModel, parseCausalConfig, randomCausalParams, type CausalConfig, type CausalRecordHead,
} from '../../../../src/engine/model/causal';
import { initBackend } from '../../../../src/engine/backend'; // also registers the linear-time UnsortedSegmentSum for cpu
import { fusedStructuredProduct } from '../../../../src/engine/kernel/structured-features';

const cfg = (json: Record<string, unknown>): CausalConfig => parseCausalConfig(json, '<test config.json>');
const V = 40;

interface Case { name: string; config: CausalConfig; labels: number[]; standard?: boolean }
const CASES: Case[] = [
  { name: 'gpt2 tied', labels: [7, 11, 30], config: cfg({ model_type: 'gpt2', vocab_size: V, n_positions: 16, n_embd: 12, n_layer: 2, n_head: 3, n_inner: 20 }) },
  { name: 'gpt2 untied', labels: [9, 20], standard: true, config: cfg({ model_type: 'gpt2', vocab_size: V, n_positions: 16, n_embd: 8, n_layer: 2, n_head: 2, tie_word_embeddings: false }) },
  {
    name: 'gpt-neox rotary_pct 0.25, parallel residual, untied', labels: [5, 17], standard: true, config: cfg({
      model_type: 'gpt_neox', vocab_size: V, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2,
      intermediate_size: 32, rotary_pct: 0.25, max_position_embeddings: 32, use_parallel_residual: true,
    }),
  },
  {
    name: 'gpt-neox rotary_pct 0.5, sequential residual, tied', labels: [3, 8, 13], config: cfg({
      model_type: 'gpt_neox', vocab_size: V, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2,
      intermediate_size: 32, rotary_pct: 0.5, max_position_embeddings: 32, use_parallel_residual: false, tie_word_embeddings: true,
    }),
  },
  {
    name: 'llama GQA nh=4 nkv=2, untied', labels: [6, 21], standard: true, config: cfg({
      model_type: 'llama', vocab_size: V, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
      num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32,
    }),
  },
  {
    name: 'llama llama3 rope_scaling, tied', labels: [4, 33], config: cfg({
      model_type: 'llama', vocab_size: V, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
      num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 32, tie_word_embeddings: true,
      rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8 },
    }),
  },
  {
    name: 'qwen2 q/k/v biases, tied', labels: [10, 12, 25], standard: true, config: cfg({
      model_type: 'qwen2', vocab_size: V, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
      num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32, tie_word_embeddings: true, rope_theta: 1000000,
    }),
  },
  {
    name: 'mistral sliding_window 3, untied', labels: [2, 19], config: cfg({
      model_type: 'mistral', vocab_size: V, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
      num_attention_heads: 2, num_key_value_heads: 2, max_position_embeddings: 32, sliding_window: 3,
    }),
  },
];

/** Random params with every tensor perturbed (random init makes biases 0 and norms 1, which would hide bugs). */
function tinyParams(config: CausalConfig, seed: number): Params {
  const params = randomCausalParams(config, seed);
  let k = 0;
  for (const v of params.values()) v.assign(tf.tidy(() => tf.add(v, tf.randomNormal(v.shape, 0, v.rank === 1 ? 0.3 : 0.2, 'float32', seed * 101 + k++))));
  return params;
}

/** Inputs of 2..9 tokens (batches hold padding), a label id among the tokens of some; f is read at the last token. */
function inputs(count: number, seed: number, label: number): EncodedExample[] {
  let s = seed;
  const rnd = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
  return Array.from({ length: count }, (_, i) => {
    const len = 2 + Math.floor(rnd() * 8);
    const ids = Array.from({ length: len }, () => 1 + Math.floor(rnd() * (V - 1)));
    if (i % 3 === 0) ids[0] = label; // shares a row with the (tied) head's label rows
    return { inputIds: ids, tokenTypeIds: ids.map(() => 0), maskPos: len - 1 };
  });
}

/** Coordinates whose gradient is identically 0 but computed as rounding noise (the key bias the softmax ignores). */
function zeroGradientCoordinates(config: CausalConfig, names: string[]): number {
  const fused = names.filter((n) => /attn\.c_attn\.bias$|attention\.query_key_value\.bias$/.test(n)).length;
  if (config.family === 'gpt2') return fused * config.hiddenSize;
  if (config.family === 'gpt-neox') return fused * config.numHeads * (config.headDim - (config.rotary?.rotaryDim ?? 0));
  return 0;
}
const FUSED_QKV_BIAS = /attn\.c_attn\.bias$|attention\.query_key_value\.bias$/;

/** Measured differences, reported at the end: family → kind → the largest max|ΔK| / max|K_plain| over its blocks. */
const measured = new Map<string, Map<string, number>>();
function note(what: string, kind: string, d: number): void {
  const m = measured.get(what) ?? new Map<string, number>();
  measured.set(what, m);
  m.set(kind, Math.max(m.get(kind) ?? 0, d));
}

function maxDiff(a: Float64Array, b: Float64Array): { abs: number; rel: number } {
  let abs = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) { abs = Math.max(abs, Math.abs(a[i] - b[i])); scale = Math.max(scale, Math.abs(b[i])); }
  return { abs, rel: abs / scale };
}

/** Every block of `expected` (and flipped blocks): max |Δ| ≤ tol · max |K| (relative), or ≤ absTol where given (signgd). */
function assertSameKernels(actual: KernelResult, expected: KernelResult, what: string, caseName: string, absTol?: Partial<Record<KernelKind, number>>): void {
  for (const [kind, blocks] of Object.entries(expected) as [KernelKind, KernelResult[KernelKind]][]) {
    for (const [set, blk] of Object.entries(blocks!)) {
      const got = actual[kind]![set];
      assert.deepEqual(got.shape, blk.shape, `${what} ${kind}/${set} shape`);
      const pairs: [string, Float64Array, Float64Array][] = [[kind, got.data, blk.data]];
      if (blk.flipped) pairs.push([`${kind} (flipped)`, got.flipped!, blk.flipped]);
      for (const [label, x, y] of pairs) {
        const d = maxDiff(x, y);
        const bound = absTol?.[kind];
        if (bound === undefined) {
          note(caseName, label, d.rel);
          assert.ok(d.rel <= 1e-4, `${caseName}, ${what} ${label}/${set}: max |ΔK| / max |K| = ${d.rel.toExponential(2)} > 1e-4`);
        } else {
          note(caseName, `${label} (with noise coordinates)`, d.abs);
          assert.ok(d.abs <= bound, `${caseName}, ${what} ${label}/${set}: max |ΔK| = ${d.abs} > ${bound} (2 × the identically-zero coordinates)`);
        }
      }
    }
  }
}

describe('kernel/structured-ntk on causal LMs: the tap recording = per-example autodiff eNTK (float32)', function () {
  this.timeout(300000);
  before(async () => { await tf.setBackend('cpu'); });
  after(() => {
    const lines = [...measured].map(([name, m]) => `    ${name}: ${[...m].map(([k, d]) => `${k} ${k.includes('noise') ? d : d.toExponential(1)}`).join(', ')}`);
    console.log(`    measured max |ΔK| / max |K| (signgd with noise coordinates: max |ΔK|):\n${lines.join('\n')}`);
  });

  CASES.forEach(({ name, config, labels }, n) => {
    it(`${name}, prompt mode, C = ${labels.length}: sgd (each dense form), signgd, asymmetric-signgd; chunks, padded batches, f0`, async () => {
      const family = causalFamilyFor(config.modelType)!;
      const params = tinyParams(config, 3 + n);
      const classify = promptClassifier(params, config, 0, labels);
      const outputFn = (x: EncodedExample) => classify([x], { training: false });
      const all = selectParameters(params, 'all', (p) => family.parameterGroup(p, config));
      const train = inputs(5, 11 + n, labels[0]);
      const sets = [{ name: 'dev', inputs: inputs(4, 23 + n, labels[1]) }, { name: 'test', inputs: inputs(3, 37 + n, labels[0]) }];
      const C = labels.length;
      const model = causalRecordingModel(params, config, 0, { kind: 'lm', labelIds: labels });
      const opts = (o: Partial<StructuredNtkOptions>): StructuredNtkOptions => ({ kinds: ['sgd'], batchSize: 3, maxGradientsInMemory: 4 * C, ...o });
      const before = tf.memory().numTensors;

      const plainSgd = await empiricalNtkFn(outputFn, all, { kinds: ['sgd'] })(train, sets);
      for (const form of ['explicit', 'structured', 'auto'] as const) {
        assertSameKernels(await structuredNtkFn(model, all, opts({ form }))(train, sets), plainSgd, `sgd (${form}, 2 chunks)`, name);
      }
      assertSameKernels(await structuredNtkFn(model, all, opts({ batchSize: 2, maxGradientsInMemory: 1000 }))(train, sets), plainSgd, 'sgd (one chunk, batches of 2)', name);
      assertSameKernels(await structuredNtkFn(model, all, opts({ batchSize: 4, maxGradientsInMemory: 2 * C }))(train, sets), plainSgd, 'sgd (1 example per explicit chunk, batches of 4)', name);

      // f0 as reported on the way = the classifier's logits.
      const reported = new Map<string, Float32Array[]>();
      await structuredNtkFn(model, all, opts({}))(train, sets, {
        onOutputs: (set, indices, values) => {
          const m = reported.get(set) ?? [];
          reported.set(set, m);
          indices.forEach((i, r) => { assert.equal(m[i], undefined, `${set}[${i}] reported twice`); m[i] = values.slice(r * C, (r + 1) * C); });
        },
      });
      for (const { name: set, inputs: xs } of [{ name: 'train', inputs: train }, ...sets]) {
        const f0 = await predictLogits(classify, xs);
        xs.forEach((_, i) => reported.get(set)![i].forEach((v, c) => assert.ok(Math.abs(v - f0[i * C + c]) < 1e-5, `${set}[${i}] class ${c}: ${v} vs ${f0[i * C + c]}`)));
      }

      // Sign kernels over all parameters: equal up to the identically-zero coordinates (see the file's comment) ...
      const Z = zeroGradientCoordinates(config, all.map((p) => p.name!));
      const signKinds: KernelKind[] = ['signgd', 'asymmetric-signgd'];
      const plainSign = await empiricalNtkFn(outputFn, all, { kinds: signKinds })(train, sets);
      for (const maxG of [3 * C, 1000]) {
        assertSameKernels(await structuredNtkFn(model, all, opts({ kinds: signKinds, maxGradientsInMemory: maxG }))(train, sets), plainSign, `sign kinds (maxGradients ${maxG})`, name, { signgd: 2 * Z });
      }
      // ... and exactly equal without the fused biases that hold them.
      if (Z > 0) {
        const clean = all.filter((p) => !FUSED_QKV_BIAS.test(p.name!));
        const plainClean = await empiricalNtkFn(outputFn, clean, { kinds: ['signgd'] })(train, sets);
        assertSameKernels(await structuredNtkFn(model, clean, opts({ kinds: ['signgd'] }))(train, sets), plainClean, 'signgd without the fused q|k|v biases', name);
      }
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      for (const v of new Set(params.values())) v.dispose();
    });
  });

  CASES.filter((c) => c.standard).forEach(({ name, config, labels }, n) => {
    it(`${name}, standard mode (linear head on the last token): sgd and the sign kinds, all parameters and no embeddings`, async () => {
      const family = causalFamilyFor(config.modelType)!;
      const params = tinyParams(config, 50 + n);
      const C = labels.length;
      params.set(HEAD_WEIGHT, tf.variable(tf.randomNormal([C, config.hiddenSize], 0, 0.3, 'float32', 7 + n), true, HEAD_WEIGHT));
      params.set(HEAD_BIAS, tf.variable(tf.randomNormal([C], 0, 0.3, 'float32', 9 + n), true, HEAD_BIAS));
      const classify = standardClassifier(params, config, 0);
      const outputFn = (x: EncodedExample) => classify([x], { training: false });
      const groupOf = (p: string) => (p.startsWith('classifier.') ? 'head' : family.parameterGroup(p, config));
      const head: CausalRecordHead = { kind: 'linear', weight: params.get(HEAD_WEIGHT)!, bias: params.get(HEAD_BIAS)! };
      const model = causalRecordingModel(params, config, 0, head);
      const train = inputs(6, 61 + n, 1);
      const sets = [{ name: 'test', inputs: inputs(5, 71 + n, 1) }];
      const before = tf.memory().numTensors;
      for (const subset of ['all', 'no-embeddings'] as const) {
        const ps: KernelParameter[] = selectParameters(params, subset, groupOf);
        const plain = await empiricalNtkFn(outputFn, ps, { kinds: ['sgd', 'signgd', 'asymmetric-signgd'] })(train, sets);
        const Z = zeroGradientCoordinates(config, ps.map((p) => p.name!));
        assertSameKernels(await structuredNtkFn(model, ps, { kinds: ['sgd', 'signgd', 'asymmetric-signgd'], batchSize: 4, maxGradientsInMemory: 3 * C })(train, sets),
          plain, `standard mode, ${subset}`, `${name} (standard)`, { signgd: 2 * Z });
        assertSameKernels(await structuredNtkFn(model, ps, { kinds: ['sgd'], batchSize: 3, form: 'structured' })(train, sets), { sgd: plain.sgd }, `standard mode, ${subset}, structured form`, `${name} (standard)`);
      }
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      for (const v of new Set(params.values())) v.dispose();
    });
  });

  it('padded rows carry exactly zero cotangents at every token-level site; a recording releases everything', async () => {
    for (const [n, { config, labels }] of CASES.entries()) {
      const params = tinyParams(config, 90 + n);
      const model = causalRecordingModel(params, config, 0, { kind: 'lm', labelIds: labels });
      const xs = inputs(4, 3 + n, labels[0]);
      const before = tf.memory().numTensors;
      const rec = await model.record(xs);
      const T = Math.max(...xs.map((x) => x.inputIds.length));
      assert.ok(xs.some((x) => x.inputIds.length < T), 'the batch holds padding');
      let tokenSites = 0;
      for (const s of rec.sites) {
        if (s.rowsPerExample !== T) continue;
        tokenSites++;
        const d = s.kind === 'rows' ? s.values : s.delta;
        const [C, R, W] = d.shape;
        const v = await d.data();
        let nonZeroReal = 0;
        for (let c = 0; c < C; c++) {
          xs.forEach((x, b) => {
            for (let t = 0; t < T; t++) {
              for (let w = 0; w < W; w++) {
                const val = v[(c * R + b * T + t) * W + w];
                if (t >= x.inputIds.length) assert.ok(val === 0, `${config.modelType} ${s.kind} site of ${s.variable.name}: padded row ${b}:${t} has δ ${val}`);
                else if (val !== 0) nonZeroReal++;
              }
            }
          });
        }
        assert.ok(nonZeroReal > 0, `${config.modelType}: a site has no cotangent on its real rows`);
      }
      assert.ok(tokenSites > 0);
      rec.dispose();
      assert.equal(tf.memory().numTensors, before, `${config.modelType}: a disposed recording leaves tensors`);
      for (const v of new Set(params.values())) v.dispose();
    }
  });
});

describe('kernel/structured-ntk on wasm: the fused structured product (wasm-kernels/structured_product.c) = per-example autodiff eNTK', function () {
  this.timeout(300000);
  let previous: string;
  before(async () => { previous = tf.getBackend(); await initBackend('wasm'); });
  after(async () => { if (previous) await tf.setBackend(previous); });

  // gpt2 tied (C = 3; widths 36, 12, 20, 12: not multiples of the kernel's 8-wide panels) and llama GQA (C = 2, SwiGLU)
  CASES.filter((c) => c.name === 'gpt2 tied' || c.name.startsWith('llama GQA')).forEach(({ name, config, labels }, n) => {
    it(`${name}: sgd in the structured form (one chunk; and two chunks, train×train streamed) and 'auto', against the plain kernel on wasm`, async () => {
      assert.ok(fusedStructuredProduct(), 'the wasm backend runs the fused product');
      const family = causalFamilyFor(config.modelType)!;
      const params = tinyParams(config, 120 + n);
      const classify = promptClassifier(params, config, 0, labels);
      const all = selectParameters(params, 'all', (p) => family.parameterGroup(p, config));
      const train = inputs(7, 131 + n, labels[0]);
      const sets = [{ name: 'test', inputs: inputs(6, 141 + n, labels[1]) }];
      const C = labels.length;
      const model = causalRecordingModel(params, config, 0, { kind: 'lm', labelIds: labels });
      const before = tf.memory().numTensors;
      const plain = await empiricalNtkFn((x: EncodedExample) => classify([x], { training: false }), all, { kinds: ['sgd'] })(train, sets);
      for (const [what, o] of [
        ['structured, one chunk, batches of 3', { form: 'structured', batchSize: 3 }],
        ['structured, two chunks', { form: 'structured', batchSize: 2, maxGradientsInMemory: 5 * C }],
        ['auto, one chunk', { form: 'auto', batchSize: 4 }],
      ] as [string, Partial<StructuredNtkOptions>][]) {
        assertSameKernels(await structuredNtkFn(model, all, { kinds: ['sgd'], ...o })(train, sets), plain, `sgd (${what}, wasm)`, `${name} (wasm)`);
      }
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      for (const v of new Set(params.values())) v.dispose();
    });
  });
});
