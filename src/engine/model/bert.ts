/**
 * The masked LM assembled from its blocks: `encode` (embeddings → encoder layers → last hidden states) and
 * `mlmLogits` (the MLM head), for BERT, RoBERTa, XLM-RoBERTa, DistilBERT, the ELECTRA generator and ALBERT alike
 * (param-names.ts maps each family's tensor names onto the same roles; ALBERT's layer i names the same shared
 * variables for every i, so autodiff sums each shared weight's gradient over the depths by itself). B batch, T tokens, H hidden, V vocabulary, C label ids.
 */
import * as tf from '@tensorflow/tfjs';
import { attentionBias } from './attention';
import type { EncoderConfig } from './config';
import { embed } from './embeddings';
import { encoderLayer } from './encoder-layer';
import { makeDropout } from './layer-ops';
import { mlmHead } from './mlm-head';
import type { Params } from './weights';

export interface EncoderBatch {
  inputIds: tf.Tensor2D; // int32 [B, T]
  attentionMask: tf.Tensor2D; // [B, T], 1 for real tokens, 0 for padding
  tokenTypeIds?: tf.Tensor2D; // int32 [B, T]; zeros when absent (RoBERTa has a single type); DistilBERT ignores them
}

export interface EncodeOptions {
  /** Dropout on (hidden and attention dropout from the config) when true. */
  training: boolean;
  /** Seeds the dropout masks so a training forward pass is reproducible; ignored when not training. */
  seed?: number;
}

/** Last-layer hidden states [B, T, H]. Padded keys are masked out of attention; padded positions are still computed. */
export function encode(params: Params, config: EncoderConfig, batch: EncoderBatch, options: EncodeOptions): tf.Tensor3D {
  const [B, T] = batch.inputIds.shape;
  for (const [key, t] of [['attentionMask', batch.attentionMask], ['tokenTypeIds', batch.tokenTypeIds]] as const) {
    if (t && (t.shape[0] !== B || t.shape[1] !== T)) {
      throw new Error(`model/bert.ts encode: batch.${key} has shape [${t.shape}], inputIds [${B}, ${T}]; they must match.`);
    }
  }
  return tf.tidy(() => {
    const dropout = makeDropout(options.training, options.seed);
    const bias = attentionBias(batch.attentionMask); // [B, 1, 1, T]
    let x = embed(params, config, batch.inputIds, batch.tokenTypeIds, dropout); // [B·T, H]
    for (let i = 0; i < config.numLayers; i++) x = encoderLayer(params, config, i, x, bias, B, T, dropout); // ALBERT: one layer, L times
    return tf.reshape(x, [B, T, config.hiddenSize]) as tf.Tensor3D; // [B, T, H]
  });
}

/** MLM logits from hidden states h [B, H]: [B, V], or [B, C] for the given vocabulary ids only. */
export function mlmLogits(params: Params, config: EncoderConfig, h: tf.Tensor2D, vocabIds?: number[]): tf.Tensor2D {
  return tf.tidy(() => mlmHead(params, config, h, vocabIds));
}

/** The hidden state of each row at one position (e.g. the [MASK]): h [B, T, H], positions B ints → [B, H]. */
export function hiddenAt(h: tf.Tensor3D, positions: number[]): tf.Tensor2D {
  const [B, T, H] = h.shape;
  if (positions.length !== B || positions.some((p) => !Number.isInteger(p) || p < 0 || p >= T)) {
    throw new Error(`model/bert.ts hiddenAt: need ${B} positions in [0, ${T}), got [${positions.join(', ')}].`);
  }
  return tf.tidy(() => tf.gather(tf.reshape(h, [B * T, H]), tf.tensor1d(positions.map((p, b) => b * T + p), 'int32')));
}
