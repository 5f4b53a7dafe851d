/**
 * The causal families (GPT-2, GPT-NeoX, the Llama layout with Qwen2's biases and Mistral's sliding window) on the
 * 'webgpu' backend (npm `webgpu` = Dawn) against the pure-JS 'cpu' backend, as webgpu.test.ts does for BERT: the
 * label-word logits of a right-padded batch, the gradient of every parameter, the structured eNTK (the tap recording
 * of model/causal/recording.ts) and a whole causal run. Same weights on both backends (drawn once on cpu, copied).
 * On CI and dev machines the adapter is Mesa lavapipe from scripts/setup-software-gpu.sh, which `npm test` sets up;
 * without an adapter every test here is skipped with the reason.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { webgpuOrSkip } from '../../../support/webgpu-suite';
import { initBackend } from '../../../../src/engine/backend';
import type { EncodedExample } from '../../../../src/engine/classifier/batch';
import { promptClassifier } from '../../../../src/engine/classifier/masked-lm-classifier';
import { empiricalNtkFn } from '../../../../src/engine/kernel/empirical-ntk';
import { selectParameters } from '../../../../src/engine/kernel/parameter-subsets';
import { structuredNtkFn } from '../../../../src/engine/kernel/structured-ntk';
import type { KernelResult } from '../../../../src/engine/kernel/types';
import { disposeParams, type Params } from '../../../../src/engine/model';
import { causalFamilyFor, parseCausalConfig, randomCausalParams, causalRecordingModel, type CausalConfig } from '../../../../src/engine/model/causal';
import { readNpy } from '../../../../src/engine/report/npy';
import { runExperiment } from '../../../../src/engine/run/experiment';
import { makeTinyCausalExperiment } from '../../../support/tiny-causal-experiment';

type Backend = 'cpu' | 'webgpu';
const V = 40;
const cfg = (json: Record<string, unknown>): CausalConfig => parseCausalConfig(json, '<test config.json>');

const CASES: { name: string; config: CausalConfig; labels: number[] }[] = [
  { name: 'gpt2 (Conv1D, tied head, learned positions)', labels: [7, 11, 30], config: cfg({ model_type: 'gpt2', vocab_size: V, n_positions: 16, n_embd: 12, n_layer: 2, n_head: 3, n_inner: 20 }) },
  {
    name: 'gpt-neox (rotary_pct 0.25, parallel residual, untied)', labels: [5, 17], config: cfg({
      model_type: 'gpt_neox', vocab_size: V, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2,
      intermediate_size: 32, rotary_pct: 0.25, max_position_embeddings: 32, use_parallel_residual: true,
    }),
  },
  {
    name: 'llama (GQA nh 4 nkv 2, llama3 rope scaling, untied)', labels: [6, 21], config: cfg({
      model_type: 'llama', vocab_size: V, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
      num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32,
      rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8 },
    }),
  },
  {
    name: 'qwen2 (q/k/v biases, tied)', labels: [10, 12, 25], config: cfg({
      model_type: 'qwen2', vocab_size: V, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
      num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32, tie_word_embeddings: true, rope_theta: 1000000,
    }),
  },
  {
    name: 'mistral (sliding_window 3)', labels: [2, 19], config: cfg({
      model_type: 'mistral', vocab_size: V, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
      num_attention_heads: 2, num_key_value_heads: 2, max_position_embeddings: 32, sliding_window: 3,
    }),
  },
];

/** Seeded weights as plain arrays, drawn once on cpu (random init makes biases 0 and norms 1: every tensor is perturbed). */
async function drawWeights(config: CausalConfig, seed: number): Promise<Map<string, { shape: number[]; values: Float32Array }>> {
  await initBackend('cpu');
  const params = randomCausalParams(config, seed);
  const out = new Map<string, { shape: number[]; values: Float32Array }>();
  let k = 0;
  for (const [name, v] of params) {
    const t = tf.tidy(() => tf.add(v, tf.randomNormal(v.shape, 0, v.rank === 1 ? 0.3 : 0.2, 'float32', seed * 101 + k++)));
    out.set(name, { shape: v.shape, values: (await t.data()) as Float32Array });
    t.dispose();
  }
  disposeParams(params);
  return out;
}

