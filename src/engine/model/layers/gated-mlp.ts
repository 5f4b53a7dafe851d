/**
 * The gated MLP of the Llama layout (SwiGLU with SiLU): down(act(gate x) ⊙ up x). N rows, H hidden, I intermediate.
 */
import * as tf from '@tensorflow/tfjs';
import type { Params } from '../weights';
import { causalActivation } from './activation';
import { linear, type LinearNames } from './linear';
import type { LayerRecorder } from './recorder';

export interface GatedMlpNames { gate: LinearNames; up: LinearNames; down: LinearNames } // [I, H], [I, H], [H, I]

/** x [N, H] → [N, H] */
export function gatedMlp(params: Params, names: GatedMlpNames, x: tf.Tensor2D, act: string, rec?: LayerRecorder): tf.Tensor2D {
  const gated = tf.mul(causalActivation(act, linear(params, names.gate, x, rec)), linear(params, names.up, x, rec)) as tf.Tensor2D; // [N, I]
  return linear(params, names.down, gated, rec); // [N, H]
}
