/** The engine's masked-LM logits of a batch given as arrays, and their comparison with the float64 reference's. */
import * as tf from '@tensorflow/tfjs';
import { encode, mlmLogits, type EncoderConfig, type Params } from '../../src/engine/model';

export interface Batch { ids: number[][]; mask: number[][]; types?: number[][] }

/** Logits [B][T][V] of the engine's model for a batch given as arrays. */
export function engineLogits(config: EncoderConfig, params: Params, batch: Batch): number[][][] {
  return tf.tidy(() => {
    const h = encode(params, config, {
      inputIds: tf.tensor2d(batch.ids, undefined, 'int32'),
      attentionMask: tf.tensor2d(batch.mask, undefined, 'int32'),
      tokenTypeIds: batch.types ? tf.tensor2d(batch.types, undefined, 'int32') : undefined,
    }, { training: false }); // [B, T, H]
    const [B, T, H] = h.shape;
    const logits = mlmLogits(params, config, h.reshape([B * T, H]) as tf.Tensor2D); // [B·T, V]
    return logits.reshape([B, T, config.vocabSize]).arraySync() as number[][][];
  });
}

/** max |a − b| over every position, or only where `only` (the attention mask) is 1. */
export function maxAbsDiff(a: number[][][], b: number[][][], only?: number[][]): number {
  let m = 0;
  a.forEach((seq, i) => seq.forEach((row, t) => {
    if (only && only[i][t] !== 1) return;
    row.forEach((v, k) => { m = Math.max(m, Math.abs(v - b[i][t][k])); });
  }));
  return m;
}
