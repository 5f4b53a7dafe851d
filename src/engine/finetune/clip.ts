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
  const squares = squaredNorms(grads);
  return squares ? sqrtSum(squares.dataSync(), squares) : 0;
}

/** clipByGlobalNorm with an asynchronous read of the norm: the form for backends that cannot read synchronously (webgpu). */
export async function clipByGlobalNormAsync(grads: (tf.Tensor | null)[], maxNorm = 1.0): Promise<{ grads: (tf.Tensor | null)[]; norm: number }> {
  const squares = squaredNorms(grads);
  const norm = squares ? sqrtSum(await squares.data(), squares) : 0;
  const coef = clipCoefficient(norm, maxNorm);
  return { grads: grads.map((g) => (g == null ? null : coef < 1 ? tf.mul(g, coef) : tf.clone(g))), norm };
}

/** Σ g² of each present gradient tensor, [count] (undefined when none is present). */
function squaredNorms(grads: (tf.Tensor | null)[]): tf.Tensor1D | undefined {
  const present = grads.filter((g): g is tf.Tensor => g != null);
  return present.length === 0 ? undefined : tf.tidy(() => tf.stack(present.map((g) => tf.sum(tf.square(g))))) as tf.Tensor1D;
}

/** sqrt of the float64 sum of the values; disposes their tensor. */
function sqrtSum(values: ArrayLike<number>, t: tf.Tensor): number {
  t.dispose();
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return Math.sqrt(s);
}
