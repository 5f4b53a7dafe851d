/**
 * GPT2LMHeadModel's forward pass: token + learned position embeddings, pre-LayerNorm blocks (x + attn(ln_1 x), then
 * x + mlp(ln_2 x)), ln_f; the LM head is the token embedding matrix (or lm_head when untied).
 * B batch, T tokens, H hidden, nh heads, hs head size, I inner, V vocabulary, C label ids.
 */
import * as tf from '@tensorflow/tfjs';
import { makeDropout, param, type Dropout } from '../layer-ops';
import { causalActivation } from '../layers/activation';
import { causalAttention, causalAttentionBias } from '../layers/causal-attention';
import { layerNorm } from '../layers/layer-norm';
import { conv1d } from '../layers/linear';
import { lmHeadLogits } from '../layers/lm-head';
import type { LayerRecorder } from '../layers/recorder';
import { checkCausalBatch } from '../causal/batch-check';
import type { CausalBatch, CausalConfig, CausalForwardOptions } from '../causal/types';
import type { Params } from '../weights';
import { GPT2_NAMES, gpt2LayerNames } from './names';

/** One block: x [B·T, H], bias [B, 1, T, T] → [B·T, H]. */
function gpt2Block(
  params: Params, config: CausalConfig, i: number, x: tf.Tensor2D, bias: tf.Tensor4D, B: number, T: number, dropout: Dropout,
  rec?: LayerRecorder,
): tf.Tensor2D {
  const names = gpt2LayerNames(i);
  const H = config.hiddenSize;
  const qkv = conv1d(params, names.attn, layerNorm(params, names.ln1, x, config.normEps, rec), rec); // [B·T, 3H]
  const [q, k, v] = tf.split(qkv, 3, 1) as tf.Tensor2D[]; // [B·T, H] each
  const context = causalAttention(q, k, v, { B, T, numHeads: config.numHeads, numKeyValueHeads: config.numHeads, headDim: H / config.numHeads },
    bias, { dropout, dropoutRate: config.attentionDropout ?? 0 }); // [B·T, H]
  const attended = tf.add(x, dropout(conv1d(params, names.attnProj, context, rec), config.hiddenDropout ?? 0)) as tf.Tensor2D; // [B·T, H]
  const inner = causalActivation(config.hiddenAct, conv1d(params, names.fc, layerNorm(params, names.ln2, attended, config.normEps, rec), rec)); // [B·T, I]
  return tf.add(attended, dropout(conv1d(params, names.proj, inner, rec), config.hiddenDropout ?? 0)); // [B·T, H]
}

/** Last hidden states after ln_f [B, T, H]; positions 0..T−1 in every row (right padding). */
export function gpt2Hidden(params: Params, config: CausalConfig, batch: CausalBatch, options: CausalForwardOptions): tf.Tensor3D {
  const [B, T] = checkCausalBatch(config, batch, 'model/gpt2/forward.ts');
  const H = config.hiddenSize;
  return tf.tidy(() => {
    const dropout = makeDropout(options.training, options.seed);
    const bias = causalAttentionBias(batch.attentionMask); // [B, 1, T, T]
    const ids = tf.cast(tf.reshape(batch.inputIds, [B * T]), 'int32'); // [B·T]
    const words = tf.reshape(tf.gather(param(params, GPT2_NAMES.wte), ids), [B, T, H]); // [B, T, H]
    const positions = tf.slice(param(params, GPT2_NAMES.wpe), [0, 0], [T, H]); // [T, H]
    let x = tf.reshape(tf.add(words, positions), [B * T, H]) as tf.Tensor2D; // [B·T, H]
    const rec = options.recorder;
    if (rec) x = rec.embeddings(x, [{ table: param(params, GPT2_NAMES.wte), rows: 'tokens' }, { table: param(params, GPT2_NAMES.wpe), rows: 'positions' }]);
    x = dropout(x, config.embeddingDropout ?? 0);
    for (let i = 0; i < config.numLayers; i++) x = gpt2Block(params, config, i, x, bias, B, T, dropout, rec);
    return tf.reshape(layerNorm(params, GPT2_NAMES.lnF, x, config.normEps, rec), [B, T, H]) as tf.Tensor3D;
  });
}

/** h [B, H] → [B, V], or [B, C] for vocabIds. */
export function gpt2LmLogits(params: Params, config: CausalConfig, h: tf.Tensor2D, vocabIds?: number[], rec?: LayerRecorder): tf.Tensor2D {
  return tf.tidy(() => lmHeadLogits(param(params, config.tieWordEmbeddings ? GPT2_NAMES.wte : GPT2_NAMES.lmHead), h, vocabIds,
    'model/gpt2/forward.ts lmLogits', rec));
}
