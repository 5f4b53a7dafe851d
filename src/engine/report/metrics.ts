/**
 * Metrics shared by the engine and the extension (§4.4 of docs/paper-and-reference-code.md): accuracy, binary F1
 * (sklearn's `f1_score` with a positive class), prediction agreement, Pearson correlation of logits, mean and
 * population std (ddof 0, numpy's default, as the reference's gather script), argmax of score rows.
 */
import type { Stat } from './types';

function sameLength(what: string, a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new Error(`report/metrics.ts: ${what} of arrays of different lengths (${a.length} and ${b.length})`);
  if (a.length === 0) throw new Error(`report/metrics.ts: ${what} of no examples`);
}

/** Share of examples where pred equals gold. */
export function accuracy(pred: ArrayLike<number>, gold: ArrayLike<number>): number {
  sameLength('accuracy', pred, gold);
  let right = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === gold[i]) right++;
  return right / pred.length;
}

/**
 * Binary F1 of the `positive` class: 2·TP / (2·TP + FP + FN), and 0 when that is 0/0 (sklearn's zero_division
 * default, which warns and returns 0). The reference uses positive class '1' (MRPC, QQP: "equivalent"/"duplicate").
 */
export function f1Binary(pred: ArrayLike<number>, gold: ArrayLike<number>, positive = 1): number {
  sameLength('f1Binary', pred, gold);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < pred.length; i++) {
    const p = pred[i] === positive;
    const g = gold[i] === positive;
    if (p && g) tp++;
    else if (p) fp++;
    else if (g) fn++;
  }
  const denom = 2 * tp + fp + fn;
  return denom === 0 ? 0 : (2 * tp) / denom;
}

/** Share of examples where two prediction vectors agree (e.g. the kernel and fine-tuning). */
export function agreement(a: ArrayLike<number>, b: ArrayLike<number>): number {
  sameLength('agreement', a, b);
  return accuracy(a, b);
}

/** Arithmetic mean; NaN for no values (as numpy). */
export function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return xs.length === 0 ? NaN : s / xs.length;
}

/** Population standard deviation (ddof 0, numpy's default); NaN for no values. */
export function std(xs: ArrayLike<number>): number {
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i] - m) * (xs[i] - m);
  return xs.length === 0 ? NaN : Math.sqrt(s / xs.length);
}

/** Mean, population std and count, the `Stat` of the report. */
export function meanStd(xs: ArrayLike<number>): Stat {
  return { mean: mean(xs), std: std(xs), n: xs.length };
}

/** Pearson correlation of two equally long arrays (e.g. all M·C logits of two models); NaN if either is constant. */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  sameLength('pearson', x, y);
  const mx = mean(x);
  const my = mean(y);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return NaN;
  return sxy / Math.sqrt(sxx * syy);
}

/** Index of the largest value of each row of a row-major [rows, cols] array; the first one on ties (numpy's argmax). */
export function argmaxRows(data: ArrayLike<number>, rows: number, cols: number): Int32Array {
  if (data.length !== rows * cols || cols < 1) {
    throw new Error(`report/metrics.ts: argmaxRows of ${data.length} values as [${rows}, ${cols}]`);
  }
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (data[r * cols + c] > data[r * cols + best]) best = c;
    out[r] = best;
  }
  return out;
}

/**
 * Correlation of what decides the prediction, between two [rows, cols] score matrices (e.g. fine-tuned logits and
 * kernel scores): each row is centred over its classes (s_c − mean_c' s_c', which removes a shift shared by all
 * classes of an example and leaves the argmax unchanged), then each class column is correlated over the rows and the
 * C correlations are averaged. Class offsets — a constant added to one class for every example — do not enter, unlike
 * a Pearson correlation of all rows × cols values flattened, which they can dominate.
 * For two classes both centred columns are ±(s_1 − s_0)/2, so this is exactly the correlation of the margins s_1 − s_0.
 * Classes whose centred column is constant in either matrix are left out; NaN when all are.
 */
export function marginCorrelation(a: ArrayLike<number>, b: ArrayLike<number>, rows: number, cols: number): number {
  sameLength('marginCorrelation', a, b);
  if (a.length !== rows * cols) throw new Error(`report/metrics.ts: marginCorrelation of ${a.length} values as [${rows}, ${cols}]`);
  const centred = (x: ArrayLike<number>, c: number) => {
    const col = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      let m = 0;
      for (let k = 0; k < cols; k++) m += x[r * cols + k];
      col[r] = x[r * cols + c] - m / cols;
    }
    return col;
  };
  let sum = 0;
  let n = 0;
  for (let c = 0; c < cols; c++) {
    const r = pearson(centred(a, c), centred(b, c));
    if (Number.isFinite(r)) { sum += r; n++; }
  }
  return n === 0 ? NaN : sum / n;
}
