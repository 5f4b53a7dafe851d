/**
 * The LM head's last product: logits = h Wᵀ (+ b) with W [V, H] (a separate lm_head/embed_out/decoder, or the token
 * embeddings when tied) and a vocabulary bias b [V] where the model has one (ModernBERT's decoder; none of the causal
 * families has one). B rows, H hidden, V vocabulary, C selected vocabulary ids.
 */
import * as tf from '@tensorflow/tfjs';
import { mmBT } from '../../backend/matmul';
import type { LayerRecorder } from './recorder';

/**
 * h [B, H], weight [V, H] → [B, V], or [B, C] for `vocabIds`: only those rows are gathered ([B, H]·[C, H]ᵀ), so the
 * cost is O(B·C·H) and the head's gradient is non-zero only in those rows. With a recorder (recorder.ts) the rows
 * are reported as a site, and the bias's C entries as another (the recording always selects vocabulary ids).
 */
export function lmHeadLogits(weight: tf.Tensor, h: tf.Tensor2D, vocabIds: number[] | undefined, where: string, rec?: LayerRecorder, bias?: tf.Tensor): tf.Tensor2D {
  const V = weight.shape[0];
  if (h.rank !== 2 || h.shape[1] !== weight.shape[1]) {
    throw new Error(`${where}: hidden states have shape [${h.shape}], expected [B, ${weight.shape[1]}].`);
  }
  if (vocabIds === undefined) {
    if (rec) throw new Error(`${where}: a recording reads the logits of selected vocabulary ids (the label words); none were given.`);
    return bias ? tf.add(mmBT(h, weight), bias) : mmBT(h, weight); // [B, V]
  }
  const bad = vocabIds.find((id) => !Number.isInteger(id) || id < 0 || id >= V);
  if (bad !== undefined) throw new Error(`${where}: vocabulary id ${bad} is outside [0, ${V}); check the label words.`);
  const ids = tf.tensor1d(vocabIds, 'int32'); // [C]
  const product = mmBT(h, tf.gather(weight, ids)); // [B, H]·[C, H]ᵀ → [B, C]
  const logits = bias ? tf.add(product, tf.gather(bias, ids)) as tf.Tensor2D : product; // [B, C]
  if (!rec) return logits;
  if (!(weight instanceof tf.Variable) || (bias && !(bias instanceof tf.Variable))) throw new Error(`${where}: the LM head weight and bias must be tf.Variables to be recorded.`);
  return rec.lmHead(logits, h, weight, vocabIds, bias as tf.Variable | undefined);
}
