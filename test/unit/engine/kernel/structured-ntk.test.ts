import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { predictLogits, promptClassifier, standardClassifier, HEAD_BIAS, HEAD_WEIGHT } from '../../../../src/engine/classifier/masked-lm-classifier';
import type { EncodedExample } from '../../../../src/engine/classifier/batch';
import { empiricalNtkFn } from '../../../../src/engine/kernel/empirical-ntk';
import { selectParameters } from '../../../../src/engine/kernel/parameter-subsets';
import { structuredNtkFn, type StructuredNtkOptions } from '../../../../src/engine/kernel/structured-ntk';
import type { KernelParameter } from '../../../../src/engine/kernel/types';
import { parameterGroup } from '../../../../src/engine/model';
import { recordingModel, type RecordHead } from '../../../../src/engine/model/recording';
import { assertSameKernels, maskedExamples, tinyMaskedModel } from '../../../support/masked-kernel-fixtures';
import { initBackend } from '../../../../src/engine/backend'; // also registers the linear-time UnsortedSegmentSum for cpu
import { fusedStructuredProduct } from '../../../../src/engine/kernel/structured-features';

describe('kernel/structured-ntk: structured eNTK = per-example autodiff eNTK (float32, 1e-4 relative)', function () {
  this.timeout(60000);
  before(async () => { await tf.setBackend('cpu'); });

  const cases: { modelType: 'bert' | 'roberta'; tied: boolean; labels: number[] }[] = [
    { modelType: 'bert', tied: true, labels: [7, 11, 30] },
    { modelType: 'bert', tied: false, labels: [7, 11] },
    { modelType: 'roberta', tied: true, labels: [9, 20] },
    { modelType: 'roberta', tied: false, labels: [9, 20, 33] },
  ];
  for (const { modelType, tied, labels } of cases) {
    it(`${modelType}, ${tied ? 'tied' : 'untied'} decoder, C = ${labels.length}: all three kinds, batches of 3 with padding, 2 train chunks`, async () => {
      const { config, params } = tinyMaskedModel({ modelType, tied, seed: labels.length + (tied ? 1 : 2) });
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

      // SGD over all parameters, each dense form forced, and the automatic choice.
      const plainSgd = await empiricalNtkFn(outputFn, all, { kinds: ['sgd'] })(train, sets);
      for (const form of ['explicit', 'structured', 'auto'] as const) {
        assertSameKernels(await structuredNtkFn(model, all, opts({ form }))(train, sets), plainSgd, `sgd (${form})`);
      }
      // The outputs it reports on the way are f0: each input once (2 chunks, or one), equal to the classifier's logits.
      for (const chunking of [{}, { maxGradientsInMemory: 1000 }]) {
        const reported = new Map<string, Map<number, number[]>>();
        await structuredNtkFn(model, all, opts(chunking))(train, sets, {
          onOutputs: (set, indices, values) => {
            const m = reported.get(set) ?? new Map<number, number[]>();
            reported.set(set, m);
            indices.forEach((i, r) => {
              assert.ok(!m.has(i), `${set}[${i}] reported twice`);
              m.set(i, Array.from(values.subarray(r * C, (r + 1) * C)));
            });
          },
        });
        for (const { name, inputs } of [{ name: 'train', inputs: train }, ...sets]) {
          const f0 = await predictLogits(classify, inputs);
          assert.equal(reported.get(name)?.size, inputs.length, `${name}: every input reported`);
          inputs.forEach((_, i) => reported.get(name)!.get(i)!.forEach((v, c) => {
            assert.ok(Math.abs(v - f0[i * C + c]) < 1e-5, `${name}[${i}] class ${c}: ${v} vs ${f0[i * C + c]}`);
          }));
        }
      }
      // Sign kernels (explicit dense gradients). selectParameters leaves out the attention key biases (gradient ≡ 0).
      assert.ok(!all.some((p) => p.name!.endsWith('attention.self.key.bias')));
      const signParams = all;
      const plainSign = await empiricalNtkFn(outputFn, signParams, { kinds: ['signgd', 'asymmetric-signgd'] })(train, sets);
      assertSameKernels(await structuredNtkFn(model, signParams, opts({ kinds: ['signgd', 'asymmetric-signgd'] }))(train, sets), plainSign, 'sign kinds');
      // A budget of one explicit train example per chunk: for the SGD kernel 'auto' then holds the structured factors
      // instead and records every input once (no re-recording per chunk), train×train from those factors: 5 held + 7.
      let total = 0;
      assertSameKernels(await structuredNtkFn(model, all, opts({ maxGradientsInMemory: 2 * C }))(train, sets, { onProgress: (p) => { total = p.total; } }), plainSgd, 'sgd, tight budget');
      assert.equal(total, 5 + 4 + 3, 'every input recorded once, the train set too (train×train from the held factors)');
      // A recording budget of 1 byte: after the first batch (3), every batch is one example; same kernel.
      assertSameKernels(await structuredNtkFn(model, all, opts({ maxGradientsInMemory: 1000, recordBudgetBytes: 1 }))(train, sets), plainSgd, 'sgd, batches sized by the record budget');
      // One chunk: train×train then comes from the held gradients (batches of 3: pairs across held batches too).
      assertSameKernels(await structuredNtkFn(model, all, opts({ maxGradientsInMemory: 1000 }))(train, sets), plainSgd, 'sgd, one chunk');
      assertSameKernels(await structuredNtkFn(model, signParams, opts({ kinds: ['signgd', 'asymmetric-signgd'], maxGradientsInMemory: 1000 }))(train, sets), plainSign, 'sign kinds, one chunk');
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      for (const v of new Set(params.values())) v.dispose();
    });
  }

  it('a parameter subset (no embeddings) and a linear head (standard mode), with ReLU, match as well', async () => {
    const { config, params } = tinyMaskedModel({ modelType: 'bert', seed: 5, hiddenAct: 'relu' });
    params.set(HEAD_WEIGHT, tf.variable(tf.randomNormal([2, 16], 0, 0.3, 'float32', 1), true, HEAD_WEIGHT));
    params.set(HEAD_BIAS, tf.variable(tf.tensor1d([0.1, -0.2]), true, HEAD_BIAS));
    const classify = standardClassifier(params, config, 0);
    const outputFn = (x: EncodedExample) => classify([x], { training: false });
    const groupOf = (n: string) => (n.startsWith('classifier.') ? 'head' : parameterGroup(n, config));
    const head: RecordHead = { kind: 'linear', weight: params.get(HEAD_WEIGHT)!, bias: params.get(HEAD_BIAS)! };
    const model = recordingModel(params, config, 0, head);
    const train = maskedExamples(4, 4, 5, config).map((e) => ({ ...e, maskPos: -1 }));
    const sets = [{ name: 'test', inputs: maskedExamples(5, 5, 5, config).map((e) => ({ ...e, maskPos: -1 })) }];
    for (const subset of ['all', 'no-embeddings'] as const) {
      const ps = selectParameters(params, subset, groupOf);
      const plain = await empiricalNtkFn(outputFn, ps, { kinds: ['sgd'] })(train, sets);
      assertSameKernels(await structuredNtkFn(model, ps, { kinds: ['sgd'], batchSize: 2 })(train, sets), plain, `standard mode, ${subset}`);
    }
    for (const v of new Set(params.values())) v.dispose();
  });

  it('refuses projected (LoRA) parameters, naming the plain implementation', () => {
    const { config, params } = tinyMaskedModel({ modelType: 'bert', seed: 6 });
    const model = recordingModel(params, config, 0, { kind: 'mlm', labelIds: [3, 4] });
    const w = [...params.values()][5];
    assert.throws(() => structuredNtkFn(model, [{ variable: w, name: 'q', project: (g) => g }], { kinds: ['sgd'] }), /LoRA.*plain implementation/);
    for (const v of params.values()) v.dispose();
  });
});

