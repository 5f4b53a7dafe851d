import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { batchOrder, batchSchedule } from '../../../../src/engine/finetune/batches';
import { clipByGlobalNorm } from '../../../../src/engine/finetune/clip';
import { createOptimizer, noWeightDecay } from '../../../../src/engine/finetune/optimizers';
import { linearWarmupDecay } from '../../../../src/engine/finetune/schedule';

describe('finetune/schedule, clip, optimizers, batches', () => {
  before(async () => { await tf.setBackend('cpu'); });

  it('warms the learning rate up linearly from 0 and decays it linearly to 0 at the last step (HF schedule)', () => {
    const o = { learningRate: 1, warmupSteps: 4, totalSteps: 12 };
    assert.deepEqual([0, 1, 2, 3, 4, 8, 11, 12, 20].map((s) => linearWarmupDecay(s, o)), [0, 0.25, 0.5, 0.75, 1, 0.5, 0.125, 0, 0]);
    assert.deepEqual([0, 9].map((s) => linearWarmupDecay(s, { learningRate: 2, warmupSteps: 0, totalSteps: 10 })), [2, 0.2]);
  });

  it('clips the global gradient norm to maxNorm and leaves smaller gradients unchanged', () => {
    const g = [tf.tensor1d([3, 0]), null, tf.tensor2d([[0, 4]])]; // norm 5
    const { grads, norm } = clipByGlobalNorm(g, 1);
    assert.equal(norm, 5);
    assert.equal(grads[1], null);
    const scaled = [...grads[0]!.dataSync(), ...grads[2]!.dataSync()];
    assert.ok(Math.abs(Math.hypot(...scaled) - 1) < 1e-6, `clipped norm ${Math.hypot(...scaled)}`);
    const kept = clipByGlobalNorm(g, 10);
    assert.deepEqual(Array.from(kept.grads[0]!.dataSync()), [3, 0]);
    [...g, ...grads, ...kept.grads].forEach((t) => t?.dispose());
    assert.throws(() => clipByGlobalNorm([], 0), /maxGradNorm = 0/);
  });

  it('steps AdamW as Hugging Face (bias correction, decoupled decay skipped for biases and LayerNorm weights) against a float64 reference', () => {
    const w = tf.variable(tf.tensor1d([0.5, -1.0, 2.0])), bias = tf.variable(tf.tensor1d([0.3, -0.2, 0.1]));
    const opt = createOptimizer('adamw', [['layer.weight', w], ['layer.bias', bias]], { weightDecay: 0.1 });
    const ref = { w: [0.5, -1.0, 2.0], b: [0.3, -0.2, 0.1] };
    const m = { w: [0, 0, 0], b: [0, 0, 0] }, v = { w: [0, 0, 0], b: [0, 0, 0] };
    const gradsAt = (t: number) => ({ w: [0.1 * t, -0.3, 0.02], b: [-0.5, 0.05 * t, 0] });
    for (let t = 1; t <= 3; t++) {
      const g = gradsAt(t), lr = 0.01 * t;
      const gw = tf.tensor1d(g.w), gb = tf.tensor1d(g.b);
      opt.step([gw, gb], lr);
      gw.dispose(); gb.dispose();
      for (const k of ['w', 'b'] as const) for (let i = 0; i < 3; i++) {
        m[k][i] = 0.9 * m[k][i] + 0.1 * g[k][i];
        v[k][i] = 0.999 * v[k][i] + 0.001 * g[k][i] ** 2;
        const step = (lr * Math.sqrt(1 - 0.999 ** t)) / (1 - 0.9 ** t);
        ref[k][i] -= (step * m[k][i]) / (Math.sqrt(v[k][i]) + 1e-8);
        if (k === 'w') ref[k][i] -= lr * 0.1 * ref[k][i];
      }
    }
    Array.from(w.dataSync()).forEach((x, i) => assert.ok(Math.abs(x - ref.w[i]) < 1e-6, `w[${i}] ${x} vs ${ref.w[i]}`));
    Array.from(bias.dataSync()).forEach((x, i) => assert.ok(Math.abs(x - ref.b[i]) < 1e-6, `b[${i}] ${x} vs ${ref.b[i]}`));
    assert.ok(noWeightDecay('bert.encoder.layer.0.output.LayerNorm.weight') && !noWeightDecay('bert.encoder.layer.0.output.dense.weight'));
    opt.dispose(); w.dispose(); bias.dispose();
  });

  it('steps SGD as θ − η·g and SignGD as θ − η·sign(g) (sign(0) = 0), skipping parameters without gradient', () => {
    const a = tf.variable(tf.tensor1d([1, 1, 1])), b = tf.variable(tf.tensor1d([5]));
    const g = tf.tensor1d([0.5, -2, 0]);
    createOptimizer('sgd', [['a', a], ['b', b]]).step([g, null], 0.1);
    assert.deepEqual(Array.from(a.dataSync()).map((x) => Math.round(x * 1e6) / 1e6), [0.95, 1.2, 1]);
    createOptimizer('signgd', [['a', a], ['b', b]]).step([g, null], 0.1);
    assert.deepEqual(Array.from(a.dataSync()).map((x) => Math.round(x * 1e6) / 1e6), [0.85, 1.3, 1]);
    assert.deepEqual(Array.from(b.dataSync()), [5]);
    [a, b, g].forEach((t) => t.dispose());
  });

  it('draws batches from a seeded per-epoch permutation: each epoch covers every example once, the last batch may be short', () => {
    const batches = batchSchedule(7, 3, 42, 6);
    assert.deepEqual(batches.map((b) => b.length), [3, 3, 1, 3, 3, 1]);
    for (const epoch of [batches.slice(0, 3), batches.slice(3)]) assert.deepEqual(epoch.flat().sort(), [0, 1, 2, 3, 4, 5, 6]);
    assert.notDeepEqual(batches.slice(0, 3), batches.slice(3), 'reshuffled every epoch');
    assert.deepEqual(batchSchedule(7, 3, 42, 6), batches, 'same seed, same batches');
    assert.notDeepEqual(batchSchedule(7, 3, 43, 6), batches, 'another seed, other batches');
    assert.throws(() => batchOrder(0, 2, 1).next(), /at least one example/);
  });
});
