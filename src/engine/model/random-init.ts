/**
 * A seeded random masked LM (BERT, RoBERTa, XLM-RoBERTa, DistilBERT, ELECTRA generator, ALBERT) in the Hugging Face naming,
 * initialised as transformers' `_init_weights`: weights (dense and embeddings) ~ normal(0, 0.02), biases 0, LayerNorm γ = 1 and β = 0, and the padding row of
 * the word embeddings (and of (XLM-)RoBERTa's position embeddings, whose padding_idx is padTokenId) set to 0.
 * Used by tests and by pre-training from scratch. The values depend only on (config, seed), not on the backend:
 * tfjs draws seeded normals in JS.
 */
import * as tf from '@tensorflow/tfjs';
import { robertaPositions, type EncoderConfig } from './config';
import { embeddingNames, expectedShapes } from './param-names';
import { toVariable, type Params } from './weights';

export const INIT_STD = 0.02;

/** Kind of initialisation a tensor gets, from its name. */
function initKind(name: string): 'ones' | 'zeros' | 'normal' {
  if (/(LayerNorm|layer_norm)\.weight$/.test(name)) return 'ones';
  if (/(LayerNorm|layer_norm)\.bias$/.test(name) || name.endsWith('bias')) return 'zeros';
  return 'normal';
}

/** Fresh trainable Params for `config`; the same seed gives the same values. */
export function randomParams(config: EncoderConfig, seed: number): Params {
  const emb = embeddingNames(config);
  const params: Params = new Map();
  let k = 0;
  for (const [name, shape] of expectedShapes(config)) {
    const tensorSeed = seed * 7919 + k++; // one reproducible stream per tensor
    const kind = initKind(name);
    let t: tf.Tensor = kind === 'ones' ? tf.ones(shape) : kind === 'zeros' ? tf.zeros(shape)
      : tf.randomNormal(shape, 0, INIT_STD, 'float32', tensorSeed);
    const padRow = name === emb.word || (robertaPositions(config) && name === emb.position)
      ? config.padTokenId : -1;
    if (padRow >= 0 && padRow < shape[0]) {
      // zero one row with tensor ops (no dataSync: the webgpu backend cannot read synchronously)
      const keep = tf.tidy(() => tf.sub(1, tf.oneHot(padRow, shape[0])).reshape([shape[0], 1])); // [rows, 1]
      const zeroed = tf.mul(t, keep);
      tf.dispose([t, keep]);
      t = zeroed;
    }
    params.set(name, toVariable(t));
  }
  return params;
}
