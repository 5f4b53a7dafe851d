/**
 * Sampling uncertainty of the figures the verdict uses.
 *
 * The FT − kernel gap and the agreement are measured on a finite test set (SST-2: 872 sentences), so they carry a
 * sampling error of a few points, on top of the spread over seeds. `pairedBootstrap` resamples the TEST EXAMPLES with
 * replacement — the same indices for fine-tuning and the kernel (paired), and for every seed when the seeds share one
 * test set — recomputes the statistic averaged over seeds on each resample, and reports the percentile interval
 * (Efron's percentile bootstrap). The resampling is seeded, so a report is reproducible.
 */
import { mulberry32 } from '../util/random';
import type { Interval } from './types';

export interface BootstrapOptions {
  /** Number of resamples (default 2000). */
  resamples?: number;
  /** Coverage of the interval (default 0.95). */
  level?: number;
  /** Seed of the resampling (default 0). */
  seed?: number;
}

/** One seed's test set as the statistic sees it: M examples, the statistic computed from a list of example indices. */
export interface PairedSample {
  /** Number of test examples. */
  size: number;
  /** The statistic on the examples `idx` (a resample of 0..size−1, with repeats). */
  statistic: (idx: Int32Array) => number;
  /** Samples with equal `group` share their test set and are resampled with the same indices (default: its size). */
  group?: string;
}

/**
 * The mean over samples (seeds) of each sample's statistic, with a percentile bootstrap interval over test examples.
 * Samples in the same `group` get the same resampled indices (their test examples are the same sentences); samples
 * in different groups are resampled independently.
 */
export function pairedBootstrap(samples: PairedSample[], opts: BootstrapOptions = {}): Interval {
  if (samples.length === 0) throw new Error('report/uncertainty.ts: pairedBootstrap of no samples');
  const resamples = opts.resamples ?? 2000;
  const level = opts.level ?? 0.95;
  const rand = mulberry32(opts.seed ?? 0);
  const identity = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
  const meanOver = (pick: (s: PairedSample) => Int32Array) => samples.reduce((acc, s) => acc + s.statistic(pick(s)), 0) / samples.length;
  const value = meanOver((s) => identity(s.size));
  const groupOf = (s: PairedSample) => s.group ?? `size:${s.size}`;
  const values = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    const drawn = new Map<string, Int32Array>();
    for (const s of samples) {
      const g = groupOf(s);
      if (drawn.has(g)) continue;
      const idx = new Int32Array(s.size);
      for (let i = 0; i < s.size; i++) idx[i] = Math.floor(rand() * s.size);
      drawn.set(g, idx);
    }
    values[r] = meanOver((s) => drawn.get(groupOf(s))!);
  }
  values.sort();
  const alpha = (1 - level) / 2;
  return { value, lo: quantile(values, alpha), hi: quantile(values, 1 - alpha), level, resamples };
}

/** Linear-interpolation quantile of sorted values (numpy's default 'linear' method). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = q * (n - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
}
