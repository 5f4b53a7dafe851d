/**
 * ModernBERT's forward pass (ModernBertForMaskedLM, modeling_modernbert.py), from the shared layer pieces:
 *   embeddings   h = LayerNorm(tok_embeddings[id])                      (no position table: rotary positions)
 *   layer i      h = h + Wo(attn(attn_norm(h)))                         (layer 0: no attn_norm)
 *                h = h + Wo'(act(inp) ⊙ gate), [inp | gate] = Wi(mlp_norm(h))   (GeGLU; act on the first half)
 *   attention    Wqkv(x) = q | k | v, rotary on the whole head, scores q·k/√hs; layer i is global iff
 *                i % global_attn_every_n_layers = 0 (rope θ = global_rope_theta), else local: query i reads key j
 *                only if |i − j| ≤ ⌊local_attention / 2⌋ (θ = local_rope_theta); pads are never read
 *   final        h = final_norm(h); the MLM head z = head.norm(act(head.dense(h))), logits = z·decoderᵀ + bias.
 * Bidirectional: every real token reads every real key (within its window); batches are right-padded and positions
 * are 0..len−1, so a real token's result does not depend on the batching or the padding.
 * With a recorder (layers/recorder.ts) every parameterised piece reports its site: the structured eNTK's recording
 * (causal/recording.ts tappedRecordingModel) works from this forward as for the causal families.
 * B batch, T tokens, H hidden, nh heads, hs head size, I intermediate, V vocabulary, C label ids.
 */
import * as tf from '@tensorflow/tfjs';
import { checkLmBatch } from '../causal/batch-check';
import { makeDropout, param, type Dropout } from '../layer-ops';
import { causalActivation } from '../layers/activation';
import { attentionBias, causalAttention } from '../layers/causal-attention';
import { layerNorm } from '../layers/layer-norm';
import { linear } from '../layers/linear';
import { lmHeadLogits } from '../layers/lm-head';
import type { LayerRecorder } from '../layers/recorder';
import { rotaryTables, type RotaryTables } from '../layers/rotary';
import type { Params } from '../weights';
import { isGlobalLayer, type ModernBertConfig } from './config';
import { MODERNBERT_NAMES, modernBertLayerNames, modernBertOuterNames } from './names';

const WHERE = 'model/modernbert/forward.ts';

export interface ModernBertBatch {
  inputIds: tf.Tensor2D; // int32 [B, T]
  attentionMask: tf.Tensor2D; // [B, T], 1 for real tokens, 0 for padding
}

export interface ModernBertForwardOptions {
  training: boolean;
  seed?: number;
  recorder?: LayerRecorder;
}

/**
 * Which keys each query may read, on the host: allowed[i·T + j] = 1 when there is no window or |i − j| ≤ halfWindow
 * (transformers' sliding_window_mask: distance ≤ local_attention // 2). [T, T]
 */
export function windowAllowedOnHost(T: number, halfWindow?: number): Float32Array {
  const allowed = new Float32Array(T * T);
  for (let i = 0; i < T; i++) {
    for (let j = 0; j < T; j++) if (halfWindow === undefined || Math.abs(i - j) <= halfWindow) allowed[i * T + j] = 1;
  }
  return allowed;
}

/** attentionMask [B, T] → additive bias [B, 1, T, T]: 0 where query i may read key j (a real key in its window), else MASKED_SCORE. */
export function bidirectionalAttentionBias(attentionMask: tf.Tensor2D, halfWindow?: number): tf.Tensor4D {
  return attentionBias(attentionMask, windowAllowedOnHost(attentionMask.shape[1], halfWindow));
}

/** What the global and the local layers attend with: their masks and rotary tables. */
interface AttentionKinds { global: { bias: tf.Tensor4D; rotary: RotaryTables }; local: { bias: tf.Tensor4D; rotary: RotaryTables } }

