/**
 * `logistic`: logistic regression on kernel rows, the reference's default solver (§4.2 of
 * docs/paper-and-reference-code.md; sklearn 0.24 `LogisticRegressionCV` defaults).
 *
 * - One row per training (example n, output c), row r = n·C + c. Its features are the kernel row K_tt[r, :] (N·C values)
 *   and its label is 1 iff c is the example's class (for a single-output kernel: the class id itself). So a multi-class
 *   task fits ONE shared binary "is this the right class?" model over all (example, class) rows, not a multinomial one.
 * - Model: P(1 | x) = σ(w·x + b), minimising Σ_r [log(1 + e^{z_r}) − t_r z_r] + ‖w‖² / (2·C_reg) (L2 on w, the intercept
 *   is not penalised: the lbfgs objective of sklearn). Fitted here by Newton's method with a Cholesky solve and an
 *   Armijo backtracking line search, in float64, until the Newton decrement reaches the rounding level of the objective
 *   (1e-16·(1 + objective)) or a step no longer changes it.
 * - C_reg is chosen by stratified k-fold cross-validation (default 5 folds) over `Cs` (default logspace(−4, 4, 10)) by
 *   the summed held-out accuracy; ties go to the first (smallest) C, as numpy's argmax. Then refit on all rows.
 * - Fold assignment (deterministic, no shuffling) is sklearn 0.24's `StratifiedKFold(shuffle=False)`: classes are
 *   numbered by first appearance; the per-fold count of each class is the count of that class in every k-th element
 *   of the sorted labels; the rows of each class, in row order, fill fold 0 first, then fold 1, and so on.
 * - Every fit is warm-started (along the C path within a fold, and fold to fold at the first C); this changes only the
 *   number of Newton steps, not the optimum.
 * - score(m, c) = log P(1) − log P(0) = w·K_tX[:, m·C + c] + b; prediction = argmax over c.
 */
import { Mat, cholesky, choleskySolve } from './linalg';
import { checkProblem, kernelMatrix, toScoreMatrix } from './kernel-matrix';
import type { KernelBlock, Solver, SolverOptions, SolverResult } from './types';

const WHERE = 'solve/logistic.ts';

/** numpy.logspace(−4, 4, 10), sklearn's default grid of inverse regularisation strengths (numpy's exact doubles). */
export const DEFAULT_CS: readonly number[] = [
  0.0001, 0.000774263682681127, 0.005994842503189409, 0.046415888336127774, 0.3593813663804626, 2.782559402207126,
  21.54434690031882, 166.81005372000558, 1291.5496650148827, 10000.0,
];

/** Fold index (0..k−1) of each row: sklearn 0.24 `StratifiedKFold(n_splits=k, shuffle=False)` test folds. */
export function stratifiedFolds(labels: ArrayLike<number>, k: number): Int32Array {
  const n = labels.length;
  // Classes numbered by first appearance (sklearn's y_encoded).
  const code = new Map<number, number>();
  const enc = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (!code.has(labels[i])) code.set(labels[i], code.size);
    enc[i] = code.get(labels[i])!;
  }
  const counts = new Int32Array(code.size);
  enc.forEach((e) => counts[e]++);
  if (counts.every((c) => c < k)) {
    throw new Error(`${WHERE}: ${k}-fold cross-validation needs at least ${k} rows of some class; got class counts [${Array.from(counts)}]`);
  }
  const sorted = Array.from(enc).sort((a, b) => a - b);
  // allocation[f][cls] = count of cls among sorted[f], sorted[f + k], ...
  const allocation = Array.from({ length: k }, (_, f) => {
    const a = new Int32Array(code.size);
    for (let i = f; i < n; i += k) a[sorted[i]]++;
    return a;
  });
  const folds = new Int32Array(n);
  for (let cls = 0; cls < code.size; cls++) {
    let fold = 0;
    let used = 0;
    for (let i = 0; i < n; i++) {
      if (enc[i] !== cls) continue;
      while (used >= allocation[fold][cls]) {
        fold++;
        used = 0;
      }
      folds[i] = fold;
      used++;
    }
  }
  return folds;
}

export interface LogisticFit {
  /** [d] feature weights. */
  w: Float64Array;
  b: number;
  iterations: number;
  converged: boolean;
}

/**
 * Newton's method for min Σ_i [softplus(z_i) − t_i z_i] + ‖w‖²/(2·Creg), z = X·w + b. X is [n, d] row-major.
 * `init` warm-starts (the C path of cross-validation).
 */
