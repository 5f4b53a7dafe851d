/**
 * `lstsq`: kernel regression (§4.1 of docs/paper-and-reference-code.md).
 *
 *   α = K_tt⁺ (y − f0(t)/s)              (minimum-norm least squares; K_tt ← K_tt + λ·σ_max(K_tt)·I with a ridge λ)
 *   score(X) = K_tXᵀ α + f0(X)/s          (f0 = 0 unless `aroundInit`: then this is the linearised model)
 *
 * For an asymmetric kernel (A-SignGD, K(x_n, x) with the train side signed) this is taken literally as in the reference:
 * the fit uses K_tt's rows (x_n first) and the prediction K_tX's columns, so train scores K_ttᵀα need not equal y.
 *
 * y are one-hot {0, 1} targets flattened to N·C rows (±1 for a single-output kernel). Prediction = argmax over c.
 * The pseudo-inverse uses a relative singular-value cutoff (rcond·σ_max, default rcond = EPS·N·C as torch's lstsq; see
 * linalg.ts `PinvOptions`); its numerical rank is reported as `info.rank` (the reference logs it as `rank0`). A
 * symmetric K_tt goes through its (cached) eigendecomposition, an asymmetric one (A-SignGD) through the Jacobi SVD.
 */
import { EPS, Mat, SymEig, addDiagonal, isSymmetric, mat, pinvSolve, sigmaMax, symEig } from './linalg';
import { checkProblem, kernelMatrix, regressionTargets, toScoreMatrix } from './kernel-matrix';
import type { KernelBlock, ScoreMatrix, Solver, SolverOptions, SolverResult } from './types';

const WHERE = 'solve/lstsq.ts';

export const lstsqSolver: Solver = (
  Ktt: KernelBlock,
  Ktx: KernelBlock[],
  yTrain: ArrayLike<number>,
  opts: SolverOptions = {},
): SolverResult => {
  const { N, C, y } = checkProblem(WHERE, Ktt, Ktx, yTrain, opts.numClasses);
  const ridge = opts.ridge ?? 0;
  if (!(ridge >= 0)) throw new Error(`${WHERE}: ridge must be ≥ 0, got ${ridge}`);
  const around = opts.aroundInit;
  const scale = around?.scale ?? 1;
  if (around !== undefined) {
    if (!(scale > 0)) throw new Error(`${WHERE}: aroundInit.scale (f0 scaling) must be > 0, got ${scale}`);
    checkLogits('aroundInit.f0Train', around.f0Train, N, C);
    if (around.f0Evals.length !== Ktx.length) {
      throw new Error(`${WHERE}: aroundInit.f0Evals has ${around.f0Evals.length} matrices for ${Ktx.length} evaluated kernels`);
    }
    around.f0Evals.forEach((f, i) => checkLogits(`aroundInit.f0Evals[${i}]`, f, Ktx[i].shape[2], C));
  }

  // [N·C] targets, minus the initial logits when predicting around the initial model.
  const target = regressionTargets(y, C);
  if (around !== undefined) for (let r = 0; r < N * C; r++) target[r] -= around.f0Train.data[r] / scale;

  const K = kernelMatrix(Ktt); // [N·C, N·C]
  const { alpha, rank, sMax } = isSymmetric(K)
    ? solveSymmetric(Ktt.data, K, target, ridge, opts.rcond)
    : solveGeneral(K, target, ridge, opts.rcond);

  const scores = Ktx.map((block, i) => {
    const M = block.shape[2];
    const Kx = kernelMatrix(block); // [N·C, M·C]
    const flat = new Float64Array(M * C); // score(m, c) = Σ_r K[r, (m, c)] α_r
    for (let r = 0; r < N * C; r++) {
      const a = alpha[r];
      if (a === 0) continue;
      const row = r * M * C;
      for (let j = 0; j < M * C; j++) flat[j] += a * Kx.data[row + j];
    }
    if (around !== undefined) for (let j = 0; j < M * C; j++) flat[j] += around.f0Evals[i].data[j] / scale;
    return toScoreMatrix(flat, M, C);
  });
  return { scores, info: { rank, sigmaMax: sMax } };
};

/**
 * Eigendecompositions of symmetric train kernels, keyed by the kernel's data array, so that a grid over the ridge
 * (select.ts) decomposes K_tt once: K + μI = V(Λ + μ)Vᵀ. Kernel arrays are never modified after they are made.
 */
const eigCache = new WeakMap<Float64Array, SymEig>();

/** Symmetric K_tt: α = V·(Λ + μ)⁺·Vᵀ·t with μ = ridge·σ_max, σ_max = max|λ|, cutoff rcond·max|λ + μ|. */
function solveSymmetric(key: Float64Array, K: Mat, target: Float64Array, ridge: number, rcond?: number) {
  let eig = eigCache.get(key);
  if (eig === undefined) {
    eig = symEig(K);
    eigCache.set(key, eig);
  }
  const { values, vectors: V } = eig;
  const n = values.length;
  const sMax = n > 0 ? Math.max(Math.abs(values[0]), Math.abs(values[n - 1])) : 0;
  const mu = ridge * sMax;
  const shifted = values.map((l) => l + mu);
  const top = shifted.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const cutoff = (rcond ?? EPS * n) * top;
  const alpha = new Float64Array(n);
  let rank = 0;
  for (let k = 0; k < n; k++) {
    if (!(Math.abs(shifted[k]) > cutoff)) continue;
    rank++;
    let proj = 0; // v_kᵀ t
    for (let i = 0; i < n; i++) proj += V.data[i * n + k] * target[i];
    const coef = proj / shifted[k];
    for (let i = 0; i < n; i++) alpha[i] += coef * V.data[i * n + k];
  }
  return { alpha, rank, sMax };
}

/** Non-symmetric K_tt (A-SignGD): σ_max from the SVD, then the pseudo-inverse of K + μI by the Jacobi SVD. */
function solveGeneral(K: Mat, target: Float64Array, ridge: number, rcond?: number) {
  const sMax = sigmaMax(K);
  const A = ridge > 0 ? addDiagonal(K, ridge * sMax) : K;
  const { X, rank } = pinvSolve(A, mat(K.rows, 1, target), { rcond });
  return { alpha: X.data, rank, sMax };
}

function checkLogits(what: string, f: ScoreMatrix, rows: number, C: number): void {
  if (f.shape[0] !== rows || f.shape[1] !== C || f.data.length !== rows * C) {
    throw new Error(`${WHERE}: ${what} must be [${rows}, ${C}] logits (the kernel's outputs), got [${f.shape}]`);
  }
}
