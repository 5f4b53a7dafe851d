/**
 * Dense projections of the causal LMs, with an optional bias: nn.Linear (weight [out, in], y = x Wᵀ + b) and GPT-2's
 * Conv1D (weight [in, out], y = x W + b). Every product goes through backend mm/mmBT. N rows (B·T or B).
 * With a recorder (recorder.ts: the structured eNTK's recording) the output is reported as a dense site.
 */
import * as tf from '@tensorflow/tfjs';
import { mm, mmBT } from '../../backend/matmul';
import { param } from '../layer-ops';
import type { Params } from '../weights';
import type { LayerRecorder } from './recorder';

/** A projection's tensor names; `bias` absent when the layer has none (Llama's projections). */
export interface LinearNames { weight: string; bias?: string }

/** nn.Linear: x [N, in], weight [out, in] → x Wᵀ (+ b) [N, out]. */
export function linear(params: Params, names: LinearNames, x: tf.Tensor2D, rec?: LayerRecorder): tf.Tensor2D {
  const weight = param(params, names.weight);
  return applied(params, names, weight, x, rec, (z) => mmBT(z, weight), (dy) => mm(dy, weight)); // dx = dy·W
}

/** GPT-2's Conv1D: x [N, in], weight [in, out] → x W (+ b) [N, out]. */
export function conv1d(params: Params, names: LinearNames, x: tf.Tensor2D, rec?: LayerRecorder): tf.Tensor2D {
  const weight = param(params, names.weight);
  return applied(params, names, weight, x, rec, (z) => mm(z, weight), (dy) => mmBT(dy, weight)); // dx = dy·Wᵀ
}

/** product(x) (+ b), or, with a recorder, what its dense hook makes of the same map. */
function applied(
  params: Params, names: LinearNames, weight: tf.Variable, x: tf.Tensor2D, rec: LayerRecorder | undefined,
  product: (z: tf.Tensor2D) => tf.Tensor2D, inputGrad: (dy: tf.Tensor2D) => tf.Tensor2D,
): tf.Tensor2D {
  const bias = names.bias === undefined ? undefined : param(params, names.bias);
  const apply = (z: tf.Tensor2D): tf.Tensor2D => (bias ? tf.add(product(z), bias) as tf.Tensor2D : product(z)); // [n, out]
  if (!rec) return apply(x);
  return rec.dense(x, { weight, bias, apply, inputGrad });
}
