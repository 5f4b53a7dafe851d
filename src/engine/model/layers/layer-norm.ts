/**
 * LayerNorm of the causal LMs (GPT-2, GPT-NeoX): layer-ops.ts's formula and op order, (x − mean) / sqrt(var + eps)
 * · γ + β over the last axis (biased variance, as PyTorch), plus the optional recorder (recorder.ts: a norm site
 * with x̂). N rows, H hidden.
 */
import * as tf from '@tensorflow/tfjs';
import { param } from '../layer-ops';
import type { NormNames } from '../param-names';
import type { Params } from '../weights';
import type { LayerRecorder } from './recorder';

/** x [N, H] → [N, H] */
export function layerNorm(params: Params, names: NormNames, x: tf.Tensor2D, eps: number, rec?: LayerRecorder): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true); // [N, 1] each
  const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))) as tf.Tensor2D; // [N, H]
  const y = tf.add(tf.mul(normed, param(params, names.weight)), param(params, names.bias)) as tf.Tensor2D;
  return rec ? rec.norm(y, normed, param(params, names.weight), param(params, names.bias)) : y;
}