/** One layer: x [B·T, H] → [B·T, H]. */
function modernBertLayer(
  params: Params, config: ModernBertConfig, i: number, x: tf.Tensor2D, kinds: AttentionKinds, B: number, T: number,
  dropout: Dropout, rec?: LayerRecorder,
): tf.Tensor2D {
  const names = modernBertLayerNames(config, i);
  const H = config.hiddenSize;
  const I = config.intermediateSize;
  const kind = isGlobalLayer(config, i) ? kinds.global : kinds.local;
  const normed = names.attnNorm ? layerNorm(params, names.attnNorm, x, config.normEps, rec) : x; // [B·T, H]
  const qkv = linear(params, names.wqkv, normed, rec); // [B·T, 3H]: q | k | v
  const part = (k: number): tf.Tensor2D => tf.slice(qkv, [0, k * H], [B * T, H]);
  const context = causalAttention(part(0), part(1), part(2), // bidirectional: the bias, not the function, decides what is read
    { B, T, numHeads: config.numHeads, numKeyValueHeads: config.numHeads, headDim: config.headDim }, kind.bias,
    { rotary: kind.rotary, dropout, dropoutRate: config.attentionDropout }); // [B·T, H]
  const attended = tf.add(x, dropout(linear(params, names.wo, context, rec), config.attentionDropout)) as tf.Tensor2D; // [B·T, H]
  const wi = linear(params, names.wi, layerNorm(params, names.mlpNorm, attended, config.normEps, rec), rec); // [B·T, 2I]
  const gated = tf.mul(causalActivation(config.hiddenAct, tf.slice(wi, [0, 0], [B * T, I])), tf.slice(wi, [0, I], [B * T, I])) as tf.Tensor2D; // [B·T, I]
  return tf.add(attended, linear(params, names.mlpWo, dropout(gated, config.mlpDropout), rec)) as tf.Tensor2D;
}

/** Last hidden states after final_norm [B, T, H]. */
export function modernBertHidden(params: Params, config: ModernBertConfig, batch: ModernBertBatch, options: ModernBertForwardOptions): tf.Tensor3D {
  const [B, T] = checkLmBatch(batch, config.maxPositions, 'max_position_embeddings', WHERE);
  const ids = batch.inputIds;
  const m = batch.attentionMask;
  const H = config.hiddenSize;
  const outer = modernBertOuterNames(config);
  return tf.tidy(() => {
    const dropout = makeDropout(options.training, options.seed);
    const rotaryDim = config.headDim;
    const kinds: AttentionKinds = {
      global: { bias: bidirectionalAttentionBias(m), rotary: rotaryTables({ theta: config.globalRopeTheta, rotaryDim }, T) },
      local: { bias: bidirectionalAttentionBias(m, Math.floor(config.localAttention / 2)), rotary: rotaryTables({ theta: config.localRopeTheta, rotaryDim }, T) },
    };
    const rec = options.recorder;
    const table = param(params, MODERNBERT_NAMES.tokEmbeddings);
    let x = tf.gather(table, tf.cast(tf.reshape(ids, [B * T]), 'int32')) as tf.Tensor2D; // [B·T, H]
    if (rec) x = rec.embeddings(x, [{ table, rows: 'tokens' }]);
    x = dropout(layerNorm(params, outer.embNorm, x, config.normEps, rec), config.embeddingDropout);
    for (let i = 0; i < config.numLayers; i++) x = modernBertLayer(params, config, i, x, kinds, B, T, dropout, rec);
    return tf.reshape(layerNorm(params, outer.finalNorm, x, config.normEps, rec), [B, T, H]) as tf.Tensor3D;
  });
}

/** The MLM head on hidden states h [B, H]: [B, V], or [B, C] for vocabIds (only those decoder rows and biases are read). */
export function modernBertMlmLogits(params: Params, config: ModernBertConfig, h: tf.Tensor2D, vocabIds?: number[], rec?: LayerRecorder): tf.Tensor2D {
  const outer = modernBertOuterNames(config);
  return tf.tidy(() => {
    const z = layerNorm(params, outer.headNorm, causalActivation(config.headAct, linear(params, outer.headDense, h, rec)), config.normEps, rec); // [B, H]
    const weight = param(params, config.tieWordEmbeddings ? MODERNBERT_NAMES.tokEmbeddings : MODERNBERT_NAMES.decoderWeight); // [V, H]
    const bias = config.decoderBias ? param(params, MODERNBERT_NAMES.decoderBias) : undefined; // [V]
    return lmHeadLogits(weight, z, vocabIds, `${WHERE} mlmLogits`, rec, bias);
  });
}
