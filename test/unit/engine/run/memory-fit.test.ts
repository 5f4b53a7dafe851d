import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { causalFamilyFor } from '../../../../src/engine/model/causal';
import { activationBytes, ALLOCATOR_SLACK, estimateMemory, fitProblem, trainedParameterCount, WASM_HEAP_BYTES, type FitSettings, type ModelShape } from '../../../../src/engine/run/memory-fit';
import { preflight } from '../../../../src/engine/run/preflight';
import { loadSpec } from '../../../../src/engine/spec';
import { makeTinyCausalExperiment, type TinyCausalExperiment } from '../../../support/tiny-causal-experiment';

/** Shapes of real checkpoints, counted from their config.json (parameters as the checkpoint holds them). */
const GPT2_SMALL: ModelShape = { parameters: 124_439_808, hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072 };
const SHAPE_250M: ModelShape = { parameters: 250e6, hiddenSize: 1024, numLayers: 16, numHeads: 16, intermediateSize: 4096 };

const settings = (over: Partial<FitSettings>): FitSettings => ({
  trainedParameters: 0, optimizer: 'sgd', batchSize: 8, maxLength: 128, finetune: true, kernels: true,
  gradientBudgetBytes: 2 ** 30, recordBudgetBytes: 256 * 2 ** 20, ...over,
});

