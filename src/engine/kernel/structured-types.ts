/**
 * What a model must record for the structured empirical NTK (structured-ntk.ts): for one batch of B examples, one
 * forward pass and the backward passes of Σ_b f_c(x_b) for every class c, kept per parameter "site".
 *
 * Examples do not interact inside the model, so the cotangent that reaches a layer from Σ_b f_c(x_b), restricted to
 * the rows of example b, is exactly the cotangent of f_c(x_b) alone. Each site therefore yields the per-example,
 * per-class gradient of its parameter without a per-example backward pass:
 *   - dense  y_t = W a_t (+ …):      ∂f_c(x_b)/∂W = Σ_{t ∈ b} δ_{c,t} a_tᵀ          (W stored [out, in]);
 *   - vector y_t = u_t ⊙ v (+ …):   ∂f_c(x_b)/∂v = Σ_{t ∈ b} δ_{c,t} ⊙ u_t          (bias: u = 1; LayerNorm γ: u = x̂);
 *   - rows   y_t = E[id_t] (+ …):   ∂f_c(x_b)/∂E = Σ_{t ∈ b} e_{id_t} ⊗ δ_{c,t}     (vocabulary-sparse: only the rows used).
 * Rows of a site: R = B·rowsPerExample, example b owning rows [b·rowsPerExample, (b+1)·rowsPerExample). Token-level
 * sites have rowsPerExample = T (the batch's padded length), of which the first `length(x_b)` rows are real; padded
 * rows carry zero cotangents and are skipped. A site may instead lay an example's rows out as consecutive `blocks`,
 * each padded after the example's length (the merged site of a weight read at several depths, shared-sites.ts: L
 * blocks of T rows). C classes.
 */
import type * as tf from '@tensorflow/tfjs';

export interface DenseSite {
  kind: 'dense';
  /** W [out, in]. */
  variable: tf.Variable;
  rowsPerExample: number;
  /**
   * The example's rows as consecutive blocks of these sizes (Σ = rowsPerExample), each with its first
   * min(size, length) rows real and the rest padding; absent: one block. Set by mergeSharedSites (shared-sites.ts).
   */
  blocks?: readonly number[];
  /** Input activations a [R, in]. */
  a: tf.Tensor2D;
  /** Output cotangents δ [C, R, out]. */
  delta: tf.Tensor3D;
}

export interface VectorSite {
  kind: 'vector';
  /** v [size]. */
  variable: tf.Variable;
  rowsPerExample: number;
  /**
   * The example's rows as consecutive blocks of these sizes (Σ = rowsPerExample), each with its first
   * min(size, length) rows real and the rest padding; absent: one block. Set by mergeSharedSites (shared-sites.ts).
   */
  blocks?: readonly number[];
  /** Output cotangents δ [C, R, size]. */
  delta: tf.Tensor3D;
  /** u [R, size] (LayerNorm: x̂); absent for a bias (u = 1). */
  scale?: tf.Tensor2D;
}

export interface RowsSite {
  kind: 'rows';
  /** A table E [V, W] (or a vector [V], width 1) of which each recorded row adds to one row. */
  variable: tf.Variable;
  rowsPerExample: number;
  /** The table row of each recorded row: [R] (the same for every class) or [C·R] (class-major, e.g. label-word rows). */
  ids: Int32Array;
  /** The values added to those rows, per class: [C, R, W]. */
  values: tf.Tensor3D;
}

export type Site = DenseSite | VectorSite | RowsSite;

export interface Recording {
  sites: Site[];
  /** The outputs f_c(x_b) of the recorded forward pass, [B·C] row-major, when the model reports them. */
  outputs?: Float32Array;
  /** Releases every tensor of the recording. */
  dispose(): void;
}

/** A model that can record its per-site activations and cotangents for a batch (see model/recording.ts). */
export interface StructuredModel<I> {
  /** C: the number of outputs f_c. */
  numClasses: number;
  /** Number of real tokens of an input: batches are formed from inputs of similar length, padded to the longest. */
  length(input: I): number;
  /**
   * One batched forward pass over `inputs` and the backward passes of Σ_b f_c(x_b), c = 1..C. The sites must cover
   * every parameter f depends on (parameters without a site count as having a zero gradient). Caller disposes.
   */
  record(inputs: I[]): Promise<Recording>;
}
