/**
 * The structured eNTK (model/recording.ts) equals the plain per-example autodiff eNTK for the masked LMs beside BERT
 * and RoBERTa: XLM-RoBERTa, DistilBERT (no token-type rows; its type ids are ignored), the ELECTRA generator
 * (E-wide embedding tables, the embeddings_project dense site, an H → E head with exact GELU) and ALBERT (the same
 * E/H shapes, and one layer's variables at every depth: each shared variable's sites, one per depth, are merged into
 * one site of L·T rows per example, kernel/shared-sites.ts, with padding inside every block of T rows).
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { predictLogits, promptClassifier, standardClassifier, HEAD_BIAS, HEAD_WEIGHT } from '../../../../src/engine/classifier/masked-lm-classifier';
import type { EncodedExample } from '../../../../src/engine/classifier/batch';
import { empiricalNtkFn } from '../../../../src/engine/kernel/empirical-ntk';
import { selectParameters } from '../../../../src/engine/kernel/parameter-subsets';
import { structuredNtkFn, type StructuredNtkOptions } from '../../../../src/engine/kernel/structured-ntk';
import type { KernelKind, KernelResult } from '../../../../src/engine/kernel/types';
import { makeEncoderConfig, parameterGroup, randomParams, untieDecoder, type EncoderConfig, type HiddenAct, type ModelType, type Params } from '../../../../src/engine/model';
import { recordingModel, type RecordHead } from '../../../../src/engine/model/recording';
import '../../../../src/engine/backend'; // registers the linear-time UnsortedSegmentSum for cpu

function relDiff(a: Float64Array, b: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) { num += (a[i] - b[i]) ** 2; den += b[i] ** 2; }
  return Math.sqrt(num / den);
}

let worst = 0;
function assertSameKernels(actual: KernelResult, expected: KernelResult, what: string): void {
  for (const [kind, blocks] of Object.entries(expected)) {
    for (const [set, blk] of Object.entries(blocks!)) {
      const got = actual[kind as KernelKind]![set];
      assert.deepEqual(got.shape, blk.shape, `${what} ${kind}/${set} shape`);
      const d = relDiff(got.data, blk.data);
      worst = Math.max(worst, d);
      assert.ok(d <= 1e-4, `${what} ${kind}/${set}: relative distance ${d.toExponential(2)} > 1e-4`);
      if (blk.flipped) {
        const df = relDiff(got.flipped!, blk.flipped);
        assert.ok(df <= 1e-4, `${what} ${kind}/${set} (flipped): relative distance ${df.toExponential(2)} > 1e-4`);
      }
    }
  }
}

/** A tiny random model whose biases and LayerNorms are non-trivial. */
function tinyModel(modelType: ModelType, tied: boolean, seed: number, hiddenAct: HiddenAct, embeddingSize?: number): { config: EncoderConfig; params: Params } {
  let config = makeEncoderConfig({
    modelType, vocabSize: 40, hiddenSize: 16, numLayers: modelType === 'albert' ? 3 : 2, numHeads: 2, intermediateSize: 24, maxPositions: 24, hiddenAct,
    ...(embeddingSize !== undefined ? { embeddingSize } : {}),
  });
  let params = randomParams(config, seed);
  let k = 0;
  for (const v of params.values()) v.assign(tf.tidy(() => tf.add(v, tf.randomNormal(v.shape, 0, v.rank === 1 ? 0.3 : 0.2, 'float32', seed * 101 + k++))));
  if (!tied) ({ config, params } = untieDecoder(config, params));
  return { config, params };
}

