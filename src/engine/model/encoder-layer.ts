/** One transformer encoder layer (BertLayer): attention block, then feed-forward block. B batch, T tokens, H hidden. */
import type * as tf from '@tensorflow/tfjs';
import { attentionBlock } from './attention';
import type { EncoderConfig } from './config';
import { feedForwardBlock } from './feed-forward';
import type { Dropout } from './layer-ops';
import { layerNames } from './param-names';
import type { Params } from './weights';

/** x [B·T, H], bias [B, 1, 1, T] → [B·T, H] */
export function encoderLayer(
  params: Params, config: EncoderConfig, index: number, x: tf.Tensor2D, bias: tf.Tensor4D,
  B: number, T: number, dropout: Dropout,
): tf.Tensor2D {
  const names = layerNames(config, index);
  const attended = attentionBlock(params, config, names, x, bias, B, T, dropout); // [B·T, H]
  return feedForwardBlock(params, config, names, attended, dropout); // [B·T, H]
}
