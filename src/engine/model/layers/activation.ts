/**
 * The activations of the causal LMs: layer-ops.ts `activation` (GELU forms, ReLU) plus SiLU, x·σ(x) (Llama's
 * SwiGLU gate). N rows, I intermediate.
 */
import * as tf from '@tensorflow/tfjs';
import type { HiddenAct } from '../config';
import { activation } from '../layer-ops';

/** Activations a causal config's hidden_act / activation_function may name. */
export const CAUSAL_ACTIVATIONS: readonly string[] = ['gelu', 'gelu_new', 'gelu_pytorch_tanh', 'relu', 'silu'];

/** x [N, I] → act(x) [N, I]; `kind` is one of CAUSAL_ACTIVATIONS (checked when the config was parsed). */
export function causalActivation(kind: string, x: tf.Tensor2D): tf.Tensor2D {
  if (kind === 'silu') return tf.mul(x, tf.sigmoid(x));
  if (!CAUSAL_ACTIVATIONS.includes(kind)) {
    throw new Error(`model/layers/activation.ts: activation "${kind}" is not one of ${CAUSAL_ACTIVATIONS.join(', ')}.`);
  }
  return activation(kind as HiddenAct, x);
}
