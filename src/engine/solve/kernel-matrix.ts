/**
 * Views of [N, C, M, C] kernel blocks as matrices, input checks and target encodings shared by the solvers
 * (§2.4 and §4 of docs/paper-and-reference-code.md).
 */
import { Mat, transpose } from './linalg';
import type { KernelBlock, ScoreMatrix } from './types';

export interface CheckedProblem {
  /** Train examples. */
  N: number;
  /** Kernel outputs per example (1 for a single-output kernel f = f1 − f0). */
  C: number;
  numClasses: number;
  /** Train labels as class ids. */
  y: Int32Array;
}

/**
 * Validates the kernels and labels a solver receives; `where` names the solver file for the error message.
 * Ktt must be [N, C, N, C], each Ktx [N, C, M, C], labels integers in [0, numClasses).
 */
export function checkProblem(
  where: string,
  Ktt: KernelBlock,
  Ktx: KernelBlock[],
  yTrain: ArrayLike<number>,
  numClasses?: number,
): CheckedProblem {
  const [N, C, N2, C2] = Ktt.shape;
  if (N !== N2 || C !== C2) throw new Error(`${where}: the train×train kernel must be [N, C, N, C], got [${Ktt.shape}]`);
  checkBlock(where, 'train×train', Ktt);
  Ktx.forEach((K, i) => {
    if (K.shape[0] !== N || K.shape[1] !== C || K.shape[3] !== C) {
      throw new Error(`${where}: evaluated kernel #${i} must be [${N}, ${C}, M, ${C}] like the train kernel, got [${K.shape}]`);
    }
    checkBlock(where, `evaluated #${i}`, K);
  });
  if (yTrain.length !== N) throw new Error(`${where}: ${yTrain.length} train labels for a kernel over N = ${N} train examples`);
  const classes = numClasses ?? (C === 1 ? 2 : C);
  if (C === 1 && classes !== 2) throw new Error(`${where}: a single-output kernel (C = 1) is binary, but numClasses = ${classes}`);
  if (C > 1 && classes !== C) throw new Error(`${where}: the kernel has C = ${C} outputs but numClasses = ${classes}`);
  const y = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    const v = yTrain[n];
    if (!Number.isInteger(v) || v < 0 || v >= classes) {
      throw new Error(`${where}: train label #${n} is ${v}; labels must be class ids 0..${classes - 1}`);
    }
    y[n] = v;
  }
  return { N, C, numClasses: classes, y };
}

function checkBlock(where: string, what: string, K: KernelBlock): void {
  const size = K.shape.reduce((a, b) => a * b, 1);
  if (K.data.length !== size) throw new Error(`${where}: the ${what} kernel has ${K.data.length} values for shape [${K.shape}]`);
  if (K.flipped !== undefined && K.flipped.length !== size) {
    throw new Error(`${where}: the flipped ${what} kernel has ${K.flipped.length} values for shape [${K.shape}]`);
  }
}

/** The (N·C)×(M·C) matrix of a block (shares `data`; solvers never write to it). */
export function kernelMatrix(K: KernelBlock): Mat {
  return { rows: K.shape[0] * K.shape[1], cols: K.shape[2] * K.shape[3], data: K.data };
}

/** The flipped kernel K' as an (N·C)×(M·C) matrix: `flipped` if given, else K_ttᵀ (train×train) or K (evaluated). */
export function flippedMatrix(K: KernelBlock, isTrainTrain: boolean): Mat {
  if (K.flipped !== undefined) return { rows: K.shape[0] * K.shape[1], cols: K.shape[2] * K.shape[3], data: K.flipped };
  return isTrainTrain ? transpose(kernelMatrix(K)) : kernelMatrix(K);
}

/**
 * Regression targets flattened like the kernel rows (row n·C + c): one-hot {0, 1} for C ≥ 2 (not centred, as the
 * reference), ±1 for a single-output kernel.
 */
export function regressionTargets(y: Int32Array, C: number): Float64Array {
  const t = new Float64Array(y.length * C);
  for (let n = 0; n < y.length; n++) {
    if (C === 1) t[n] = y[n] === 1 ? 1 : -1;
    else t[n * C + y[n]] = 1;
  }
  return t;
}

/** Scores of a solver flattened as M·C values, to [M, numClasses]; a single output s becomes the two logits [−s, +s]. */
export function toScoreMatrix(flat: Float64Array, M: number, C: number): ScoreMatrix {
  if (C > 1) return { data: flat, shape: [M, C] };
  const data = new Float64Array(2 * M);
  for (let m = 0; m < M; m++) {
    data[2 * m] = -flat[m];
    data[2 * m + 1] = flat[m];
  }
  return { data, shape: [M, 2] };
}

/**
 * Splits a stacked A-SignGD kernel array [2, N, C, M, C] (K then K', the layout of the reference's `.pt` files and of
 * the `.npy` files this project writes) into one block with `flipped`.
 */
export function blockFromStacked(data: Float64Array, shape: number[]): KernelBlock {
  if (shape.length !== 5 || shape[0] !== 2) {
    throw new Error(`solve/kernel-matrix.ts: a stacked asymmetric kernel must have shape [2, N, C, M, C], got [${shape}]`);
  }
  const size = shape[1] * shape[2] * shape[3] * shape[4];
  if (data.length !== 2 * size) throw new Error(`solve/kernel-matrix.ts: ${data.length} values for shape [${shape}]`);
  return {
    data: data.slice(0, size),
    flipped: data.slice(size),
    shape: [shape[1], shape[2], shape[3], shape[4]],
  };
}
