/**
 * GPTNeoXForCausalLM's forward pass: token embeddings, pre-LayerNorm blocks with rotary attention on the fused
 * query_key_value projection, parallel (x + attn(ln1 x) + mlp(ln2 x)) or sequential residual, final_layer_norm;
 * the LM head is embed_out (or embed_in when tied).
 * B batch, T tokens, H hidden, nh heads, hs head size, I intermediate, V vocabulary, C label ids.
 */
import * as tf from '@tensorflow/tfjs';
import { makeDropout, param, type Dropout } from '../layer-ops';
import { causalActivation } from '../layers/activation';
import { causalAttention, causalAttentionBias } from '../layers/causal-attention';
import { layerNorm } from '../layers/layer-norm';
import { linear } from '../layers/linear';
import { lmHeadLogits } from '../layers/lm-head';
import type { LayerRecorder } from '../layers/recorder';
import { rotaryTables, type RotaryTables } from '../layers/rotary';
import { checkCausalBatch } from '../causal/batch-check';
import type { CausalBatch, CausalConfig, CausalForwardOptions } from '../causal/types';
import type { Params } from '../weights';
import { GPT_NEOX_NAMES, gptNeoxLayerNames, type GptNeoxLayerNames } from './names';

/** dense_4h_to_h(act(dense_h_to_4h x)): x [B·T, H] → [B·T, H] */
function mlp(params: Params, config: CausalConfig, names: GptNeoxLayerNames, x: tf.Tensor2D, rec?: LayerRecorder): tf.Tensor2D {
  return linear(params, names.down, causalActivation(config.hiddenAct, linear(params, names.up, x, rec)), rec); // [B·T, I] → [B·T, H]
}

/** One layer: x [B·T, H], bias [B, 1, T, T] → [B·T, H]. */
function gptNeoxLayer(
  params: Params, config: CausalConfig, i: number, x: tf.Tensor2D, bias: tf.Tensor4D, rotary: RotaryTables | undefined,
  B: number, T: number, dropout: Dropout, rec?: LayerRecorder,
): tf.Tensor2D {
  const names = gptNeoxLayerNames(config, i);
  const { numHeads: nh, headDim: hs, hiddenSize: H } = config;
  const qkv = tf.reshape(linear(params, names.qkv, layerNorm(params, names.inputNorm, x, config.normEps, rec), rec), [B * T, nh, 3, hs]); // [B·T, nh, 3, hs]
  const [q, k, v] = tf.split(qkv, 3, 2).map((t) => tf.reshape(t, [B * T, H]) as tf.Tensor2D); // [B·T, H] each
  const context = causalAttention(q, k, v, { B, T, numHeads: nh, numKeyValueHeads: nh, headDim: hs }, bias,
    { rotary, dropout, dropoutRate: config.attentionDropout ?? 0 }); // [B·T, H]
  const rate = config.hiddenDropout ?? 0;
  const attnOut = dropout(linear(params, names.dense, context, rec), rate); // [B·T, H]
  if (config.parallelResidual) {
    const mlpOut = dropout(mlp(params, config, names, layerNorm(params, names.postAttentionNorm, x, config.normEps, rec), rec), rate);
    return tf.add(tf.add(mlpOut, attnOut), x); // [B·T, H]
  }
  const attended = tf.add(attnOut, x) as tf.Tensor2D; // [B·T, H]
  return tf.add(dropout(mlp(params, config, names, layerNorm(params, names.postAttentionNorm, attended, config.normEps, rec), rec), rate), attended);
}

/** Last hidden states after final_layer_norm [B, T, H]; positions 0..T−1 in every row (right padding). */
export function gptNeoxHidden(params: Params, config: CausalConfig, batch: CausalBatch, options: CausalForwardOptions): tf.Tensor3D {
  const [B, T] = checkCausalBatch(config, batch, 'model/gpt-neox/forward.ts');
  const H = config.hiddenSize;
  return tf.tidy(() => {
    const dropout = makeDropout(options.training, options.seed);
    const bias = causalAttentionBias(batch.attentionMask); // [B, 1, T, T]
    const rotary = config.rotary && config.rotary.rotaryDim > 0 ? rotaryTables(config.rotary, T) : undefined; // [T, rd]
    const ids = tf.cast(tf.reshape(batch.inputIds, [B * T]), 'int32'); // [B·T]
    let x = tf.gather(param(params, GPT_NEOX_NAMES.embedIn), ids) as tf.Tensor2D; // [B·T, H]
    const rec = options.recorder;
    if (rec) x = rec.embeddings(x, [{ table: param(params, GPT_NEOX_NAMES.embedIn), rows: 'tokens' }]);
    x = dropout(x, config.embeddingDropout ?? 0);
    for (let i = 0; i < config.numLayers; i++) x = gptNeoxLayer(params, config, i, x, bias, rotary, B, T, dropout, rec);
    return tf.reshape(layerNorm(params, GPT_NEOX_NAMES.finalNorm, x, config.normEps, rec), [B, T, H]) as tf.Tensor3D;
  });
}

/** h [B, H] → [B, V], or [B, C] for vocabIds. */
export function gptNeoxLmLogits(params: Params, config: CausalConfig, h: tf.Tensor2D, vocabIds?: number[], rec?: LayerRecorder): tf.Tensor2D {
  return tf.tidy(() => lmHeadLogits(param(params, config.tieWordEmbeddings ? GPT_NEOX_NAMES.embedIn : GPT_NEOX_NAMES.embedOut),
    h, vocabIds, 'model/gpt-neox/forward.ts lmLogits', rec));
}
