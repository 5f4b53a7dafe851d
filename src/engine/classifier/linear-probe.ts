/**
 * Linear probing (LP): multinomial logistic regression on frozen features, with the regularisation strength chosen by
 * stratified cross-validation. This initialises the no-prompt ("standard") head as the reference does
 * (paper-and-reference-code.md §2.3: sklearn LogisticRegressionCV(multinomial, max_iter 5000), Cs = logspace(-4, 4, 10),
 * 5-fold stratified CV scored by accuracy, refit on all data).
 *
 * Objective for a given C (sklearn's convention, intercept not penalised):
 *   L(W, b) = C · Σ_n CE(softmax(W x_n + b), y_n) + ½‖W‖²
 * For two classes the reference fits one logit w and splits it into W = [−w/2; +w/2]. With the symmetric softmax
 * parameterisation and an L2 penalty the optimum satisfies W₀ = −W₁, so fitting the 2-class softmax directly gives the
 * same logit difference; we do that for every number of classes.
 *
 * Shapes: X is [N, D] row-major (Float64Array), y holds class indices in [0, C). W is [C, D], b is [C].
 */

export interface LinearProbe {
  W: Float64Array; // [C, D]
  b: Float64Array; // [C]
  C: number;
  D: number;
  /** Inverse regularisation strength chosen by cross-validation. */
  regC: number;
  cvAccuracy: number;
}

export interface LinearProbeOptions {
  Cs?: number[];
  folds?: number;
  maxIter?: number;
}

export const DEFAULT_CS: number[] = Array.from({ length: 10 }, (_, i) => Math.pow(10, -4 + (8 * i) / 9));

/** Fit with C chosen by stratified k-fold CV (accuracy), then refit on all rows. */
export function fitLinearProbe(X: Float64Array, y: number[], numClasses: number, opts: LinearProbeOptions = {}): LinearProbe {
  const N = y.length;
  const D = X.length / N;
  const Cs = opts.Cs ?? DEFAULT_CS;
  const folds = stratifiedFolds(y, numClasses, Math.min(opts.folds ?? 5, minClassCount(y, numClasses)));
  let best = { regC: Cs[0], acc: -1 };
  if (folds.length >= 2) {
    for (const regC of Cs) {
      let correct = 0;
      for (let f = 0; f < folds.length; f++) {
        const test = new Set(folds[f]);
        const trainIdx = y.map((_, i) => i).filter((i) => !test.has(i));
        const model = fitFixedC(take(X, D, trainIdx), trainIdx.map((i) => y[i]), numClasses, regC, opts.maxIter ?? 5000);
        for (const i of folds[f]) if (argmax(predictRow(model, X.subarray(i * D, (i + 1) * D))) === y[i]) correct++;
      }
      const acc = correct / N;
      if (acc > best.acc) best = { regC, acc }; // ties keep the smaller C (first in the grid), as sklearn's argmax
    }
  } else {
    best = { regC: 1, acc: NaN }; // too few rows per class for CV: sklearn's default C
  }
  const model = fitFixedC(X, y, numClasses, best.regC, opts.maxIter ?? 5000);
  return { ...model, regC: best.regC, cvAccuracy: best.acc };
}

/** Logits [C] for one feature row. */
export function predictRow(m: { W: Float64Array; b: Float64Array; C: number; D: number }, x: ArrayLike<number>): Float64Array {
  const out = new Float64Array(m.C);
  for (let c = 0; c < m.C; c++) {
    let s = m.b[c];
    for (let d = 0; d < m.D; d++) s += m.W[c * m.D + d] * x[d];
    out[c] = s;
  }
  return out;
}

