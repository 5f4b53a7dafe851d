/**
 * RMSNorm as Hugging Face's LlamaRMSNorm: x / sqrt(mean(x²) + eps) · γ over the last axis, no mean subtraction and
 * no bias. N rows, H hidden.
 */
import * as tf from '@tensorflow/tfjs';
import { param } from '../layer-ops';
import type { Params } from '../weights';

/** x [N, H], γ = params[weight] [H] → [N, H]. */
export function rmsNorm(params: Params, weight: string, x: tf.Tensor2D, eps: number): tf.Tensor2D {
  const meanSquare = tf.mean(tf.mul(x, x), -1, true); // [N, 1]
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, eps))), param(params, weight)); // [N, H]
}
