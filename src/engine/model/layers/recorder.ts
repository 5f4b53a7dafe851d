/**
 * The optional recorder the causal layer pieces report to (causal/recording.ts implements it): the hook that gives
 * every causal family a recording for the structured eNTK (kernel/structured-types.ts) from its own forward pass.
 *
 * Each parameterised piece calls its hook with the output it computed and returns what the hook returns (the same
 * values, "tapped": an identity whose gradient function keeps the output cotangent δ, the site's cotangent); the hook
 * also keeps what the site needs from the forward (a dense layer's input, a norm's x̂). Pieces without parameters
 * (attention, rotary, softmax, activations) have no hook: autodiff carries the cotangents through them.
 * Without a recorder every piece computes exactly what it computed before. N rows, H hidden, C selected vocabulary ids.
 */
import type * as tf from '@tensorflow/tfjs';

/**
 * A dense map y = x·W (+ b) as the recorder needs it: nn.Linear (W [out, in]) or GPT-2's Conv1D (W [in, out]).
 * `apply` computes y [n, out] from any rows x [n, in]; `inputGrad` is its input cotangent dx = dy·∂y/∂x [n, in]
 * (linear in dy, independent of x: dy·W for nn.Linear, dy·Wᵀ for Conv1D).
 */
export interface DenseMap {
  weight: tf.Variable;
  bias?: tf.Variable;
  apply(x: tf.Tensor2D): tf.Tensor2D;
  inputGrad(dy: tf.Tensor2D): tf.Tensor2D;
}

export interface LayerRecorder {
  /**
   * A dense application y = map(x), x [N, in] → y [N, out]: the recorder evaluates it (it may compute fewer rows
   * than N when rows are known to repeat, causal/recording.ts) and returns y.
   * The site's gradient δᵀx is [out, in], the Conv1D weight's transpose: the kernel only takes inner products and
   * signs of the coordinates, which a transpose leaves unchanged, so both layouts are the same kind of site.
   */
  dense(x: tf.Tensor2D, map: DenseMap): tf.Tensor2D;
  /** A norm y = x̂ ⊙ γ (+ β): LayerNorm (x̂ = (x − μ)/σ) or RMSNorm (x̂ = x / rms(x), no β). y, x̂ [N, H]. */
  norm(y: tf.Tensor2D, normed: tf.Tensor2D, weight: tf.Variable, bias?: tf.Variable): tf.Tensor2D;
  /**
   * The summed embedding rows of every token, x [N, H]: each table's row of the token ('tokens': its id) or of its
   * position ('positions': 0..T−1 in every row, right padding) was added into x.
   */
  embeddings(x: tf.Tensor2D, tables: { table: tf.Variable; rows: 'tokens' | 'positions' }[]): tf.Tensor2D;
  /** The LM head on the selected vocabulary rows: logits [N, C] = h [N, H] · weight[vocabIds]ᵀ (+ bias[vocabIds]). */
  lmHead(logits: tf.Tensor2D, h: tf.Tensor2D, weight: tf.Variable, vocabIds: number[], bias?: tf.Variable): tf.Tensor2D;
}
