import * as tf from '@tensorflow/tfjs';
import type { KernelContraction } from './contraction';
import { signOf } from './signgd';

/**
 * The asymmetric SignGD (A-SignGD) kernel, the paper's kernel for early-stage training with Adam:
 *
 *   K[n, c, m, c']  = ⟨sign ∇_θ f_c(x_n), ∇_θ f_c'(x_m)⟩     (the TRAIN side is signed), and
 *   K'[n, c, m, c'] = ⟨sign ∇_θ f_c'(x_m), ∇_θ f_c(x_n)⟩     (the flipped kernel: the evaluated side signed).
 *
 * Paper meaning (Malladi et al. 2023): in its first steps Adam moves each coordinate by about ±η (Adam's first
 * bias-corrected step is exactly η·sign(g) up to ε), so a step on training example x_n changes the output at x as
 * Δf(x) ≈ −η ⟨∇f(x), sign ∇_θ ℓ(x_n)⟩: the train side enters through its sign and the evaluated side linearly.
 * The reference code (src/kernel_trainer.py) signs the training side and also stores the flipped kernel; for
 * train×train the flipped kernel is the transpose of K.
 *
 * Cost: two products per piece (K and K'), plus sign copies of both sides (as SignGD). Entries are float32 sums
 * per piece, float64 across pieces.
 */
export const asymmetricSigngdKernel: KernelContraction = {
  kind: 'asymmetric-signgd',
  needsSign: true,
  hasFlipped: true,
  contract: (chunk, evaluated) => ({
    // ⟨sign g_n, g_m⟩: [kC, len] × [len, C]
    main: tf.matMul(signOf(chunk.sign, 'chunk'), evaluated.rawT) as tf.Tensor2D,
    // ⟨sign g_m, g_n⟩ = ⟨g_n, sign g_m⟩: [kC, len] × [len, C]
    flipped: tf.matMul(chunk.raw, signOf(evaluated.signT, 'evaluated')) as tf.Tensor2D,
  }),
};
