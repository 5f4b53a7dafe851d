import * as tf from '@tensorflow/tfjs';
import type { KernelParameter, OutputFn } from './types';

/**
 * Per-example gradients ∇_θ f_c(x) of the model outputs (not of a loss), the rows of the Jacobian J(x).
 *
 * For one example x: one forward pass records the tape, then the backward pass with the one-hot cotangent e_c
 * gives ∇_θ f_c(x). tfjs frees a tape after its backward pass (`engine.gradients`), and has no public vjp that keeps
 * it, so each class costs one forward plus one backward pass: C forwards + C backwards per example.
 */

/**
 * Largest number of coordinates in one contraction piece. Sums of ±1 in float32 are exact integers only up to 2^24,
 * so parameter tensors are cut into pieces of at most 2^24 coordinates; each piece's dot products are exact in
 * float32 for SignGD and are summed across pieces in float64.
 */
export const MAX_PIECE = 1 << 24;

/** Where one contraction piece lies: coordinates [start, start+length) of the (projected) gradient of `param`. */
export interface Piece {
  param: number;
  start: number;
  length: number;
}

/**
 * The gradient of output c of one example with respect to each kernel parameter, after its projection
 * (the variable's shape, or the projection's). Entries are null where f does not depend on the parameter.
 * Caller disposes the returned tensors.
 */
export function outputGradients<I>(
  outputFn: OutputFn<I>,
  params: KernelParameter[],
  input: I,
  numClasses: number,
  c: number,
): (tf.Tensor | null)[] {
  const vars = params.map((p) => p.variable);
  const cotangent = new Float32Array(numClasses);
  cotangent[c] = 1;
  const dy = tf.tensor2d(cotangent, [1, numClasses]); // e_c
  try {
    const { value, grads } = tf.engine().gradients(() => checkOutput(outputFn(input), numClasses), vars, dy, true);
    value.dispose();
    return grads.map((g, i) => {
      if (g == null) return null;
      const project = params[i].project;
      if (!project) return g;
      const projected = tf.tidy(() => project(g));
      g.dispose();
      return projected;
    });
  } finally {
    dy.dispose();
  }
}

function checkOutput(y: tf.Tensor, numClasses: number): tf.Tensor2D {
  if (y.rank !== 2 || y.shape[0] !== 1 || y.shape[1] !== numClasses) {
    throw new Error(
      `kernel/gradients.ts: the output function must return f(x) of shape [1, ${numClasses}] (one example, raw class ` +
        `logits), but returned [${y.shape.join(', ')}]; check the model wrapper passed to empiricalNtkFn`,
    );
  }
  return y as tf.Tensor2D;
}

/** Number of classes C, from one forward pass on `input` (no tape). */
export function countOutputs<I>(outputFn: OutputFn<I>, input: I): number {
  return tf.tidy(() => {
    const y = outputFn(input);
    if (y.rank !== 2 || y.shape[0] !== 1) {
      throw new Error(
        `kernel/gradients.ts: the output function must return f(x) of shape [1, C], but returned [${y.shape.join(', ')}]`,
      );
    }
    return y.shape[1];
  });
}

/**
 * The Jacobian of one example, per parameter: rows c = 0..C−1 hold ∇_θ f_c(x) flattened, shape [C, P_i]
 * (zeros where f does not depend on the parameter). Caller disposes.
 */
export function exampleJacobian<I>(
  outputFn: OutputFn<I>,
  params: KernelParameter[],
  input: I,
  numClasses: number,
): tf.Tensor2D[] {
  const perClass: (tf.Tensor | null)[][] = [];
  try {
    for (let c = 0; c < numClasses; c++) perClass.push(outputGradients(outputFn, params, input, numClasses, c));
    return params.map((p, i) =>
      tf.tidy(() => {
        const size = perClass.find((g) => g[i] != null)?.[i]?.size ?? projectedSize(p);
        const rows = perClass.map((g) => (g[i] == null ? tf.zeros([1, size]) : g[i]!.reshape([1, size])));
        return tf.concat(rows, 0) as tf.Tensor2D; // [C, P_i]
      }),
    );
  } finally {
    for (const g of perClass) for (const t of g) t?.dispose();
  }
}

/** Size of a parameter's kernel coordinates (after projection), found by projecting a zero gradient. */
export function projectedSize(p: KernelParameter): number {
  if (!p.project) return p.variable.size;
  return tf.tidy(() => p.project!(tf.zerosLike(p.variable)).size);
}

/** Cuts every parameter's coordinates into pieces of at most `maxPiece` (2^24 by default). */
export function pieceLayout(sizes: number[], maxPiece = MAX_PIECE): Piece[] {
  const pieces: Piece[] = [];
  sizes.forEach((size, param) => {
    for (let start = 0; start < size; start += maxPiece) {
      pieces.push({ param, start, length: Math.min(maxPiece, size - start) });
    }
  });
  return pieces;
}

/**
 * The gradient features of one example as contraction pieces: per piece, [C, length] (rows = classes),
 * or null where f does not depend on the parameter at all (it would contribute 0 to every kernel).
 * Caller disposes.
 */
export function examplePieces<I>(
  outputFn: OutputFn<I>,
  params: KernelParameter[],
  input: I,
  numClasses: number,
  layout: Piece[],
): (tf.Tensor2D | null)[] {
  const perClass: (tf.Tensor | null)[][] = [];
  try {
    for (let c = 0; c < numClasses; c++) perClass.push(outputGradients(outputFn, params, input, numClasses, c));
    return layout.map((piece) => {
      if (perClass.every((g) => g[piece.param] == null)) return null;
      return tf.tidy(() => {
        const rows = perClass.map((g) => {
          const grad = g[piece.param];
          if (grad == null) return tf.zeros([1, piece.length]);
          const flat = grad.reshape([1, grad.size]);
          return piece.start === 0 && piece.length === grad.size ? flat : flat.slice([0, piece.start], [1, piece.length]);
        });
        return tf.concat(rows, 0) as tf.Tensor2D; // [C, length]
      });
    });
  } finally {
    for (const g of perClass) for (const t of g) t?.dispose();
  }
}
