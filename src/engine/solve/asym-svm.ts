/**
 * `asym`: least-squares SVM for asymmetric kernels (AsK-LS; He et al. 2022), §4.3 of docs/paper-and-reference-code.md.
 * The reference code crashes for this solver (`args.kernel_lambda` is undefined); this is a working version of the same
 * formulation, without bias terms as in the reference.
 *
 * An asymmetric kernel K(u, v) = ⟨φ_s(u), φ_t(v)⟩ has a source and a target feature map. With labels y_i = ±1,
 * H_ij = y_i K(x_i, x_j) y_j and γ > 0, the dual of the two coupled least-squares SVMs is the 2N×2N linear system
 *
 *   [[I/γ, H], [Hᵀ, I/γ]] [α; β] = 1,
 *
 * and the two decision functions are f_t(x) = Σ_i α_i y_i K(x_i, x) and f_s(x) = Σ_i β_i y_i K(x, x_i) = Σ_i β_i y_i K'(x_i, x)
 * (K' = the flipped kernel). The score mixes them: λ·f_t(x) + (1 − λ)·f_s(x). For a symmetric kernel α = β and λ has
 * no effect. Here K(x_i, x) is the train-side-signed A-SignGD kernel `data`, K' its `flipped` companion.
 *
 * Classes (a documented choice; the reference is binary only):
 * - single-output kernel (C = 1, f = f1 − f0): one binary problem on the N×N kernel, y = +1 for class 1; scores [−s, s].
 * - C ≥ 2 outputs: one-vs-rest. Problem c uses the diagonal logit block K[:, c, :, c] (the kernel of the class-c logit
 *   with itself) and y_n = +1 iff example n is of class c; score(m, c) is that problem's decision value. Cross-logit
 *   blocks (c ≠ c') are not used. This covers C = 2 as two one-vs-rest problems on the two logits.
 */
import { Mat, luSolve, mat } from './linalg';
import { checkProblem, flippedMatrix, kernelMatrix, toScoreMatrix } from './kernel-matrix';
import type { KernelBlock, Solver, SolverOptions, SolverResult } from './types';

const WHERE = 'solve/asym-svm.ts';

/**
 * Solves the AsK-LS dual for one binary problem. `K` is the N×N train kernel K(x_i, x_j) (row i = source/signed side),
 * `y` ±1 labels. Returns α (target side, pairs with K) and β (source side, pairs with K').
 */
export function askLsFit(K: Mat, y: ArrayLike<number>, gamma: number): { alpha: Float64Array; beta: Float64Array } {
  const N = y.length;
  if (K.rows !== N || K.cols !== N) throw new Error(`${WHERE}: askLsFit needs an ${N}×${N} kernel, got ${K.rows}×${K.cols}`);
  if (!(gamma > 0) || !Number.isFinite(gamma)) throw new Error(`${WHERE}: gamma must be a finite number > 0, got ${gamma}`);
  const S = mat(2 * N, 2 * N); // [[I/γ, H], [Hᵀ, I/γ]]
  const W = 2 * N;
  for (let i = 0; i < N; i++) {
    S.data[i * W + i] = 1 / gamma;
    S.data[(N + i) * W + N + i] = 1 / gamma;
    for (let j = 0; j < N; j++) {
      const h = y[i] * K.data[i * N + j] * y[j];
      S.data[i * W + N + j] = h; // H_ij
      S.data[(N + j) * W + i] = h; // (Hᵀ)_ji
    }
  }
  const sol = luSolve(S, mat(W, 1, new Float64Array(W).fill(1))).data;
  return { alpha: sol.slice(0, N), beta: sol.slice(N) };
}

/** The [N, M] sub-block K[:, c, :, c] of an (N·C)×(M·C) kernel matrix. */
function logitBlock(K: Mat, N: number, M: number, C: number, c: number): Mat {
  const B = mat(N, M);
  for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) B.data[n * M + m] = K.data[(n * C + c) * (M * C) + m * C + c];
  return B;
}

export const asymSvmSolver: Solver = (
  Ktt: KernelBlock,
  Ktx: KernelBlock[],
  yTrain: ArrayLike<number>,
  opts: SolverOptions = {},
): SolverResult => {
  const { N, C, y } = checkProblem(WHERE, Ktt, Ktx, yTrain, opts.numClasses);
  const gamma = opts.gamma ?? 1;
  const lambda = opts.asymLambda ?? 0.5;
  if (!(lambda >= 0 && lambda <= 1)) throw new Error(`${WHERE}: asymLambda must lie in [0, 1], got ${lambda}`);

  const problems = C === 1 ? [1] : Array.from({ length: C }, (_, c) => c); // positive class of each problem
  const Ktrain = kernelMatrix(Ktt);
  const flat = Ktx.map((b) => new Float64Array(b.shape[2] * C)); // [M·C] per evaluated block
  problems.forEach((positive, c) => {
    const ySigned = Array.from(y, (label) => (label === positive ? 1 : -1));
    const { alpha, beta } = askLsFit(logitBlock(Ktrain, N, N, C, c), ySigned, gamma);
    Ktx.forEach((block, b) => {
      const M = block.shape[2];
      const K = logitBlock(kernelMatrix(block), N, M, C, c); // K(x_i, x_m)
      const Kf = logitBlock(flippedMatrix(block, false), N, M, C, c); // K'(x_i, x_m) = K(x_m, x_i)
      for (let m = 0; m < M; m++) {
        let ft = 0;
        let fs = 0;
        for (let i = 0; i < N; i++) {
          ft += alpha[i] * ySigned[i] * K.data[i * M + m];
          fs += beta[i] * ySigned[i] * Kf.data[i * M + m];
        }
        flat[b][m * C + c] = lambda * ft + (1 - lambda) * fs;
      }
    });
  });
  return { scores: Ktx.map((block, b) => toScoreMatrix(flat[b], block.shape[2], C)), info: { gamma, asymLambda: lambda } };
};
