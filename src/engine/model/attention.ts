/**
 * Multi-head self-attention with its output projection, residual and LayerNorm (BertAttention).
 * B batch, T tokens, H hidden, nh heads, hs head size (H = nh·hs).
 */
import * as tf from '@tensorflow/tfjs';
import type { EncoderConfig } from './config';
import { dense, layerNorm, type Dropout } from './layer-ops';
import type { LayerNames } from './param-names';
import type { Params } from './weights';

/** Added to the scores of padded keys: exp(score − 1e9 − max) is exactly 0 in float32, and never NaN. */
export const MASKED_SCORE = -1e9;

/** attentionMask [B, T] (1 real, 0 pad) → additive bias [B, 1, 1, T] (0 real, MASKED_SCORE pad). */
export function attentionBias(attentionMask: tf.Tensor2D): tf.Tensor4D {
  const [B, T] = attentionMask.shape;
  return tf.tidy(() => tf.mul(tf.sub(1, tf.cast(attentionMask, 'float32')), MASKED_SCORE).reshape([B, 1, 1, T]));
}

/** [B·T, H] → [B, nh, T, hs] */
function splitHeads(x: tf.Tensor2D, B: number, T: number, nh: number): tf.Tensor4D {
  const hs = x.shape[1] / nh;
  return tf.transpose(tf.reshape(x, [B, T, nh, hs]), [0, 2, 1, 3]); // [B, T, nh, hs] → [B, nh, T, hs]
}

/** x [B·T, H], bias [B, 1, 1, T] → LayerNorm(x + Attention(x)) [B·T, H]. */
export function attentionBlock(
  params: Params, config: EncoderConfig, names: LayerNames, x: tf.Tensor2D, bias: tf.Tensor4D,
  B: number, T: number, dropout: Dropout,
): tf.Tensor2D {
  const nh = config.numHeads;
  const hs = config.hiddenSize / nh;
  const q = splitHeads(dense(params, names.query, x), B, T, nh); // [B, nh, T, hs]
  const k = splitHeads(dense(params, names.key, x), B, T, nh); // [B, nh, T, hs]
  const v = splitHeads(dense(params, names.value, x), B, T, nh); // [B, nh, T, hs]
  // Batched products: plain tf.matMul (on wasm our BatchMatMul runs them, transposed or not).
  const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hs)), bias); // [B, nh, T, T]
  const probs = dropout(tf.softmax(scores, -1), config.attentionDropout); // [B, nh, T, T]
  const context = tf.matMul(probs, v); // [B, nh, T, hs]
  const merged = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [B * T, config.hiddenSize]) as tf.Tensor2D; // [B·T, H]
  // DistilBERT's MultiHeadSelfAttention has no dropout after its output projection (BERT's BertSelfOutput has).
  const projected = dense(params, names.attentionOutput, merged); // [B·T, H]
  const out = config.modelType === 'distilbert' ? projected : dropout(projected, config.hiddenDropout);
  return layerNorm(params, names.attentionNorm, tf.add(out, x), config.layerNormEps);
}
