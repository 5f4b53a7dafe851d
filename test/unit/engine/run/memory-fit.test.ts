import { strict as assert } from 'node:assert';
import { activationBytes, estimateMemory, fitProblem, WASM_HEAP_BYTES, type FitSettings, type ModelShape } from '../../../../src/engine/run/memory-fit';

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
    const ft = 4 * P * (2 + 1 + 2) + activationBytes(GPT2_SMALL, 8, 128);
    const kernel = 2 ** 30 + 256 * 2 ** 20;
    assert.equal(e.peakBytes, 4 * P + Math.max(ft, kernel));
    assert.equal(e.items.reduce((a, i) => a + i.bytes, 0), 4 * P + ft + kernel);
    assert.equal(e.peakPhase, 'fine-tuning');
  });

  it('activations: 4 bytes × B·T·L·(10H + 2I + 3·nh·T), linear in the batch size', () => {
    const a = activationBytes(GPT2_SMALL, 8, 128);
    assert.equal(a, 4 * 8 * 128 * 12 * (10 * 768 + 2 * 3072 + 3 * 12 * 128));
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
    const lora = settings({ trainedParameters: 400_000, optimizer: 'adam' });
    assert.equal(estimateMemory(SHAPE_250M, lora, 'wasm').fits, true);
    assert.equal(fitProblem(estimateMemory(SHAPE_250M, lora, 'wasm'), lora, 'wasm'), undefined);
    const full = settings({ trainedParameters: SHAPE_250M.parameters, optimizer: 'adam' });
    assert.equal(estimateMemory(SHAPE_250M, full, 'tensorflow').fits, true);
  });

  it('kernel-only runs count no optimizer or activations; the kernel phase then sets the peak', () => {
    const s = settings({ trainedParameters: GPT2_SMALL.parameters, finetune: false });
    const e = estimateMemory(GPT2_SMALL, s, 'wasm');
    assert.equal(e.peakPhase, 'kernel');
    assert.equal(e.peakBytes, 4 * GPT2_SMALL.parameters + 2 ** 30 + 256 * 2 ** 20);
  });
});