function fitFixedC(X: Float64Array, y: number[], C: number, regC: number, maxIter: number) {
  const N = y.length;
  const D = X.length / N;
  const nw = C * D;
  // θ = [W (C·D), b (C)]
  const f = (theta: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    let loss = 0;
    const z = new Float64Array(C);
    for (let n = 0; n < N; n++) {
      const x = X.subarray(n * D, (n + 1) * D);
      let zmax = -Infinity;
      for (let c = 0; c < C; c++) {
        let s = theta[nw + c];
        for (let d = 0; d < D; d++) s += theta[c * D + d] * x[d];
        z[c] = s;
        if (s > zmax) zmax = s;
      }
      let sum = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(z[c] - zmax);
      const lse = zmax + Math.log(sum);
      loss += regC * (lse - z[y[n]]);
      for (let c = 0; c < C; c++) {
        const g = regC * (Math.exp(z[c] - lse) - (c === y[n] ? 1 : 0));
        for (let d = 0; d < D; d++) grad[c * D + d] += g * x[d];
        grad[nw + c] += g;
      }
    }
    for (let i = 0; i < nw; i++) {
      loss += 0.5 * theta[i] * theta[i];
      grad[i] += theta[i];
    }
    return loss;
  };
  const theta = lbfgs(f, new Float64Array(nw + C), maxIter);
  return { W: theta.slice(0, nw), b: theta.slice(nw), C, D };
}

/** Minimal L-BFGS (m = 10) with a backtracking Armijo line search; float64 throughout. */
export function lbfgs(f: (x: Float64Array, g: Float64Array) => number, x0: Float64Array, maxIter: number, tol = 1e-9): Float64Array {
  const n = x0.length;
  const m = 10;
  let x = x0.slice();
  let g = new Float64Array(n);
  let fx = f(x, g);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const dot = (a: Float64Array, b: Float64Array) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[i] * b[i];
    return s;
  };
  for (let it = 0; it < maxIter; it++) {
    const gnorm = Math.sqrt(dot(g, g));
    if (gnorm <= tol) break;
    // two-loop recursion: d = −H g
    const q = g.slice();
    const alpha: number[] = [];
    for (let i = S.length - 1; i >= 0; i--) {
      const a = dot(S[i], q) / dot(Y[i], S[i]);
      alpha[i] = a;
      for (let j = 0; j < n; j++) q[j] -= a * Y[i][j];
    }
    const gamma = S.length ? dot(S[S.length - 1], Y[Y.length - 1]) / dot(Y[Y.length - 1], Y[Y.length - 1]) : 1 / Math.max(gnorm, 1);
    for (let j = 0; j < n; j++) q[j] *= gamma;
    for (let i = 0; i < S.length; i++) {
      const b = dot(Y[i], q) / dot(Y[i], S[i]);
      for (let j = 0; j < n; j++) q[j] += S[i][j] * (alpha[i] - b);
    }
    const d = q.map((v) => -v);
    let slope = dot(g, d);
    if (slope >= 0) {
      // not a descent direction: reset memory, use steepest descent
      S.length = 0;
      Y.length = 0;
      for (let j = 0; j < n; j++) d[j] = -g[j];
      slope = dot(g, d);
    }
    let step = 1;
    const xn = new Float64Array(n);
    const gn = new Float64Array(n);
    let fn = 0;
    for (let ls = 0; ls < 50; ls++) {
      for (let j = 0; j < n; j++) xn[j] = x[j] + step * d[j];
      fn = f(xn, gn);
      if (fn <= fx + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    const s = new Float64Array(n);
    const yv = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      s[j] = xn[j] - x[j];
      yv[j] = gn[j] - g[j];
    }
    const converged = Math.abs(fx - fn) <= 1e-15 * Math.max(1, Math.abs(fx));
    x = xn.slice();
    g = gn.slice();
    fx = fn;
    if (dot(s, yv) > 1e-12) {
      S.push(s);
      Y.push(yv);
      if (S.length > m) {
        S.shift();
        Y.shift();
      }
    }
    if (converged) break;
  }
  return x;
}

function minClassCount(y: number[], C: number): number {
  const counts = new Array(C).fill(0);
  for (const v of y) counts[v]++;
  return Math.min(...counts.filter((c) => c > 0));
}

/** Stratified folds: the rows of each class, in order, are dealt round-robin to the folds (deterministic). */
export function stratifiedFolds(y: number[], C: number, k: number): number[][] {
  if (k < 2) return [];
  const folds: number[][] = Array.from({ length: k }, () => []);
  for (let c = 0; c < C; c++) {
    let j = 0;
    y.forEach((v, i) => {
      if (v === c) folds[j++ % k].push(i);
    });
  }
  return folds;
}

function take(X: Float64Array, D: number, idx: number[]): Float64Array {
  const out = new Float64Array(idx.length * D);
  idx.forEach((i, r) => out.set(X.subarray(i * D, (i + 1) * D), r * D));
  return out;
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}