/** The same weights as variables of the current backend. */
function paramsOn(weights: Map<string, { shape: number[]; values: Float32Array }>): Params {
  const params: Params = new Map();
  for (const [name, { shape, values }] of weights) params.set(name, tf.variable(tf.tensor(values, shape), true, `${tf.getBackend()}/${name}`));
  return params;
}

/** Inputs of 2..9 tokens (batches hold padding); f is read at the last token. */
function inputs(count: number, seed: number): EncodedExample[] {
  let s = seed;
  const rnd = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
  return Array.from({ length: count }, () => {
    const len = 2 + Math.floor(rnd() * 8);
    const ids = Array.from({ length: len }, () => 1 + Math.floor(rnd() * (V - 1)));
    return { inputIds: ids, tokenTypeIds: ids.map(() => 0), maskPos: len - 1 };
  });
}

interface OnBackend { logits: Float32Array; grads: Map<string, Float32Array>; structured: KernelResult; plain?: KernelResult }

/** Logits of a padded batch, the gradient of Σ logits for every parameter, and the structured sgd kernel on one backend. */
async function evaluate(backend: Backend, config: CausalConfig, weights: Map<string, { shape: number[]; values: Float32Array }>, labels: number[]): Promise<OnBackend> {
  await initBackend(backend);
  const params = paramsOn(weights);
  try {
    const classify = promptClassifier(params, config, 0, labels);
    const batch = inputs(4, 5);
    const { value, grads } = tf.variableGrads(() => {
      const logits = classify(batch, { training: false }); // [B, C]
      return tf.sum(tf.mul(logits, tf.linspace(0.5, 1.5, labels.length))) as tf.Scalar;
    }, [...params.values()]);
    value.dispose();
    const byName = new Map<string, Float32Array>();
    for (const [name, v] of params) byName.set(name, (await grads[v.name].data()) as Float32Array); // no dataSync on webgpu
    tf.dispose(grads);
    const logitsT = classify(batch, { training: false });
    const logits = (await logitsT.data()) as Float32Array;
    logitsT.dispose();

    const family = causalFamilyFor(config.modelType)!;
    const all = selectParameters(params, 'all', (p) => family.parameterGroup(p, config));
    const train = inputs(5, 11);
    const sets = [{ name: 'dev', inputs: inputs(4, 23) }];
    const model = causalRecordingModel(params, config, 0, { kind: 'lm', labelIds: labels });
    const structured = await structuredNtkFn(model, all, { kinds: ['sgd'], batchSize: 3, form: 'structured', maxGradientsInMemory: 1000 })(train, sets);
    const plain = backend === 'cpu'
      ? await empiricalNtkFn((x: EncodedExample) => classify([x], { training: false }), all, { kinds: ['sgd'] })(train, sets)
      : undefined;
    return { logits, grads: byName, structured, plain };
  } finally {
    disposeParams(params);
  }
}

function relativeL2(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length);
  let d = 0, n = 0;
  for (let i = 0; i < expected.length; i++) { d += (actual[i] - expected[i]) ** 2; n += expected[i] ** 2; }
  return Math.sqrt(d / n);
}

