/**
 * Causal self-attention on projected q/k/v: heads, rotary (optional), grouped-query attention (nh query heads share
 * nkv key/value heads, query head h reading kv head ⌊h / (nh/nkv)⌋ as transformers' repeat_kv), the causal mask,
 * the key padding mask and an optional sliding window as one additive bias (MASKED_SCORE, as model/attention.ts).
 * What a query reads is decided by the bias alone: ModernBERT's bidirectional layers (modernbert/forward.ts) call the
 * same function with a bias built by `attentionBias` from their own key pattern (padding, and a window on local layers).
 * B batch, T tokens, nh query heads, nkv key/value heads, hs head size.
 */
import * as tf from '@tensorflow/tfjs';
import { MASKED_SCORE } from '../attention';
import type { Dropout } from '../layer-ops';
import { applyRotary, type RotaryTables } from './rotary';

/**
 * Which keys each query may attend to, on the host: allowed[i·T + j] = 1 when j ≤ i and (no window, or i − j < window,
 * as transformers' sliding_window_overlay: kv_idx > q_idx − window). [T, T]
 */
export function causalAllowedOnHost(T: number, slidingWindow?: number): Float32Array {
  const allowed = new Float32Array(T * T);
  for (let i = 0; i < T; i++) {
    for (let j = 0; j <= i; j++) if (slidingWindow === undefined || i - j < slidingWindow) allowed[i * T + j] = 1;
  }
  return allowed;
}

/** attentionMask [B, T] (1 real, 0 pad) → additive bias [B, 1, T, T]: 0 where query i may read key j, else MASKED_SCORE. */
export function causalAttentionBias(attentionMask: tf.Tensor2D, slidingWindow?: number): tf.Tensor4D {
  return attentionBias(attentionMask, causalAllowedOnHost(attentionMask.shape[1], slidingWindow));
}

/**
 * attentionMask [B, T] and the keys each query may read, allowed [T·T] (1/0, row-major) → additive bias [B, 1, T, T]:
 * 0 where query i may read key j (allowed, and j is a real token), else MASKED_SCORE.
 */
export function attentionBias(attentionMask: tf.Tensor2D, allowed: Float32Array): tf.Tensor4D {
  const [B, T] = attentionMask.shape;
  return tf.tidy(() => {
    const pattern = tf.tensor4d(allowed, [1, 1, T, T]);
    const keys = tf.reshape(tf.cast(attentionMask, 'float32'), [B, 1, 1, T]);
    return tf.mul(tf.sub(1, tf.mul(pattern, keys)), MASKED_SCORE) as tf.Tensor4D; // [B, 1, T, T]
  });
}

export interface AttentionShape { B: number; T: number; numHeads: number; numKeyValueHeads: number; headDim: number }

/** [B·T, n·hs] → [B, n, T, hs] */
export function splitHeads(x: tf.Tensor2D, B: number, T: number, n: number, hs: number): tf.Tensor4D {
  return tf.transpose(tf.reshape(x, [B, T, n, hs]), [0, 2, 1, 3]); // [B, T, n, hs] → [B, n, T, hs]
}

export interface CausalAttentionOptions {
  rotary?: RotaryTables;
  dropout: Dropout;
  /** Dropout rate on the attention probabilities. */
  dropoutRate: number;
}

/**
 * q [B·T, nh·hs], k and v [B·T, nkv·hs], bias [B, 1, T, T] (causalAttentionBias, or attentionBias) → the merged context
 * [B·T, nh·hs], before the output projection. Scores are scaled by 1/√hs.
 */
export function causalAttention(
  q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, shape: AttentionShape, bias: tf.Tensor4D, options: CausalAttentionOptions,
): tf.Tensor2D {
  const { B, T, numHeads: nh, numKeyValueHeads: nkv, headDim: hs } = shape;
  if (nh % nkv !== 0) throw new Error(`model/layers/causal-attention.ts: ${nh} query heads are not a multiple of ${nkv} key/value heads.`);
  const rep = nh / nkv;
  let qh = splitHeads(q, B, T, nh, hs); // [B, nh, T, hs]
  let kh = splitHeads(k, B, T, nkv, hs); // [B, nkv, T, hs]
  const vh = splitHeads(v, B, T, nkv, hs); // [B, nkv, T, hs]
  if (options.rotary) {
    qh = applyRotary(qh, options.rotary);
    kh = applyRotary(kh, options.rotary);
  }
  // Grouped queries without copying k and v: heads g·rep..g·rep+rep−1 read kv head g, so fold them into the rows.
  const grouped = tf.reshape(qh, [B, nkv, rep * T, hs]); // [B, nkv, rep·T, hs]
  const raw = tf.matMul(grouped, kh, false, true); // [B, nkv, rep·T, T]
  const scores = tf.add(tf.mul(tf.reshape(raw, [B, nh, T, T]), 1 / Math.sqrt(hs)), bias); // [B, nh, T, T]
  const probs = options.dropout(tf.softmax(scores, -1), options.dropoutRate); // [B, nh, T, T]
  const context = tf.matMul(tf.reshape(probs, [B, nkv, rep * T, T]), vh); // [B, nkv, rep·T, hs]
  const merged = tf.transpose(tf.reshape(context, [B, nh, T, hs]), [0, 2, 1, 3]); // [B, T, nh, hs]
  return tf.reshape(merged, [B * T, nh * hs]) as tf.Tensor2D; // [B·T, nh·hs]
}
