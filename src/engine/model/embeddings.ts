/**
 * Embeddings: word + position + token type, then LayerNorm and dropout (BertEmbeddings / RobertaEmbeddings; DistilBERT
 * has no token types; ELECTRA's tables are E wide and `embeddings_project` maps them to H when E ≠ H; ALBERT's too, with
 * `encoder.embedding_hidden_mapping_in` as the map, applied before its shared layer).
 * B batch, T tokens, H hidden, E embedding width.
 */
import * as tf from '@tensorflow/tfjs';
import { robertaPositions, type EncoderConfig } from './config';
import { dense, layerNorm, param, type Dropout } from './layer-ops';
import { embeddingNames } from './param-names';
import type { Params } from './weights';

/**
 * Position ids [B, T] int32.
 * BERT, DistilBERT, ELECTRA, ALBERT: 0..T−1 for every row.
 * RoBERTa, XLM-RoBERTa (as HF's create_position_ids_from_input_ids): a non-pad token gets padTokenId + (number of non-pad tokens
 * up to and including it), a pad token gets padTokenId. So real tokens count from padTokenId + 1 whatever the padding.
 */
export function positionIds(config: EncoderConfig, inputIds: tf.Tensor2D): tf.Tensor2D {
  const [B, T] = inputIds.shape;
  return tf.tidy(() => {
    if (!robertaPositions(config)) {
      return tf.tile(tf.range(0, T, 1, 'int32').reshape([1, T]), [B, 1]) as tf.Tensor2D; // [B, T]
    }
    const real = tf.cast(tf.notEqual(inputIds, config.padTokenId), 'int32'); // [B, T] 1 for non-pad
    const counts = tf.cast(tf.cumsum(real, 1), 'int32'); // [B, T]
    return tf.add(tf.mul(counts, real), config.padTokenId) as tf.Tensor2D; // [B, T]
  });
}

/** `positionIds` on host ids [B·T] (for code that must not read the device, like the kernel's recording). */
export function positionIdsOnHost(config: EncoderConfig, ids: Int32Array, B: number, T: number): Int32Array {
  const pos = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let count = 0;
    for (let t = 0; t < T; t++) {
      const i = b * T + t;
      if (!robertaPositions(config)) pos[i] = t;
      else {
        const real = ids[i] !== config.padTokenId ? 1 : 0;
        count += real;
        pos[i] = count * real + config.padTokenId;
      }
    }
  }
  return pos;
}

/** inputIds, tokenTypeIds [B, T] int32 → embeddings [B·T, H]. tokenTypeIds are ignored by a model without token types. */
export function embed(
  params: Params, config: EncoderConfig, inputIds: tf.Tensor2D, tokenTypeIds: tf.Tensor2D | undefined, dropout: Dropout,
): tf.Tensor2D {
  const [B, T] = inputIds.shape;
  const lastPosition = T - 1 + config.positionOffset;
  if (lastPosition >= config.maxPositions) {
    throw new Error(`model/embeddings.ts: ${T} tokens need position id ${lastPosition}, but max_position_embeddings is `
      + `${config.maxPositions}; truncate inputs to ${config.maxPositions - config.positionOffset} tokens.`);
  }
  const names = embeddingNames(config);
  const flat = (ids: tf.Tensor2D): tf.Tensor1D => tf.cast(tf.reshape(ids, [B * T]), 'int32'); // [B·T]
  const words = tf.gather(param(params, names.word), flat(inputIds)); // [B·T, E]
  const positions = tf.gather(param(params, names.position), flat(positionIds(config, inputIds))); // [B·T, E]
  let sum = tf.add(words, positions) as tf.Tensor2D; // [B·T, E]
  if (names.tokenType) {
    const typeIds = tokenTypeIds ?? tf.zeros([B, T], 'int32');
    sum = tf.add(sum, tf.gather(param(params, names.tokenType), flat(typeIds as tf.Tensor2D))); // [B·T, E]
  }
  const x = dropout(layerNorm(params, names.norm, sum, config.layerNormEps), config.hiddenDropout); // [B·T, E]
  return names.project ? dense(params, names.project, x) : x; // [B·T, H]
}
