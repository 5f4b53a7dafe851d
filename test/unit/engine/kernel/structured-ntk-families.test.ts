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
import { parameterGroup, type HiddenAct, type ModelType } from '../../../../src/engine/model';
import { recordingModel, type RecordHead } from '../../../../src/engine/model/recording';
import { assertSameKernels, maskedExamples, tinyMaskedModel } from '../../../support/masked-kernel-fixtures';
import '../../../../src/engine/backend'; // registers the linear-time UnsortedSegmentSum for cpu

let worst = 0;
const seen = (d: number) => { worst = Math.max(worst, d); };

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
      const { config, params } = tinyMaskedModel({ modelType, tied, seed: labels.length + (tied ? 1 : 2), hiddenAct: act, embeddingSize: E });
      const padId = config.padTokenId;
      const classify = promptClassifier(params, config, padId, labels);
      const outputFn = (x: EncodedExample) => classify([x], { training: false });
      const all = selectParameters(params, 'all', (n) => parameterGroup(n, config));
      const train = maskedExamples(5, 1, labels[0], config);
      const sets = [{ name: 'dev', inputs: maskedExamples(4, 2, labels[1], config) }, { name: 'test', inputs: maskedExamples(3, 3, labels[0], config) }];
      const C = labels.length;
      const model = recordingModel(params, config, padId, { kind: 'mlm', labelIds: labels });
      const opts = (o: Partial<StructuredNtkOptions>): StructuredNtkOptions => ({ kinds: ['sgd'], batchSize: 3, maxGradientsInMemory: 4 * C, ...o });
      const before = tf.memory().numTensors;

      const plainSgd = await empiricalNtkFn(outputFn, all, { kinds: ['sgd'] })(train, sets);
      for (const form of ['explicit', 'structured', 'auto'] as const) {
        assertSameKernels(await structuredNtkFn(model, all, opts({ form }))(train, sets), plainSgd, `sgd (${form})`, seen);
      }
      // Sign kernels: without the attention key biases, whose gradient is identically 0 (only rounding noise, whose
      // signs differ between implementations): selectParameters drops them by name (kernel/parameter-subsets.ts
      // IDENTICALLY_ZERO_GRADIENT: BERT's `attention.self.key.bias`, DistilBERT's `attention.k_lin.bias`).
      assert.ok(!all.some((p) => /attention\.(self\.key|k_lin|key)\.bias$/.test(p.name!)));
      const signParams = all;
      const plainSign = await empiricalNtkFn(outputFn, signParams, { kinds: ['signgd', 'asymmetric-signgd'] })(train, sets);
      assertSameKernels(await structuredNtkFn(model, signParams, opts({ kinds: ['signgd', 'asymmetric-signgd'] }))(train, sets), plainSign, 'sign kinds', seen);
      assertSameKernels(await structuredNtkFn(model, all, opts({ maxGradientsInMemory: 1000 }))(train, sets), plainSgd, 'sgd, one chunk', seen);

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
      const { config, params } = tinyMaskedModel({ modelType, seed: 5, hiddenAct: 'gelu', embeddingSize: modelType === 'distilbert' ? undefined : 12 });
      params.set(HEAD_WEIGHT, tf.variable(tf.randomNormal([2, 16], 0, 0.3, 'float32', 1), true, HEAD_WEIGHT));
      params.set(HEAD_BIAS, tf.variable(tf.tensor1d([0.1, -0.2]), true, HEAD_BIAS));
      const padId = config.padTokenId;
      const classify = standardClassifier(params, config, padId);
      const outputFn = (x: EncodedExample) => classify([x], { training: false });
      const groupOf = (n: string) => (n.startsWith('classifier.') ? 'head' : parameterGroup(n, config));
      const head: RecordHead = { kind: 'linear', weight: params.get(HEAD_WEIGHT)!, bias: params.get(HEAD_BIAS)! };
      const model = recordingModel(params, config, padId, head);
      const train = maskedExamples(4, 4, 5, config).map((e) => ({ ...e, maskPos: -1 }));
      const sets = [{ name: 'test', inputs: maskedExamples(5, 5, 5, config).map((e) => ({ ...e, maskPos: -1 })) }];
      for (const subset of ['all', 'no-embeddings'] as const) {
        const ps = selectParameters(params, subset, groupOf);
        if (subset === 'no-embeddings') assert.ok(!ps.some((p) => /embedding/.test(p.name!)), 'embeddings_project / embedding_hidden_mapping_in is in the embeddings group');
        const plain = await empiricalNtkFn(outputFn, ps, { kinds: ['sgd'] })(train, sets);
        for (const form of ['explicit', 'structured', 'auto'] as const) {
          assertSameKernels(await structuredNtkFn(model, ps, { kinds: ['sgd'], batchSize: 2, form })(train, sets), plain, `standard mode, ${subset}, ${form}`, seen);
        }
      }
      for (const v of new Set(params.values())) v.dispose();
    });
  }
});
