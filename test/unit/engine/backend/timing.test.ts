/**
 * Timing of one forward and one forward+backward pass of a 4-layer × 256-hidden, 12k-vocabulary RoBERTa at batch
 * 8 × 64 (8 masked positions per sequence, full-vocabulary softmax cross-entropy), on wasm and cpu.
 * Slow (about a minute on cpu), so it runs only with NTK_LENS_BENCH=1; it checks that both backends give the same loss.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../../src/engine/backend';
import { disposeParams, encode, makeEncoderConfig, mlmLogits, randomParams } from '../../../../src/engine/model';

const config = makeEncoderConfig({
  modelType: 'roberta', vocabSize: 12000, hiddenSize: 256, numLayers: 4, numHeads: 4, intermediateSize: 1024,
  maxPositions: 130,
});
const B = 8;
const T = 64;
const MASKED = 8; // per sequence

/** Wall and process CPU time (all threads) in ms; CPU time is the figure to trust on a shared machine. */
interface Timing { loss: number; forwardMs: number; stepMs: number; forwardCpuMs: number; stepCpuMs: number }

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function time(backend: 'wasm' | 'cpu', iterations: number): Promise<Timing> {
  await initBackend(backend);
  const params = randomParams(config, 1);
  const ids = Array.from({ length: B * T }, (_, i) => 3 + ((i * 7919) % (config.vocabSize - 3)));
  const inputIds = tf.tensor2d(ids, [B, T], 'int32');
  const attentionMask = tf.ones([B, T], 'int32') as tf.Tensor2D;
  const rows = tf.tensor1d(Array.from({ length: B * MASKED }, (_, i) => Math.floor(i / MASKED) * T + 1 + (i % MASKED) * 7), 'int32');
  const targets = tf.oneHot(tf.tensor1d(Array.from({ length: B * MASKED }, (_, i) => (i * 31) % config.vocabSize), 'int32'), config.vocabSize);
  const loss = (): tf.Scalar => {
    const h = encode(params, config, { inputIds, attentionMask }, { training: false }); // [B, T, H]
    const at = tf.gather(h.reshape([B * T, config.hiddenSize]), rows) as tf.Tensor2D; // [B·8, H]
    return tf.losses.softmaxCrossEntropy(targets, mlmLogits(params, config, at)) as tf.Scalar;
  };
  const forward = (): number => tf.tidy(() => loss().dataSync()[0]);
  const step = (): number => tf.tidy(() => {
    const { value, grads } = tf.variableGrads(loss, [...params.values()]);
    const all = Object.values(grads).map((g) => tf.sum(g)).reduce((a, b) => tf.add(a, b)); // wait for every gradient
    all.dataSync();
    return value.dataSync()[0];
  });
  if (backend === 'wasm') { forward(); step(); } // warm-up (wasm compiles and grows its heap on first use)
  let t0 = performance.now();
  let c0 = cpuMs();
  let l = 0;
  for (let i = 0; i < iterations; i++) l = forward();
  const forwardMs = (performance.now() - t0) / iterations;
  const forwardCpuMs = (cpuMs() - c0) / iterations;
  t0 = performance.now();
  c0 = cpuMs();
  for (let i = 0; i < iterations; i++) step();
  const stepMs = (performance.now() - t0) / iterations;
  const stepCpuMs = (cpuMs() - c0) / iterations;
  disposeParams(params);
  tf.dispose([inputIds, attentionMask, rows, targets]);
  return { loss: l, forwardMs, stepMs, forwardCpuMs, stepCpuMs };
}

describe('engine/backend: wasm vs cpu timing of a 4×256, 12k-vocab model at 8×64 (NTK_LENS_BENCH=1)', function () {
  let previous: string;
  before(function () {
    if (!process.env.NTK_LENS_BENCH) this.skip();
    previous = tf.getBackend();
  });
  after(async () => { if (previous) await tf.setBackend(previous); });

  it('measures forward and forward+backward on both backends, which agree on the loss', async function () {
    this.timeout(0);
    const show = (name: string, t: Timing): void => console.log(`      ${name}: forward ${t.forwardMs.toFixed(0)} ms `
      + `(CPU ${t.forwardCpuMs.toFixed(0)} ms), forward+backward ${t.stepMs.toFixed(0)} ms (CPU ${t.stepCpuMs.toFixed(0)} ms)`);
    const wasm = await time('wasm', 3);
    show('wasm', wasm);
    if (process.env.NTK_LENS_BENCH === 'wasm') return; // wasm only: skip the minutes-long cpu run
    const cpu = await time('cpu', 1);
    show('cpu ', cpu);
    assert.ok(Math.abs(wasm.loss - cpu.loss) < 1e-4 * Math.abs(cpu.loss), `loss wasm ${wasm.loss} vs cpu ${cpu.loss}`);
  });
});
