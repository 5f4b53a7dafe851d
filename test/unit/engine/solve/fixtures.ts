/** Small kernels built by the tests themselves from explicit feature vectors. */
import type { KernelBlock } from '../../../../src/engine/solve/types';
import { mulberry32 } from '../../../../src/engine/util/random';

/** Deterministic uniform(−1, 1) numbers (the engine's mulberry32, rescaled). */
export function rng(seed: number): () => number {
  const u = mulberry32(seed);
  return () => u() * 2 - 1;
}

/** Features φ(x_n, c) ∈ R^P of each (example, logit): phi[n][c] is a length-P vector. */
export type Features = number[][][];

/**
 * K[n, c, m, c'] = φ_s(x_n, c)ᵀ · A · φ_t(x_m, c'), A P×P row-major (identity when omitted: the symmetric linear kernel).
 * With a non-symmetric A the kernel is asymmetric; `flipped` then holds K'[n, c, m, c'] = K(x_m c', x_n c).
 */
export function kernelFromFeatures(left: Features, right: Features, A?: number[]): KernelBlock {
  const N = left.length;
  const M = right.length;
  const C = left[0].length;
  const P = left[0][0].length;
  const k = (u: number[], v: number[]): number => {
    let s = 0;
    for (let i = 0; i < P; i++) for (let j = 0; j < P; j++) s += u[i] * (A === undefined ? (i === j ? 1 : 0) : A[i * P + j]) * v[j];
    return s;
  };
  const data = new Float64Array(N * C * M * C);
  const flipped = new Float64Array(N * C * M * C);
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let m = 0; m < M; m++)
        for (let d = 0; d < C; d++) {
          const idx = ((n * C + c) * M + m) * C + d;
          data[idx] = k(left[n][c], right[m][d]);
          flipped[idx] = k(right[m][d], left[n][c]);
        }
  return A === undefined ? { data, shape: [N, C, M, C] } : { data, flipped, shape: [N, C, M, C] };
}

/**
 * Points in R² around C class centres at angles 2πk/C (radius 1, uniform noise ±noise), with "logit features"
 * φ(x, c) = e_c ⊗ x (class c's logit sees x in its own block), P = 2C. Labels cycle 0, 1, ..., C−1.
 */
export function clusters(count: number, C: number, noise: number, seed: number): { phi: Features; x: number[][]; y: number[] } {
  const r = rng(seed);
  const x: number[][] = [];
  const y: number[] = [];
  for (let i = 0; i < count; i++) {
    const label = i % C;
    const angle = (2 * Math.PI * label) / C;
    x.push([Math.cos(angle) + noise * r(), Math.sin(angle) + noise * r()]);
    y.push(label);
  }
  const phi = x.map((p) =>
    Array.from({ length: C }, (_, c) => {
      const v = new Array(2 * C).fill(0);
      v[2 * c] = p[0];
      v[2 * c + 1] = p[1];
      return v;
    }),
  );
  return { phi, x, y };
}
