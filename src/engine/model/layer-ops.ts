/**
 * The small operations every block uses: dense layer, LayerNorm, activation, seeded dropout, parameter lookup.
 * Dimension letters: N rows (B·T or B), H hidden, I intermediate, V vocabulary.
 */
import * as tf from '@tensorflow/tfjs';
import { mmBT } from '../backend/matmul';
import { wasmGeluWithGrad } from '../backend/wasm-kernels';
import type { HiddenAct } from './config';
import type { DenseNames, NormNames } from './param-names';
import type { Params } from './weights';

/** The variable named `name`; an error naming it if the Params lack it. */
export function param(params: Params, name: string): tf.Variable {
  const v = params.get(name);
  if (!v) throw new Error(`model/layer-ops.ts: params have no tensor "${name}"; load them with loadCheckpoint or randomParams.`);
  return v;
}

/**
 * y = x Wᵀ + b with W stored [out, in] as in the checkpoint, through mmBT (backend/matmul.ts: flags on wasm and cpu,
 * explicit transposes on webgpu). x [N, in] → [N, out]
 */
export function dense(params: Params, names: DenseNames, x: tf.Tensor2D): tf.Tensor2D {
  return tf.add(mmBT(x, param(params, names.weight)), param(params, names.bias)); // [N, out]
}

/** LayerNorm over the last axis: (x − mean) / sqrt(var + eps) · γ + β (biased variance, as PyTorch). x [N, H] */
export function layerNorm(params: Params, names: NormNames, x: tf.Tensor2D, eps: number): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true); // [N, 1] each
  const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))); // [N, H]
  return tf.add(tf.mul(normed, param(params, names.weight)), param(params, names.bias));
}

const SQRT_HALF = Math.SQRT1_2;
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * Hugging Face activations. 'gelu' is the exact x·Φ(x) = ½x(1 + erf(x/√2)) (tf.erf has a registered gradient);
 * 'gelu_new'/'gelu_pytorch_tanh' the tanh approximation ½x(1 + tanh(√(2/π)(x + 0.044715x³))), with x·x·x rather
 * than pow (faster gradient on wasm).
 */
export function activation(kind: HiddenAct, x: tf.Tensor2D): tf.Tensor2D {
  switch (kind) {
    case 'gelu':
      if (tf.getBackend() === 'wasm') return fusedGelu(x) as tf.Tensor2D; // one pass each way (wasm-kernels/gelu.c)
      return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, SQRT_HALF))));
    case 'gelu_new':
    case 'gelu_pytorch_tanh':
      return tanhGelu(x) as tf.Tensor2D;
    case 'relu':
      return tf.relu(x);
  }
}

/**
 * GELU through our wasm kernel: the forward pass computes y and y' together and keeps y'; the backward is g·y'.
 * (tfjs composes erf GELU from about six elementwise ops forward and eight backward.)
 */
const fusedGelu = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const { y, dy } = wasmGeluWithGrad(x)!;
  save([dy]);
  return { value: y, gradFunc: (g: tf.Tensor, saved: tf.Tensor[]) => tf.mul(g, saved[0]) };
}) as unknown as Parameters<typeof tf.customGrad>[0]);

/**
 * The exact GELU and its derivative, y = ½u(1 + erf(u/√2)) (as `activation`) and y' = Φ(u) + u·φ(u): one pass of
 * gelu.c on wasm, else one evaluation of erf. For the masked LMs' hand-written recording (recording.ts).
 */
export function geluWithGrad(u: tf.Tensor): { y: tf.Tensor; dy: tf.Tensor } {
  const fused = wasmGeluWithGrad(u);
  if (fused) return fused;
  return tf.tidy(() => {
    const onePlusErf = tf.add(1, tf.erf(tf.mul(u, SQRT_HALF)));
    return { y: tf.mul(tf.mul(u, 0.5), onePlusErf), dy: tf.add(tf.mul(onePlusErf, 0.5), tf.mul(u, tf.mul(tf.exp(tf.mul(tf.square(u), -0.5)), INV_SQRT_2PI))) };
  });
}

/**
 * The tanh GELU and its derivative from one evaluation of tanh: t = tanh(z), z = √(2/π)(u + 0.044715·u·u·u),
 *   y = ½u(1 + t),   y' = ½(1 + t) + ½u(1 − t²)·√(2/π)(1 + 3·0.044715u²).
 * Shared by `activation` and the masked LMs' hand-written recording (recording.ts), so both compute the same y.
 */
export function tanhGeluWithGrad(u: tf.Tensor): { y: tf.Tensor; dy: tf.Tensor } {
  return tf.tidy(() => {
    const t = tf.tanh(tf.mul(tf.add(u, tf.mul(tf.mul(tf.mul(u, u), u), 0.044715)), SQRT_2_OVER_PI));
    const onePlusT = tf.add(1, t);
    const dz = tf.mul(tf.add(1, tf.mul(tf.square(u), 3 * 0.044715)), SQRT_2_OVER_PI);
    const halfU = tf.mul(u, 0.5);
    return { y: tf.mul(halfU, onePlusT), dy: tf.add(tf.mul(0.5, onePlusT), tf.mul(tf.mul(halfU, tf.sub(1, tf.square(t))), dz)) };
  });
}

/**
 * The tanh GELU with its derivative kept from the forward pass: the tape then holds y' alone where autodiff of the
 * composed formula kept every one of its ~10 steps (about 22·I floats per token and layer against 5·I:
 * test/unit/engine/run/memory-activations.test.ts). The backward is g·y'.
 */
const tanhGelu = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  const { y, dy } = tanhGeluWithGrad(x);
  save([dy]);
  return { value: y, gradFunc: (g: tf.Tensor, saved: tf.Tensor[]) => tf.mul(g, saved[0]) };
}) as unknown as Parameters<typeof tf.customGrad>[0]);

/** Applies dropout to one tensor at one site: identity when not training or rate 0. */
export type Dropout = <T extends tf.Tensor>(x: T, rate: number) => T;

/** A 32-bit mix of (seed, site) so that each dropout site of each step gets its own, reproducible mask. */
function mixSeed(seed: number, site: number): number {
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(site + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Dropout for one forward pass. With a seed, the k-th call uses the seed mix(seed, k), so a forward pass is
 * reproducible (and identical on every backend: tfjs draws seeded randoms in JS). Without a seed, masks are random.
 * Kept values are scaled by 1/(1 − rate) (inverted dropout, as PyTorch).
 */
export function makeDropout(training: boolean, seed?: number): Dropout {
  let site = 0;
  return <T extends tf.Tensor>(x: T, rate: number): T => {
    if (!training || rate === 0) return x;
    const s = seed === undefined ? undefined : mixSeed(seed, site++);
    return tf.dropout(x, rate, undefined, s) as T;
  };
}
