/**
 * The Llama layout's forward pass (Llama, Mistral, Qwen2): token embeddings, pre-RMSNorm blocks (x + o(attn(rms x))
 * with rotary grouped-query attention, then x + SwiGLU(rms x)), the final RMSNorm; the LM head is lm_head (or
 * embed_tokens when tied). B batch, T tokens, H hidden, nh/nkv heads, hs head size, V vocabulary, C label ids.
 */
import * as tf from '@tensorflow/tfjs';
import { makeDropout, param, type Dropout } from '../layer-ops';
import { causalAttention, causalAttentionBias } from '../layers/causal-attention';
import { gatedMlp } from '../layers/gated-mlp';
import { linear } from '../layers/linear';
import { lmHeadLogits } from '../layers/lm-head';
import type { LayerRecorder } from '../layers/recorder';
import { rmsNorm } from '../layers/rms-norm';
import { rotaryTables, type RotaryTables } from '../layers/rotary';
import { checkCausalBatch } from '../causal/batch-check';
import type { CausalBatch, CausalConfig, CausalForwardOptions } from '../causal/types';
import type { Params } from '../weights';
import { LLAMA_NAMES, llamaLayerNames } from './names';

/** One decoder layer: x [B·T, H], bias [B, 1, T, T] → [B·T, H]. */
function llamaLayer(
  params: Params, config: CausalConfig, i: number, x: tf.Tensor2D, bias: tf.Tensor4D, rotary: RotaryTables,
  B: number, T: number, dropout: Dropout, rec?: LayerRecorder,
): tf.Tensor2D {
  const names = llamaLayerNames(config, i);
  const h = rmsNorm(params, names.inputNorm, x, config.normEps, rec); // [B·T, H]
  const context = causalAttention(
    linear(params, names.q, h, rec), linear(params, names.k, h, rec), linear(params, names.v, h, rec), // [B·T, nh·hs], [B·T, nkv·hs] ×2
    { B, T, numHeads: config.numHeads, numKeyValueHeads: config.numKeyValueHeads, headDim: config.headDim }, bias,
    { rotary, dropout, dropoutRate: config.attentionDropout ?? 0 }); // [B·T, nh·hs]
  const attended = tf.add(x, linear(params, names.o, context, rec)) as tf.Tensor2D; // [B·T, H]
  return tf.add(attended, gatedMlp(params, names.mlp, rmsNorm(params, names.postAttentionNorm, attended, config.normEps, rec), config.hiddenAct, rec));
}

/** Last hidden states after the final RMSNorm [B, T, H]; positions 0..T−1 in every row (right padding). */
export function llamaHidden(params: Params, config: CausalConfig, batch: CausalBatch, options: CausalForwardOptions): tf.Tensor3D {
  const [B, T] = checkCausalBatch(config, batch, 'model/llama/forward.ts');
  const H = config.hiddenSize;
  if (!config.rotary) throw new Error(`model/llama/forward.ts: a ${config.modelType} config needs rotary settings; parse config.json with parseCausalConfig.`);
  const rotaryConfig = config.rotary;
  return tf.tidy(() => {
    const dropout = makeDropout(options.training, options.seed);
    const bias = causalAttentionBias(batch.attentionMask, config.slidingWindow); // [B, 1, T, T]
    const rotary = rotaryTables(rotaryConfig, T); // [T, hs]
    const ids = tf.cast(tf.reshape(batch.inputIds, [B * T]), 'int32'); // [B·T]
    let x = tf.gather(param(params, LLAMA_NAMES.embedTokens), ids) as tf.Tensor2D; // [B·T, H]
    const rec = options.recorder;
    if (rec) x = rec.embeddings(x, [{ table: param(params, LLAMA_NAMES.embedTokens), rows: 'tokens' }]);
    for (let i = 0; i < config.numLayers; i++) x = llamaLayer(params, config, i, x, bias, rotary, B, T, dropout, rec);
    return tf.reshape(rmsNorm(params, LLAMA_NAMES.norm, x, config.normEps, rec), [B, T, H]) as tf.Tensor3D;
  });
}

/** h [B, H] → [B, V], or [B, C] for vocabIds. */
export function llamaLmLogits(params: Params, config: CausalConfig, h: tf.Tensor2D, vocabIds?: number[], rec?: LayerRecorder): tf.Tensor2D {
  return tf.tidy(() => lmHeadLogits(param(params, config.tieWordEmbeddings ? LLAMA_NAMES.embedTokens : LLAMA_NAMES.lmHead),
    h, vocabIds, 'model/llama/forward.ts lmLogits', rec));
}
