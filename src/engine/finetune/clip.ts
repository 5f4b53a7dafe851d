import * as tf from '@tensorflow/tfjs';

/**
 * Global-norm gradient clipping (PyTorch `clip_grad_norm_`, on by default in the reference at 1.0, for SGD too):
 *   ‖g‖ = sqrt(Σ_tensors Σ g²);  if ‖g‖ > maxNorm, every gradient is scaled by maxNorm / (‖g‖ + 1e-6).
 * Null entries (parameters the loss does not reach) stay null. The norm is summed in float64 across tensors.
 * Returns new tensors (the caller disposes both lists) and the norm before clipping.
 */
export function clipByGlobalNorm(grads: (tf.Tensor | null)[], maxNorm = 1.0): { grads: (tf.Tensor | null)[]; norm: number } {
  const norm = globalNorm(grads);
  const coef = clipCoefficient(norm, maxNorm);
  return { grads: grads.map((g) => (g == null ? null : coef < 1 ? tf.mul(g, coef) : tf.clone(g))), norm };
}

/** The factor clipping applies for a gradient of norm `norm`: min(1, maxNorm / (norm + 1e-6)). */
export function clipCoefficient(norm: number, maxNorm: number): number {
  if (!(maxNorm > 0)) throw new Error(`finetune/clip.ts: maxGradNorm = ${maxNorm} must be positive (use Infinity to disable clipping)`);
  return Math.min(1, maxNorm / (norm + 1e-6));
}

export function globalNorm(grads: (tf.Tensor | null)[]): number {
  const present = grads.filter((g): g is tf.Tensor => g != null);
  if (present.length === 0) return 0;
  const squares = tf.tidy(() => tf.stack(present.map((g) => tf.sum(tf.square(g)))).dataSync());
  let s = 0;
  for (const v of squares) s += v;
  return Math.sqrt(s);
}