describe('memory-fit: the peak-memory estimate that refuses runs before they start', () => {
  it('sums the weights and the larger phase, item by item', () => {
    const s = settings({ trainedParameters: GPT2_SMALL.parameters, optimizer: 'adam' });
    const e = estimateMemory(GPT2_SMALL, s, 'wasm');
    const P = GPT2_SMALL.parameters;
    // snapshot + best copy, Adam's two moments; then the larger of the backward pass (activations + gradients) and
    // the update (gradients + clipped copy; no largest tensor given)
    const ft = 4 * P * (2 + 2) + Math.max(activationBytes(GPT2_SMALL, 8, 128) + 4 * P, 4 * P * 2);
    const kernel = 2 ** 30 + 2 * 4 * P + 256 * 2 ** 20;
    const live = 4 * P + Math.max(ft, kernel);
    assert.equal(e.peakBytes, live + Math.round(ALLOCATOR_SLACK * live));
    assert.equal(e.items.reduce((a, i) => a + i.bytes, 0), 4 * P + ft + kernel + Math.round(ALLOCATOR_SLACK * live));
    assert.equal(e.peakPhase, 'fine-tuning');
    assert.equal(e.activationBytes, activationBytes(GPT2_SMALL, 8, 128));
  });

  it('the update counts instead of the backward pass when the gradients, their clipped copy and the update buffers exceed activations + gradients', () => {
    const shape: ModelShape = { ...GPT2_SMALL, largestTensor: 50257 * 768 };
    const s = settings({ trainedParameters: shape.parameters, batchSize: 1, maxLength: 8, kernels: false });
    const P = shape.parameters;
    const e = estimateMemory(shape, s, 'wasm');
    const update = 4 * P * 2 + 4 * 4 * 50257 * 768;
    assert.ok(update > activationBytes(shape, 1, 8) + 4 * P);
    const live = 4 * P + 2 * 4 * P + update;
    assert.equal(e.peakBytes, live + Math.round(ALLOCATOR_SLACK * live));
    assert.match(e.items[e.items.length - 2].what, /^the larger of the backward pass \(activations of one batch, batch_size 1 × max_length 8/);
  });

  it('activations: 4 bytes × B·T·L·(80H + a·I + 12·nh·T), a = 22 unless the activation is a measured one; linear in the batch size', () => {
    const a = activationBytes(GPT2_SMALL, 8, 128);
    assert.equal(a, 4 * 8 * 128 * 12 * (80 * 768 + 22 * 3072 + 12 * 12 * 128));
    assert.equal(activationBytes({ ...GPT2_SMALL, mlpActivations: 5 }, 8, 128), 4 * 8 * 128 * 12 * (80 * 768 + 5 * 3072 + 12 * 12 * 128));
    assert.equal(activationBytes(GPT2_SMALL, 4, 128) * 2, a);
  });

  it('refuses full AdamW fine-tuning of a 250 M model on wasm (4 GiB heap), with the figures and LoRA as the first remedy', () => {
    const s = settings({ trainedParameters: SHAPE_250M.parameters, optimizer: 'adam' });
    const e = estimateMemory(SHAPE_250M, s, 'wasm');
    assert.equal(e.fits, false);
    assert.ok(e.peakBytes > WASM_HEAP_BYTES);
    const msg = fitProblem(e, s, 'wasm')!;
    assert.match(msg, /more than the wasm backend's 4\.0 GiB heap/);
    assert.match(msg, /Remedies: 'parameters: lora'/);
    assert.match(msg, /backend: tensorflow/);
    for (const i of e.items) assert.ok(msg.includes(i.what), `the message lists '${i.what}'`);
  });

  it('the same model fits on wasm with LoRA (a few hundred thousand trained parameters) and anywhere on tensorflow', () => {
    // LoRA does not shrink the activations (6 GB at batch 8 × 64 tokens for this shape): a short batch
    const lora = settings({ trainedParameters: 400_000, optimizer: 'adam', batchSize: 2, maxLength: 32 });
    assert.equal(estimateMemory(SHAPE_250M, lora, 'wasm').fits, true);
    assert.equal(fitProblem(estimateMemory(SHAPE_250M, lora, 'wasm'), lora, 'wasm'), undefined);
    const full = settings({ trainedParameters: SHAPE_250M.parameters, optimizer: 'adam', batchSize: 2, maxLength: 32 });
    assert.equal(estimateMemory(SHAPE_250M, full, 'wasm').fits, false, 'full AdamW does not fit that batch either');
    assert.equal(estimateMemory(SHAPE_250M, full, 'tensorflow').fits, true);
  });

  it('trained parameters per set: all, no-embeddings, head, biases, LoRA r·(in + out) per target; standard mode swaps the LM head for the LP head', () => {
    const shapes = new Map<string, number[]>([['emb.weight', [100, 8]], ['l.q.weight', [8, 8]], ['l.q.bias', [8]], ['l.fc.weight', [16, 8]], ['head.bias', [100]]]);
    const o = { groupOf: (n: string) => (n.startsWith('emb') ? 'embeddings' as const : n.startsWith('head') ? 'head' as const : 'encoder' as const), isLoraTarget: (n: string) => n === 'l.q.weight', loraRank: 2 };
    assert.equal(trainedParameterCount(shapes, 'all', o), 800 + 64 + 8 + 128 + 100);
    assert.equal(trainedParameterCount(shapes, 'no-embeddings', o), 64 + 8 + 128 + 100);
    assert.equal(trainedParameterCount(shapes, 'head', o), 100);
    assert.equal(trainedParameterCount(shapes, 'biases', o), 8 + 100);
    assert.equal(trainedParameterCount(shapes, 'lora', o), 2 * (8 + 8) + 100);
    const std = { ...o, standardHead: { classes: 3, hidden: 8 } };
    assert.equal(trainedParameterCount(shapes, 'all', std), 800 + 64 + 8 + 128 + 3 * 9);
    assert.equal(trainedParameterCount(shapes, 'head', std), 3 * 9);
  });

  it('kernel-only runs count no optimizer or activations; the kernel phase then sets the peak', () => {
    const s = settings({ trainedParameters: GPT2_SMALL.parameters, finetune: false });
    const e = estimateMemory(GPT2_SMALL, s, 'wasm');
    assert.equal(e.peakPhase, 'kernel');
    const live = 4 * GPT2_SMALL.parameters + 2 ** 30 + 2 * 4 * GPT2_SMALL.parameters + 256 * 2 ** 20;
    assert.equal(e.peakBytes, live + Math.round(ALLOCATOR_SLACK * live));
  });
});

describe('preflight refuses a run that cannot fit the wasm heap, before loading anything', function () {
  this.timeout(120000);
  // A GPT-2-layout checkpoint of 253 M parameters whose weights file is sparse: preflight reads only the headers.
  let exp: TinyCausalExperiment;
  let P = 0;
  before(async () => {
    exp = await makeTinyCausalExperiment({});
    const family = causalFamilyFor('gpt2')!;
    const config = family.parseConfig({ model_type: 'gpt2', vocab_size: 50257, n_embd: 1024, n_layer: 16, n_head: 16, n_positions: 1024 }, '<big>');
    fs.writeFileSync(path.join(exp.modelDir, 'config.json'), JSON.stringify(family.configToJson(config)));
    const header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }> = {};
    let offset = 0;
    for (const [name, shape] of family.expectedShapes(config)) {
      const bytes = 4 * shape.reduce((a, b) => a * b, 1);
      header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
      P += bytes / 4;
      offset += bytes;
    }
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    const file = path.join(exp.modelDir, 'model.safetensors');
    fs.writeFileSync(file, Buffer.concat([len, json]));
    fs.truncateSync(file, 8 + json.length + offset); // sparse: no data written
  });
  after(() => exp?.cleanup());

  const withSettings = (finetune: string, extra = '', backend = 'wasm') => {
    const text = fs.readFileSync(exp.specFile, 'utf8').replace(/^backend: .*$/m, `backend: ${backend}`).replace(/^finetune: .*$/m, `finetune: ${finetune}`)
      .replace('  - name: it-was\n', `  - name: it-was\n${extra}`);
    const file = path.join(exp.dir, `fit-${Math.random().toString(36).slice(2)}.ntk.yaml`);
    fs.writeFileSync(file, text);
    return loadSpec(file);
  };
  const memoryErrors = async (spec: ReturnType<typeof loadSpec>) => (await preflight(spec)).filter((p) => p.severity === 'error' && /heap/.test(p.message));

  it('full AdamW fine-tuning on wasm: an error at finetune with every figure and LoRA as the remedy', async () => {
    const spec = withSettings('{optimizer: adam, learning_rate: 1.0e-4, steps: 10, batch_size: 8}');
    const [e] = await memoryErrors(spec);
    assert.ok(e, 'a memory error');
    assert.equal(e.line, fs.readFileSync(spec.file, 'utf8').split('\n').findIndex((l) => l.startsWith('finetune:')) + 1);
    assert.match(e.message, /template 'it-was': this run needs about [\d.]+ GiB at its peak \(fine-tuning\), more than the wasm backend's 4\.0 GiB heap/);
    assert.ok(e.message.includes(`weights (${(P / 1e6).toFixed(1)} M parameters)`), `P = ${P}`);
    assert.match(e.message, /Remedies: 'parameters: lora'/);
  });

  it('the same model with parameters: lora, or on the cpu backend, passes', async () => {
    assert.deepEqual(await memoryErrors(withSettings('{optimizer: adam, learning_rate: 1.0e-4, steps: 10, batch_size: 8}', '    parameters: lora\n')), []);
    assert.deepEqual(await memoryErrors(withSettings('{optimizer: adam, learning_rate: 1.0e-4, steps: 10, batch_size: 8}', '', 'cpu')), []);
  });
});
