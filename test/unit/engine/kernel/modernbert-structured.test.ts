/**
 * The structured eNTK of ModernBERT (model/modernbert/recording.ts: taps on its own forward, recorded as the causal
 * families) against the plain per-example autodiff kernel (empiricalNtkFn), on tiny random models with every tensor
 * perturbed: local layers whose window is shorter than the inputs, both rotary bases, the GeGLU's fused Wi, LayerNorms
 * with and without β, the decoder's vocabulary bias (a rows site of width 1) on a tied and an untied decoder; prompt
 * mode with the [MASK] inside the input (tokens after it matter: bidirectional), the linear head of standard mode (the
 * first token); sgd, signgd, asymmetric-signgd; padded batches and several train chunks.
 * Tolerance as causal-structured.test.ts: max |K − K_plain| ≤ 1e-4 · max |K_plain| per block. No ModernBERT weight has
 * an identically-zero gradient coordinate (its key bias rotates with the position), so the sign kernels must agree too.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import type { EncodedExample } from '../../../../src/engine/classifier/batch';
import { HEAD_BIAS, HEAD_WEIGHT, predictLogits, promptClassifier, standardClassifier } from '../../../../src/engine/classifier/masked-lm-classifier';
import { empiricalNtkFn } from '../../../../src/engine/kernel/empirical-ntk';
import { selectParameters } from '../../../../src/engine/kernel/parameter-subsets';
import { structuredNtkFn, type StructuredNtkOptions } from '../../../../src/engine/kernel/structured-ntk';
import type { KernelKind, KernelResult } from '../../../../src/engine/kernel/types';
import type { Params } from '../../../../src/engine/model';
import { modernBertParameterGroup, modernBertRecordingModel, parseModernBertConfig, randomModernBertParams, type ModernBertConfig } from '../../../../src/engine/model/modernbert';
import { tinyModernBertConfig } from '../../../support/tiny-modernbert-checkpoint';

const V = 40;
const cfg = (extra: Record<string, unknown>): ModernBertConfig => parseModernBertConfig(tinyModernBertConfig({ hidden_size: 8, num_attention_heads: 2, num_hidden_layers: 3, global_attn_every_n_layers: 2, local_attention: 2, ...extra }), '<test config.json>');
const CASES: { name: string; config: ModernBertConfig; labels: number[] }[] = [
  { name: 'tied decoder with bias, no other biases', labels: [7, 11, 30], config: cfg({}) },
  { name: 'every bias, untied decoder', labels: [9, 20], config: cfg({ norm_bias: true, attention_bias: true, mlp_bias: true, classifier_bias: true, tie_word_embeddings: false }) },
];

function tinyParams(config: ModernBertConfig, seed: number): Params {
  const params = randomModernBertParams(config, seed);
  let k = 0;
  for (const v of params.values()) v.assign(tf.tidy(() => tf.add(v, tf.randomNormal(v.shape, 0, v.rank === 1 ? 0.3 : 0.3, 'float32', seed * 101 + k++))));
  return params;
}

/** Inputs of 3..9 tokens; the [MASK] row (f's read-out) is inside the input, or the first token in standard mode. */
function inputs(count: number, seed: number, label: number, standard = false): EncodedExample[] {
  let s = seed;
  const rnd = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
  return Array.from({ length: count }, (_, i) => {
    const len = 3 + Math.floor(rnd() * 7);
    const ids = Array.from({ length: len }, () => 1 + Math.floor(rnd() * (V - 1)));
    if (i % 3 === 0) ids[0] = label; // shares a row with the (tied) decoder's label rows
    return { inputIds: ids, tokenTypeIds: ids.map(() => 0), maskPos: standard ? -1 : 1 + Math.floor(rnd() * (len - 2)) };
  });
}

function assertSameKernels(actual: KernelResult, expected: KernelResult, what: string): void {
  for (const [kind, blocks] of Object.entries(expected) as [KernelKind, KernelResult[KernelKind]][]) {
    for (const [set, blk] of Object.entries(blocks!)) {
      const got = actual[kind]![set];
      assert.deepEqual(got.shape, blk.shape, `${what} ${kind}/${set} shape`);
      const pairs: [string, Float64Array, Float64Array][] = [[kind, got.data, blk.data]];
      if (blk.flipped) pairs.push([`${kind} (flipped)`, got.flipped!, blk.flipped]);
      for (const [label, x, y] of pairs) {
        let abs = 0;
        let scale = 0;
        for (let i = 0; i < y.length; i++) { abs = Math.max(abs, Math.abs(x[i] - y[i])); scale = Math.max(scale, Math.abs(y[i])); }
        assert.ok(scale > 0 && abs <= 1e-4 * scale, `${what} ${label}/${set}: max |ΔK| = ${abs} against max |K| = ${scale}`);
      }
    }
  }
}

