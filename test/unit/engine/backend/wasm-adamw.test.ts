import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../../src/engine/backend';
import { adamWStep, createAdamWState } from '../../../../src/engine/finetune/optimizers';
import { mulberry32 } from '../../../../src/engine/util/random';

/** Three AdamW steps on two parameters (one decayed, one not; sizes not multiples of 4) on the current backend. */
function threeSteps(init: Float32Array[], grads: Float32Array[][]): { params: Float32Array[]; m: Float32Array[]; v: Float32Array[] } {
  const vars = init.map((x) => tf.variable(tf.tensor1d(x)));
  const state = createAdamWState(vars);
  const before = tf.memory().numTensors;
  for (let t = 0; t < 3; t++) {
    const g = grads[t].map((x) => tf.tensor1d(x));
    adamWStep(state, vars, g, 1e-2 * (t + 1), { beta1: 0.9, beta2: 0.98, eps: 1e-6, weightDecay: 0.01 }, [0.01, 0]);
    tf.dispose(g);
  }
  const out = { params: vars.map((x) => x.dataSync() as Float32Array), m: state.m.map((x) => x!.dataSync() as Float32Array), v: state.v.map((x) => x!.dataSync() as Float32Array) };
  const grew = tf.memory().numTensors - before;
  tf.dispose([...vars, ...state.m.map((x) => x!), ...state.v.map((x) => x!)]);
  assert.equal(grew, 4, 'only the two moments of each parameter are new tensors');
  return out;
}

describe('engine/backend/wasm-kernels: AdamW in one pass (adamw.c)', function () {
  this.timeout(60_000);
  let previous: string;
  before(async () => { previous = tf.getBackend(); await initBackend('wasm'); });
  after(async () => { if (previous) await tf.setBackend(previous); });

  it('takes the same steps as the tf-op form on the cpu backend (θ, m and v to float32 rounding), with and without weight decay', async () => {
    const rand = mulberry32(8);
    const arr = (n: number, s: number) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * s);
    const init = [arr(23, 1), arr(9, 0.1)];
    const grads = [0, 1, 2].map(() => [arr(23, 3), arr(9, 1e-3)]);
    const onWasm = threeSteps(init, grads);
    await tf.setBackend('cpu');
    const onCpu = threeSteps(init, grads);
    await tf.setBackend('wasm');
    for (const key of ['params', 'm', 'v'] as const) {
      onCpu[key].forEach((want, i) => want.forEach((w, j) => {
        const got = onWasm[key][i][j];
        assert.ok(Math.abs(got - w) <= 2e-7 * Math.max(1e-3, Math.abs(w)), `${key}[${i}][${j}]: ${got} on wasm, ${w} on cpu`);
      }));
    }
    assert.ok(onWasm.params[0].some((x, j) => x !== init[0][j]), 'the parameters moved');
  });

  it('is the path adamWStep takes on wasm: no tfjs kernel runs for the update', async () => {
    const p = tf.variable(tf.ones([10]));
    const g = tf.fill([10], 0.5);
    const state = createAdamWState([p]);
    const info = await tf.profile(() => adamWStep(state, [p], [g], 0.1, { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }));
    const kernels = info.kernels.map((k) => k.name).filter((n) => n !== 'ZerosLike'); // the zero moments of the first step
    assert.deepEqual(kernels, []);
    assert.ok(Math.abs(p.dataSync()[0] - 0.9) < 1e-6, 'first Adam step: θ − η·sign(g)');
    tf.dispose([p, g, state.m[0]!, state.v[0]!]);
  });
});
