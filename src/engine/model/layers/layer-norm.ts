/**
 * LayerNorm of the causal LMs (GPT-2, GPT-NeoX) and ModernBERT (β absent unless norm_bias): layer-ops.ts's formula and op order, (x − mean) / sqrt(var + eps)
 * · γ (+ β) over the last axis (biased variance, as PyTorch), plus the optional recorder (recorder.ts: a norm site
 * with x̂). N rows, H hidden.
 */
import * as tf from '@tensorflow/tfjs';
import { param } from '../layer-ops';
import type { Params } from '../weights';
import type { LayerRecorder } from './recorder';

/** A LayerNorm's γ and, unless it has none (ModernBERT's norm_bias false), β. */
export interface LayerNormNames { weight: string; bias?: string }

/** x [N, H] → [N, H] */
export function layerNorm(params: Params, names: LayerNormNames, x: tf.Tensor2D, eps: number, rec?: LayerRecorder): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true); // [N, 1] each
  const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))) as tf.Tensor2D; // [N, H]
  const bias = names.bias === undefined ? undefined : param(params, names.bias);
  const scaled = tf.mul(normed, param(params, names.weight)) as tf.Tensor2D;
  const y = bias ? tf.add(scaled, bias) as tf.Tensor2D : scaled; // [N, H]
  return rec ? rec.norm(y, normed, param(params, names.weight), bias) : y;
}