export function fitLogistic(X: Mat, t: ArrayLike<number>, Creg: number, init?: { w: Float64Array; b: number }): LogisticFit {
  const n = X.rows;
  const d = X.cols;
  const D = d + 1; // weights then intercept
  if (t.length !== n) throw new Error(`${WHERE}: fitLogistic got ${t.length} labels for ${n} rows`);
  if (!(Creg > 0)) throw new Error(`${WHERE}: the inverse regularisation C must be > 0, got ${Creg}`);
  const theta = new Float64Array(D);
  if (init !== undefined) {
    theta.set(init.w);
    theta[d] = init.b;
  }
  const Xt = new Float64Array(d * n); // [d, n]: columns of X, contiguous
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) Xt[j * n + i] = X.data[i * d + j];
  const z = new Float64Array(n);
  const margins = (th: Float64Array, out: Float64Array): void => {
    for (let i = 0; i < n; i++) {
      let s = th[d];
      const row = i * d;
      for (let j = 0; j < d; j++) s += X.data[row + j] * th[j];
      out[i] = s;
    }
  };
  const objective = (th: Float64Array, zz: Float64Array): number => {
    let f = 0;
    for (let i = 0; i < n; i++) f += softplus(zz[i]) - t[i] * zz[i];
    let ww = 0;
    for (let j = 0; j < d; j++) ww += th[j] * th[j];
    return f + ww / (2 * Creg);
  };
  margins(theta, z);
  let f = objective(theta, z);
  const maxIter = 100;
  for (let iter = 1; iter <= maxIter; iter++) {
    // Gradient g = [Xᵀr; Σr] and Hessian H = [[XᵀWX, XᵀW1], [1ᵀWX, Σw]] (+ I/C on the weights), r = p − t, W = diag(p(1−p)).
    // H is built from dot products of contiguous columns of X (rows of Xt): H_jk = (Xt_j ⊙ w) · Xt_k.
    const r = new Float64Array(n);
    const wts = new Float64Array(n);
    let wSum = 0;
    let rSum = 0;
    for (let i = 0; i < n; i++) {
      const p = sigmoid(z[i]);
      r[i] = p - t[i];
      wts[i] = p * (1 - p);
      wSum += wts[i];
      rSum += r[i];
    }
    const g = new Float64Array(D);
    const H = new Float64Array(D * D);
    const scaled = new Float64Array(n);
    for (let j = 0; j < d; j++) {
      const xj = j * n;
      let gj = 0;
      let hjb = 0;
      for (let i = 0; i < n; i++) {
        const v = Xt[xj + i];
        gj += r[i] * v;
        scaled[i] = wts[i] * v;
        hjb += scaled[i];
      }
      g[j] = gj;
      H[j * D + d] = hjb;
      for (let k = j; k < d; k++) {
        const xk = k * n;
        let h = 0;
        for (let i = 0; i < n; i++) h += scaled[i] * Xt[xk + i];
        H[j * D + k] = h;
      }
    }
    g[d] = rSum;
    H[d * D + d] = wSum;
    for (let j = 0; j < d; j++) {
      g[j] += theta[j] / Creg;
      H[j * D + j] += 1 / Creg;
    }
    for (let j = 0; j < D; j++) for (let k = j + 1; k < D; k++) H[k * D + j] = H[j * D + k];
    const step = newtonStep({ rows: D, cols: D, data: H }, g);
    let slope = 0; // gᵀΔ < 0
    for (let j = 0; j < D; j++) slope += g[j] * step[j];
    // Newton decrement at the rounding level of the objective: converged.
    if (-slope / 2 <= 1e-16 * (1 + Math.abs(f))) return unpack(theta, d, iter, true);
    // Armijo backtracking.
    const trial = new Float64Array(D);
    const zt = new Float64Array(n);
    let s = 1;
    let accepted = false;
    for (let halvings = 0; halvings < 60; halvings++, s /= 2) {
      for (let j = 0; j < D; j++) trial[j] = theta[j] + s * step[j];
      margins(trial, zt);
      const ft = objective(trial, zt);
      if (ft <= f + 1e-4 * s * slope) {
        if (ft === f) return unpack(trial, d, iter, true); // no progress left at float64 precision
        theta.set(trial);
        z.set(zt);
        f = ft;
        accepted = true;
        break;
      }
    }
    if (!accepted) return unpack(theta, d, iter, true); // no decrease possible at float64 precision
  }
  return unpack(theta, d, maxIter, false);
}

function unpack(theta: Float64Array, d: number, iterations: number, converged: boolean): LogisticFit {
  return { w: theta.slice(0, d), b: theta[d], iterations, converged };
}

/**
 * Solves H·Δ = −g by Cholesky on the equilibrated system (S·H·S)(S⁻¹Δ) = −S·g with S = diag(1/√H_jj): kernel features
 * are large (eNTK values ~1e5 and more), so H spans many orders of magnitude. If rounding still makes the scaled
 * matrix indefinite, a growing diagonal jitter (1e-12, 1e-10, ... of the unit diagonal) is added.
 */