describe('engine/backend: causal LMs on the webgpu backend (Dawn) agree with cpu', function () {
  webgpuOrSkip('webgpu causal tests');

  CASES.forEach(({ name, config, labels }, n) => {
    it(`${name}: label-word logits and every parameter's gradient (relative L2 ≤ 1e-4); structured sgd kernel = cpu's plain kernel (≤ 1e-4)`, async function () {
      this.timeout(300_000);
      const weights = await drawWeights(config, 40 + n);
      const cpu = await evaluate('cpu', config, weights, labels);
      const gpu = await evaluate('webgpu', config, weights, labels);
      assert.ok(relativeL2(gpu.logits, cpu.logits) < 1e-4, `logits: ${gpu.logits} vs ${cpu.logits}`);
      for (const [p, g] of cpu.grads) {
        const d = relativeL2(gpu.grads.get(p)!, g);
        assert.ok(d < 1e-4, `${p}: relative L2 ${d}`);
      }
      for (const set of ['train', 'dev']) {
        const [a, b] = [gpu.structured.sgd![set].data, cpu.plain!.sgd![set].data];
        const d = relativeL2(a, b);
        assert.ok(d < 1e-4, `sgd ${set}: relative distance ${d} to cpu's plain kernel`);
        // and cpu's structured kernel, the same computation on the other backend
        assert.ok(relativeL2(a, cpu.structured.sgd![set].data) < 1e-4, `sgd ${set}: webgpu vs cpu structured`);
      }
    });
  });

  it('a whole causal run on webgpu (gpt2 layout: prompt fine-tuning, f0, structured sgd/signgd/asymmetric-signgd kernels, solvers) gives the cpu run\'s numbers', async function () {
    this.timeout(600_000);
    const kinds = ['sgd', 'signgd', 'asymmetric-signgd'];
    const [onGpu, onCpu] = [await makeTinyCausalExperiment({ kinds }), await makeTinyCausalExperiment({ kinds })];
    try {
      const gpu = await runExperiment(onGpu.specFile, { backend: 'webgpu' });
      const cpu = await runExperiment(onCpu.specFile, { backend: 'cpu' });
      assert.equal(gpu.backend, 'webgpu');
      assert.equal(gpu.model.modelType, 'gpt2');
      const [g, c] = [gpu.templates[0].seeds[0], cpu.templates[0].seeds[0]];
      assert.ok(c.finetune!.lossCurve.length > 0);
      g.finetune!.lossCurve.forEach((p, i) => assert.ok(Math.abs(p.loss - c.finetune!.lossCurve[i].loss) < 1e-4, `loss at step ${p.step}: ${p.loss} vs ${c.finetune!.lossCurve[i].loss}`));
      // SignGD counts agreeing signs, so it is exact but at coordinates whose true gradient is 0 and whose computed
      // value is rounding noise of either sign: the key part of GPT-2's fused c_attn bias (the softmax ignores it),
      // n_embd per layer (kernel/causal-structured.test.ts). Each such coordinate may move an entry by ±2.
      const json = JSON.parse(fs.readFileSync(path.join(onCpu.modelDir, 'config.json'), 'utf8')) as { n_layer: number; n_embd: number };
      const Z = json.n_layer * json.n_embd;
      for (const kind of kinds as ('sgd' | 'signgd' | 'asymmetric-signgd')[]) {
        for (const split of ['train', 'test'] as const) {
          const [a, b] = [(await readNpy(g.kernels[kind]!.files[split])).data as Float64Array, (await readNpy(c.kernels[kind]!.files[split])).data as Float64Array];
          if (kind === 'signgd') {
            const worst = Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i])));
            assert.ok(worst <= 2 * Z, `signgd ${split}: max |ΔK| = ${worst} > 2·${Z} (the identically-zero coordinates)`);
            assert.ok(relativeL2(a, b) < 1e-2, `signgd ${split}: relative distance ${relativeL2(a, b)}`);
          } else {
            const d = relativeL2(a, b);
            assert.ok(d < 1e-4, `${kind} ${split}: relative distance ${d}`);
          }
        }
      }
      assert.deepEqual(g.finetune!.testLogitsBefore.map((r) => r.map((x) => x.toFixed(3))), c.finetune!.testLogitsBefore.map((r) => r.map((x) => x.toFixed(3))));
    } finally {
      onGpu.cleanup();
      onCpu.cleanup();
      await tf.setBackend('webgpu');
    }
  });
});
