/**
 * Position-wise feed-forward block with residual and LayerNorm (BertIntermediate + BertOutput).
 * N = B·T rows, H hidden, I intermediate.
 */
import * as tf from '@tensorflow/tfjs';
import type { EncoderConfig } from './config';
import { activation, dense, layerNorm, type Dropout } from './layer-ops';
import type { LayerNames } from './param-names';
import type { Params } from './weights';

/** x [N, H] → LayerNorm(x + W₂·act(W₁x + b₁) + b₂) [N, H] */
export function feedForwardBlock(
  params: Params, config: EncoderConfig, names: LayerNames, x: tf.Tensor2D, dropout: Dropout,
): tf.Tensor2D {
  const inner = activation(config.hiddenAct, dense(params, names.intermediate, x)); // [N, I]
  const out = dropout(dense(params, names.output, inner), config.hiddenDropout); // [N, H]
  return layerNorm(params, names.outputNorm, tf.add(out, x), config.layerNormEps);
}
