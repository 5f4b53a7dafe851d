import * as tf from '@tensorflow/tfjs';
import type { KernelContraction } from './contraction';

/**
 * The SignGD kernel:
 *
 *   K[n, c, m, c'] = ⟨sign ∇_θ f_c(x_n), sign ∇_θ f_c'(x_m)⟩,  sign(0) = 0.
 *
 * Paper meaning (Malladi et al. 2023): the kernel of sign-based updates (SignGD, θ ← θ − η sign ∇L), a symmetric
 * analogue of the eNTK in which every coordinate counts ±1. Each entry is an integer: (#coordinates whose signs
 * agree) − (#that disagree); zero-gradient coordinates contribute nothing.
 *
 * Exactness: pieces hold at most 2^24 coordinates, so the float32 dot product of ±1/0 vectors only ever sums
 * integers of magnitude ≤ 2^24, which float32 represents exactly; pieces are summed in float64. The result is exact.
 *
 * Cost: as the SGD kernel, plus one sign copy of the held train chunk and of each evaluated gradient (twice the
 * memory of the held gradients).
 */
export const signgdKernel: KernelContraction = {
  kind: 'signgd',
  needsSign: true,
  hasFlipped: false,
  contract: (chunk, evaluated) => ({ main: tf.matMul(signOf(chunk.sign, 'chunk'), signOf(evaluated.signT, 'evaluated')) }),
};

export function signOf<T extends tf.Tensor>(t: T | undefined, side: string): T {
  if (!t) throw new Error(`kernel/signgd.ts: the ${side} side has no sign copy; the kernel driver must build it for sign kinds`);
  return t;
}