/** Examples of lengths 3..9 with segment ids 0/1 (DistilBERT must ignore them), a label word among some. */
function examples(count: number, seed: number, label: number, config: EncoderConfig): EncodedExample[] {
  const out: EncodedExample[] = [];
  let s = seed;
  const rnd = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
  const first = config.padTokenId + 1;
  const types = config.typeVocabSize === 0 ? 2 : config.typeVocabSize; // DistilBERT: ids a WordPiece template gives
  for (let i = 0; i < count; i++) {
    const len = 3 + Math.floor(rnd() * 7);
    const ids = Array.from({ length: len }, () => first + 1 + Math.floor(rnd() * (config.vocabSize - first - 1)));
    if (i % 3 === 0) ids[1] = label;
    out.push({ inputIds: ids, tokenTypeIds: ids.map((_, t) => (types > 1 && t >= len / 2 ? 1 : 0)), maskPos: Math.floor(rnd() * len) });
  }
  return out;
}

describe('kernel/structured-ntk: structured eNTK = plain eNTK for XLM-RoBERTa, DistilBERT, the ELECTRA generator and ALBERT', function () {
  this.timeout(120000);
  before(async () => { await tf.setBackend('cpu'); });
  after(() => { console.log(`      worst relative distance over all blocks: ${worst.toExponential(2)}`); });

  const cases: { modelType: ModelType; tied: boolean; act: HiddenAct; E?: number; labels: number[] }[] = [
    { modelType: 'xlm-roberta', tied: true, act: 'gelu', labels: [9, 20] },
    { modelType: 'xlm-roberta', tied: false, act: 'gelu_new', labels: [9, 20, 33] },
    { modelType: 'distilbert', tied: true, act: 'gelu', labels: [7, 11, 30] },
    { modelType: 'distilbert', tied: false, act: 'relu', labels: [7, 11] },
    { modelType: 'electra', tied: true, act: 'gelu_new', E: 12, labels: [7, 11] },
    { modelType: 'electra', tied: false, act: 'relu', E: 12, labels: [7, 11, 30] },
    { modelType: 'electra', tied: true, act: 'gelu', E: 16, labels: [5, 6] },
    { modelType: 'albert', tied: true, act: 'gelu_new', E: 12, labels: [7, 11] },
    { modelType: 'albert', tied: false, act: 'relu', E: 12, labels: [7, 11, 30] },
    { modelType: 'albert', tied: true, act: 'gelu', E: 16, labels: [5, 6] },
  ];
  for (const { modelType, tied, act, E, labels } of cases) {
    const title = `${modelType}${E !== undefined ? ` (E = ${E}, H = 16)` : ''}, ${tied ? 'tied' : 'untied'}, ${act}, C = ${labels.length}`;
    it(`${title}: SGD (explicit, structured, auto) and both sign kinds, batches of 3 with padding, 2 train chunks; f0 reported`, async () => {
      const { config, params } = tinyModel(modelType, tied, labels.length + (tied ? 1 : 2), act, E);
      const padId = config.padTokenId;
      const classify = promptClassifier(params, config, padId, labels);
      const outputFn = (x: EncodedExample) => classify([x], { training: false });
      const all = selectParameters(params, 'all', (n) => parameterGroup(n, config));
      const train = examples(5, 1, labels[0], config);
      const sets = [{ name: 'dev', inputs: examples(4, 2, labels[1], config) }, { name: 'test', inputs: examples(3, 3, labels[0], config) }];
      const C = labels.length;
      const model = recordingModel(params, config, padId, { kind: 'mlm', labelIds: labels });
      const opts = (o: Partial<StructuredNtkOptions>): StructuredNtkOptions => ({ kinds: ['sgd'], batchSize: 3, maxGradientsInMemory: 4 * C, ...o });
      const before = tf.memory().numTensors;

      const plainSgd = await empiricalNtkFn(outputFn, all, { kinds: ['sgd'] })(train, sets);
      for (const form of ['explicit', 'structured', 'auto'] as const) {
        assertSameKernels(await structuredNtkFn(model, all, opts({ form }))(train, sets), plainSgd, `sgd (${form})`);
      }
      // Sign kernels: without the attention key biases, whose gradient is identically 0 (only rounding noise, whose
      // signs differ between implementations): selectParameters drops them by name (kernel/parameter-subsets.ts
      // IDENTICALLY_ZERO_GRADIENT: BERT's `attention.self.key.bias`, DistilBERT's `attention.k_lin.bias`).
      assert.ok(!all.some((p) => /attention\.(self\.key|k_lin|key)\.bias$/.test(p.name!)));
      const signParams = all;
      const plainSign = await empiricalNtkFn(outputFn, signParams, { kinds: ['signgd', 'asymmetric-signgd'] })(train, sets);
      assertSameKernels(await structuredNtkFn(model, signParams, opts({ kinds: ['signgd', 'asymmetric-signgd'] }))(train, sets), plainSign, 'sign kinds');
      assertSameKernels(await structuredNtkFn(model, all, opts({ maxGradientsInMemory: 1000 }))(train, sets), plainSgd, 'sgd, one chunk');

      const reported = new Map<string, Map<number, number[]>>();
      await structuredNtkFn(model, all, opts({}))(train, sets, {
        onOutputs: (set, indices, values) => {
          const m = reported.get(set) ?? new Map<number, number[]>();
          reported.set(set, m);
          indices.forEach((i, r) => m.set(i, Array.from(values.subarray(r * C, (r + 1) * C))));
        },
      });
      for (const { name, inputs } of [{ name: 'train', inputs: train }, ...sets]) {
        const f0 = await predictLogits(classify, inputs);
        inputs.forEach((_, i) => reported.get(name)!.get(i)!.forEach((v, c) => {
          assert.ok(Math.abs(v - f0[i * C + c]) < 1e-5, `${name}[${i}] class ${c}: ${v} vs ${f0[i * C + c]}`);
        }));
      }
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      for (const v of new Set(params.values())) v.dispose();
    });
  }

  for (const modelType of ['distilbert', 'electra', 'albert'] as const) {
    it(`${modelType}: a linear head (standard mode) over all parameters and without the embeddings group; SGD explicit, structured and auto`, async () => {
      const { config, params } = tinyModel(modelType, true, 5, 'gelu', modelType === 'distilbert' ? undefined : 12);
      params.set(HEAD_WEIGHT, tf.variable(tf.randomNormal([2, 16], 0, 0.3, 'float32', 1), true, HEAD_WEIGHT));
      params.set(HEAD_BIAS, tf.variable(tf.tensor1d([0.1, -0.2]), true, HEAD_BIAS));
      const padId = config.padTokenId;
      const classify = standardClassifier(params, config, padId);
      const outputFn = (x: EncodedExample) => classify([x], { training: false });
      const groupOf = (n: string) => (n.startsWith('classifier.') ? 'head' : parameterGroup(n, config));
      const head: RecordHead = { kind: 'linear', weight: params.get(HEAD_WEIGHT)!, bias: params.get(HEAD_BIAS)! };
      const model = recordingModel(params, config, padId, head);
      const train = examples(4, 4, 5, config).map((e) => ({ ...e, maskPos: -1 }));
      const sets = [{ name: 'test', inputs: examples(5, 5, 5, config).map((e) => ({ ...e, maskPos: -1 })) }];
      for (const subset of ['all', 'no-embeddings'] as const) {
        const ps = selectParameters(params, subset, groupOf);
        if (subset === 'no-embeddings') assert.ok(!ps.some((p) => /embedding/.test(p.name!)), 'embeddings_project / embedding_hidden_mapping_in is in the embeddings group');
        const plain = await empiricalNtkFn(outputFn, ps, { kinds: ['sgd'] })(train, sets);
        for (const form of ['explicit', 'structured', 'auto'] as const) {
          assertSameKernels(await structuredNtkFn(model, ps, { kinds: ['sgd'], batchSize: 2, form })(train, sets), plain, `standard mode, ${subset}, ${form}`);
        }
      }
      for (const v of new Set(params.values())) v.dispose();
    });
  }
});
