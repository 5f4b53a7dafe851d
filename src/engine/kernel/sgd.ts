import * as tf from '@tensorflow/tfjs';
import type { KernelContraction } from './contraction';

/**
 * The SGD kernel: the empirical neural tangent kernel (eNTK) of the model outputs,
 *
 *   K[n, c, m, c'] = ⟨∇_θ f_c(x_n), ∇_θ f_c'(x_m)⟩  at the pre-trained θ0.
 *
 * Paper meaning (Malladi et al. 2023, §3): if prompt-based fine-tuning with SGD is in the kernel regime, the
 * fine-tuned model is the first-order Taylor expansion f0 + J(θ − θ0), and its function-space dynamics under SGD on
 * a loss L are f_{t+1} = f_t − η K(·, batch) ∇_f L; training to convergence on MSE gives kernel regression with K.
 *
 * Cost: per parameter piece one [k·C, P_i]×[P_i, C] product per (train chunk, evaluated example), i.e.
 * 2·P·(N·C)·(M·C) flops over the whole block; products are summed in float32 per piece (like the reference code's
 * fp32 JVPs) and across pieces in float64.
 */
export const sgdKernel: KernelContraction = {
  kind: 'sgd',
  needsSign: false,
  hasFlipped: false,
  contract: (chunk, evaluated) => ({ main: tf.matMul(chunk.raw, evaluated.rawT) }),
};
