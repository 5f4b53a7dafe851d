/**
 * AdamW's update of one parameter by adamw.c in a single pass on the wasm backend: new tensors for θ, m and v,
 * which the caller assigns to its variables. Returns undefined on other backends (and for non-float32 tensors),
 * where finetune/optimizers.ts composes the same update from tf ops.
 */
import * as tf from '@tensorflow/tfjs';
import { bind, offsetOf, type WasmBackend } from './module';

export interface AdamWScalars { beta1: number; beta2: number; eps: number; stepSize: number; decay: number }

export function wasmAdamWUpdate(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, h: AdamWScalars): { p: tf.Tensor; m: tf.Tensor; v: tf.Tensor } | undefined {
  if (tf.getBackend() !== 'wasm' || [p, g, m, v].some((t) => t.dtype !== 'float32')) return undefined;
  if (g.size !== p.size || m.size !== p.size || v.size !== p.size) throw new Error(`wasm-kernels/adamw: sizes ${[p, g, m, v].map((t) => t.size)} differ`);
  const be = tf.backend() as unknown as WasmBackend;
  const [pOut, mOut, vOut] = [0, 1, 2].map(() => be.makeOutput([...p.shape], 'float32'));
  if (p.size > 0) {
    bind(be).fn.adamw_update(offsetOf(be, p), offsetOf(be, g), offsetOf(be, m), offsetOf(be, v), p.size,
      h.beta1, 1 - h.beta1, h.beta2, 1 - h.beta2, h.eps, h.stepSize, h.decay, offsetOf(be, pOut), offsetOf(be, mOut), offsetOf(be, vOut));
  }
  const [np, nm, nv] = [pOut, mOut, vOut].map((t) => tf.engine().makeTensorFromTensorInfo(t));
  return { p: np, m: nm, v: nv };
}