describe('kernel/structured-ntk on ModernBERT: the tap recording = per-example autodiff eNTK (float32)', function () {
  this.timeout(300000);
  before(async () => { await tf.setBackend('cpu'); });

  CASES.forEach(({ name, config, labels }, n) => {
    it(`${name}, prompt mode ([MASK] inside the input), C = ${labels.length}: sgd (each dense form), signgd, asymmetric-signgd; chunks, padded batches, f0`, async () => {
      const params = tinyParams(config, 3 + n);
      const classify = promptClassifier(params, config, 0, labels);
      const outputFn = (x: EncodedExample) => classify([x], { training: false });
      const all = selectParameters(params, 'all', (p) => modernBertParameterGroup(p));
      const train = inputs(5, 11 + n, labels[0]);
      const sets = [{ name: 'dev', inputs: inputs(4, 23 + n, labels[1]) }, { name: 'test', inputs: inputs(3, 37 + n, labels[0]) }];
      const C = labels.length;
      const model = modernBertRecordingModel(params, config, 0, { kind: 'lm', labelIds: labels });
      const opts = (o: Partial<StructuredNtkOptions>): StructuredNtkOptions => ({ kinds: ['sgd'], batchSize: 3, maxGradientsInMemory: 4 * C, ...o });
      const before = tf.memory().numTensors;
      const plain = await empiricalNtkFn(outputFn, all, { kinds: ['sgd', 'signgd', 'asymmetric-signgd'] })(train, sets);
      for (const form of ['explicit', 'structured', 'auto'] as const) {
        assertSameKernels(await structuredNtkFn(model, all, opts({ form }))(train, sets), { sgd: plain.sgd }, `sgd (${form}, 2 chunks)`);
      }
      assertSameKernels(await structuredNtkFn(model, all, opts({ batchSize: 2, maxGradientsInMemory: 1000 }))(train, sets), { sgd: plain.sgd }, 'sgd (one chunk, batches of 2)');
      assertSameKernels(await structuredNtkFn(model, all, opts({ kinds: ['signgd', 'asymmetric-signgd'] }))(train, sets),
        { signgd: plain.signgd, 'asymmetric-signgd': plain['asymmetric-signgd'] }, 'sign kinds');
      const reported = new Map<string, Float32Array[]>();
      await structuredNtkFn(model, all, opts({}))(train, sets, {
        onOutputs: (set, indices, values) => {
          const m = reported.get(set) ?? [];
          reported.set(set, m);
          indices.forEach((i, r) => { m[i] = values.slice(r * C, (r + 1) * C); });
        },
      });
      for (const { name: set, inputs: xs } of [{ name: 'train', inputs: train }, ...sets]) {
        const f0 = await predictLogits(classify, xs);
        xs.forEach((_, i) => reported.get(set)![i].forEach((v, c) => assert.ok(Math.abs(v - f0[i * C + c]) < 1e-5, `${set}[${i}] class ${c}: ${v} vs ${f0[i * C + c]}`)));
      }
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      for (const v of new Set(params.values())) v.dispose();
    });
  });

  it('standard mode (linear head on the first token): sgd and the sign kinds, all parameters and no embeddings', async () => {
    const { config } = CASES[1];
    const params = tinyParams(config, 50);
    const C = 2;
    params.set(HEAD_WEIGHT, tf.variable(tf.randomNormal([C, config.hiddenSize], 0, 0.3, 'float32', 7), true, HEAD_WEIGHT));
    params.set(HEAD_BIAS, tf.variable(tf.randomNormal([C], 0, 0.3, 'float32', 9), true, HEAD_BIAS));
    const classify = standardClassifier(params, config, 0);
    const outputFn = (x: EncodedExample) => classify([x], { training: false });
    const groupOf = (p: string) => (p.startsWith('classifier.') ? 'head' : modernBertParameterGroup(p));
    const model = modernBertRecordingModel(params, config, 0, { kind: 'linear', weight: params.get(HEAD_WEIGHT)!, bias: params.get(HEAD_BIAS)! });
    const train = inputs(6, 61, 1, true);
    const sets = [{ name: 'test', inputs: inputs(5, 71, 1, true) }];
    const before = tf.memory().numTensors;
    for (const subset of ['all', 'no-embeddings'] as const) {
      const ps = selectParameters(params, subset, groupOf);
      const kinds: KernelKind[] = ['sgd', 'signgd', 'asymmetric-signgd'];
      const plain = await empiricalNtkFn(outputFn, ps, { kinds })(train, sets);
      assertSameKernels(await structuredNtkFn(model, ps, { kinds, batchSize: 4, maxGradientsInMemory: 3 * C })(train, sets), plain, `standard mode, ${subset}`);
    }
    assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    for (const v of new Set(params.values())) v.dispose();
  });
});