function newtonStep(H: Mat, g: Float64Array): Float64Array {
  const D = H.rows;
  const scale = new Float64Array(D);
  for (let j = 0; j < D; j++) {
    const h = H.data[j * D + j];
    scale[j] = h > 0 ? 1 / Math.sqrt(h) : 1;
  }
  const rhs: Mat = { rows: D, cols: 1, data: g.map((v, j) => -v * scale[j]) };
  for (let jitter = 0, tries = 0; tries < 8; tries++, jitter = jitter === 0 ? 1e-12 : jitter * 100) {
    const A: Mat = { rows: D, cols: D, data: new Float64Array(D * D) };
    for (let j = 0; j < D; j++) {
      for (let k = 0; k < D; k++) A.data[j * D + k] = H.data[j * D + k] * scale[j] * scale[k];
      A.data[j * D + j] += jitter;
    }
    try {
      const step = choleskySolve(cholesky(A), rhs).data;
      for (let j = 0; j < D; j++) step[j] *= scale[j];
      return step;
    } catch {
      // retry with a larger jitter
    }
  }
  throw new Error(`${WHERE}: the Newton system stayed singular; the kernel may hold NaN or Inf values`);
}

function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** log(1 + e^z) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

function rowsOf(X: Mat, keep: (i: number) => boolean): { X: Mat; index: number[] } {
  const index: number[] = [];
  for (let i = 0; i < X.rows; i++) if (keep(i)) index.push(i);
  const data = new Float64Array(index.length * X.cols);
  index.forEach((src, k) => data.set(X.data.subarray(src * X.cols, (src + 1) * X.cols), k * X.cols));
  return { X: { rows: index.length, cols: X.cols, data }, index };
}

export const logisticSolver: Solver = (
  Ktt: KernelBlock,
  Ktx: KernelBlock[],
  yTrain: ArrayLike<number>,
  opts: SolverOptions = {},
): SolverResult => {
  const { N, C, y } = checkProblem(WHERE, Ktt, Ktx, yTrain, opts.numClasses);
  const Cs = opts.Cs ?? DEFAULT_CS;
  const k = opts.folds ?? 5;
  if (Cs.length === 0 || Cs.some((c) => !(c > 0))) throw new Error(`${WHERE}: Cs must be a non-empty list of positive numbers, got [${Cs}]`);
  if (!Number.isInteger(k) || k < 2) throw new Error(`${WHERE}: folds must be an integer ≥ 2, got ${k}`);

  const X = kernelMatrix(Ktt); // [N·C, N·C]: features of row r = K_tt[r, :]
  const rows = N * C;
  const t = new Float64Array(rows); // [N·C] binary labels
  for (let n = 0; n < N; n++) {
    if (C === 1) t[n] = y[n];
    else t[n * C + y[n]] = 1;
  }

  // Cross-validation: per fold, the C path with warm starts; summed held-out accuracy per C.
  const folds = stratifiedFolds(t, k);
  const correct = new Float64Array(Cs.length);
  const foldFits: LogisticFit[][] = [];
  let nonConverged = 0;
  for (let f = 0; f < k; f++) {
    const train = rowsOf(X, (i) => folds[i] !== f);
    const held = rowsOf(X, (i) => folds[i] === f);
    const tTrain = train.index.map((i) => t[i]);
    // Warm start: the previous C on this fold; the first C starts from the previous fold's first-C solution (the
    // objective is strictly convex, so the optimum does not depend on the start, only the number of Newton steps).
    let prev: LogisticFit | undefined = foldFits[f - 1]?.[0];
    const fits: LogisticFit[] = [];
    Cs.forEach((Creg, ci) => {
      const fit = fitLogistic(train.X, tTrain, Creg, prev);
      if (!fit.converged) nonConverged++;
      fits.push(fit);
      prev = fit;
      let right = 0;
      held.index.forEach((row, h) => {
        let z = fit.b;
        for (let j = 0; j < X.cols; j++) z += held.X.data[h * X.cols + j] * fit.w[j];
        if ((z > 0 ? 1 : 0) === t[row]) right++;
      });
      correct[ci] += held.index.length > 0 ? right / held.index.length : 0;
    });
    foldFits.push(fits);
  }
  let best = 0;
  for (let ci = 1; ci < Cs.length; ci++) if (correct[ci] > correct[best]) best = ci;

  // Refit on all rows, warm-started from the mean of the fold solutions at the chosen C (as sklearn).
  const init = { w: new Float64Array(X.cols), b: 0 };
  for (const fits of foldFits) {
    for (let j = 0; j < X.cols; j++) init.w[j] += fits[best].w[j] / k;
    init.b += fits[best].b / k;
  }
  const fit = fitLogistic(X, t, Cs[best], init);
  if (!fit.converged) nonConverged++;

  const scores = Ktx.map((block) => {
    const M = block.shape[2];
    const Kx = kernelMatrix(block); // [N·C, M·C]; column (m, c) is the feature vector of that pair
    const flat = new Float64Array(M * C).fill(fit.b);
    for (let r = 0; r < rows; r++) {
      const wr = fit.w[r];
      if (wr === 0) continue;
      const row = r * M * C;
      for (let j = 0; j < M * C; j++) flat[j] += wr * Kx.data[row + j];
    }
    return toScoreMatrix(flat, M, C);
  });
  return {
    scores,
    info: { C: Cs[best], cvAccuracy: correct[best] / k, iterations: fit.iterations, nonConverged },
  };
};