describe('kernel/structured-ntk on wasm: masked LMs through the fused structured product = per-example autodiff eNTK', function () {
  this.timeout(120000);
  let previous: string;
  before(async () => { previous = tf.getBackend(); await initBackend('wasm'); });
  after(async () => { if (previous) await tf.setBackend(previous); });

  for (const { modelType, tied, labels } of [{ modelType: 'bert', tied: true, labels: [7, 11, 30] }, { modelType: 'roberta', tied: false, labels: [9, 20] }] as const) {
    it(`${modelType}, C = ${labels.length}: sgd in the structured form, one chunk and two, against the plain kernel on wasm`, async () => {
      assert.ok(fusedStructuredProduct(), 'the wasm backend runs the fused product');
      const { config, params } = tinyMaskedModel({ modelType, tied, seed: 40 + labels.length });
      const classify = promptClassifier(params, config, config.padTokenId, [...labels]);
      const all = selectParameters(params, 'all', (n) => parameterGroup(n, config));
      const train = maskedExamples(6, 4, labels[0], config);
      const sets = [{ name: 'test', inputs: maskedExamples(5, 5, labels[1], config) }];
      const C = labels.length;
      const model = recordingModel(params, config, config.padTokenId, { kind: 'mlm', labelIds: [...labels] });
      const before = tf.memory().numTensors;
      const plain = await empiricalNtkFn((x: EncodedExample) => classify([x], { training: false }), all, { kinds: ['sgd'] })(train, sets);
      for (const maxG of [1000, 4 * C]) {
        assertSameKernels(await structuredNtkFn(model, all, { kinds: ['sgd'], form: 'structured', batchSize: 3, maxGradientsInMemory: maxG })(train, sets), plain, `sgd (structured, wasm, maxGradients ${maxG})`);
      }
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
      for (const v of new Set(params.values())) v.dispose();
    });
  }
});
