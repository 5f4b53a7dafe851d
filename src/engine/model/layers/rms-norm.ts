/**
 * RMSNorm as Hugging Face's LlamaRMSNorm: x / sqrt(mean(x²) + eps) · γ over the last axis, no mean subtraction and
 * no bias. N rows, H hidden. With a recorder (recorder.ts) the output is reported as a norm site (x̂ = x / rms).
 */
import * as tf from '@tensorflow/tfjs';
import { param } from '../layer-ops';
import type { Params } from '../weights';
import type { LayerRecorder } from './recorder';

/** x [N, H], γ = params[weight] [H] → [N, H]. */
export function rmsNorm(params: Params, weight: string, x: tf.Tensor2D, eps: number, rec?: LayerRecorder): tf.Tensor2D {
  const meanSquare = tf.mean(tf.mul(x, x), -1, true); // [N, 1]
  const normed = tf.mul(x, tf.rsqrt(tf.add(meanSquare, eps))) as tf.Tensor2D; // [N, H]
  const y = tf.mul(normed, param(params, weight)) as tf.Tensor2D; // [N, H]
  return rec ? rec.norm(y, normed, param(params, weight)) : y;
}
