/**
 * The masked-LM head (BertLMPredictionHead / RobertaLMHead / DistilBERT's vocab_* / ElectraGeneratorPredictions +
 * generator_lm_head / AlbertMLMHead): dense (H → E), activation, LayerNorm, then the decoder (weight [V, E], the word embeddings when
 * tied) plus a vocabulary bias [V]. B rows, H hidden, E embedding width (= H but for ELECTRA and ALBERT), V vocabulary,
 * C selected vocabulary ids (label words).
 */
import * as tf from '@tensorflow/tfjs';
import { mmBT } from '../backend/matmul';
import { headActivation, type EncoderConfig } from './config';
import { activation, dense, layerNorm, param } from './layer-ops';
import { embeddingNames, headNames } from './param-names';
import type { Params } from './weights';

/** The decoder weight [V, E]: the word embeddings when tied, else the separate decoder tensor. */
export function decoderWeight(params: Params, config: EncoderConfig): tf.Variable {
  return param(params, config.tieWordEmbeddings ? embeddingNames(config).word : headNames(config).decoder);
}

/**
 * h [B, H] → logits [B, V], or [B, C] for `vocabIds` (C ids). With ids, only those rows of the decoder weight and
 * bias are gathered ([B, H]·[C, H]ᵀ + b[C]), so the forward pass costs O(B·C·H) instead of O(B·V·H) and the
 * decoder's gradient is non-zero only in those C rows.
 */
export function mlmHead(params: Params, config: EncoderConfig, h: tf.Tensor2D, vocabIds?: number[]): tf.Tensor2D {
  const names = headNames(config);
  const t = layerNorm(params, names.norm,
    activation(headActivation(config), dense(params, names.transform, h)), config.layerNormEps); // [B, E]
  const weight = decoderWeight(params, config); // [V, E]
  const bias = param(params, names.bias); // [V]
  if (vocabIds === undefined) return tf.add(mmBT(t, weight), bias); // [B, V]
  const bad = vocabIds.find((id) => !Number.isInteger(id) || id < 0 || id >= config.vocabSize);
  if (bad !== undefined) {
    throw new Error(`model/mlm-head.ts: vocabulary id ${bad} is outside [0, ${config.vocabSize}); check the label words.`);
  }
  const ids = tf.tensor1d(vocabIds, 'int32'); // [C]
  return tf.add(mmBT(t, tf.gather(weight, ids)), tf.gather(bias, ids)); // [B, E]·[C, E]ᵀ + [C] → [B, C]
}
