import type * as tf from '@tensorflow/tfjs';
import type { KernelKind } from './types';

/**
 * What the kernel kinds contract, for one piece of the parameter coordinates (see gradients.ts `Piece`):
 * the held chunk of train gradients (rows (n, c), n in the chunk) against one evaluated example (columns c').
 */
export interface ChunkPiece {
  /** [k·C, length]: row n·C + c holds ∇f_c(x_n) restricted to the piece. */
  raw: tf.Tensor2D;
  /** sign(raw), present when a sign-based kind is requested. */
  sign?: tf.Tensor2D;
}

export interface EvaluatedPiece {
  /** [length, C]: column c' holds ∇f_c'(x_m) restricted to the piece (transposed so matMuls stay untransposed). */
  rawT: tf.Tensor2D;
  signT?: tf.Tensor2D;
}

export interface KernelContraction {
  kind: KernelKind;
  /** Whether the chunk and evaluated sides need their signs. */
  needsSign: boolean;
  /** Whether this kind also produces the flipped kernel. */
  hasFlipped: boolean;
  /** Products for one piece, each [k·C, C] (float32 on the device; summed over pieces in float64). */
  contract(chunk: ChunkPiece, evaluated: EvaluatedPiece): { main: tf.Tensor2D; flipped?: tf.Tensor2D };
}
