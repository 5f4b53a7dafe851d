/**
 * Dense float64 linear algebra for the kernel solvers (kernels are small: at most a few hundred rows).
 *
 * Matrices are row-major `Float64Array`s with explicit `rows`/`cols`: entry (i, j) is `data[i * cols + j]`.
 * Everything here is a pure function: inputs are never modified.
 *
 * - `symEig`: symmetric eigendecomposition by Householder tridiagonalisation + implicit QL (the EISPACK tred2/tql2 pair).
 * - `svd`: thin SVD by one-sided (Hestenes) Jacobi rotations; `symmetricSvd` gets the SVD of a symmetric matrix from `symEig`.
 * - `pinvSolve`: minimum-norm least-squares solution with a relative rank cutoff (see `PinvOptions.rcond`).
 * - `cholesky` / `choleskySolve`, `luSolve` (partial pivoting).
 */

export interface Mat {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** Machine epsilon of float64 (2^-52). */
export const EPS = 2.220446049250313e-16;

export function mat(rows: number, cols: number, data?: ArrayLike<number>): Mat {
  if (data !== undefined && data.length !== rows * cols) {
    throw new Error(`solve/linalg.ts: a ${rows}×${cols} matrix needs ${rows * cols} values, got ${data.length}`);
  }
  return { rows, cols, data: data === undefined ? new Float64Array(rows * cols) : Float64Array.from(data) };
}

export function identity(n: number): Mat {
  const I = mat(n, n);
  for (let i = 0; i < n; i++) I.data[i * n + i] = 1;
  return I;
}

export function transpose(A: Mat): Mat {
  const T = mat(A.cols, A.rows);
  for (let i = 0; i < A.rows; i++) for (let j = 0; j < A.cols; j++) T.data[j * A.rows + i] = A.data[i * A.cols + j];
  return T;
}

/** A·B. */
export function matMul(A: Mat, B: Mat): Mat {
  if (A.cols !== B.rows) throw new Error(`solve/linalg.ts: matMul of ${A.rows}×${A.cols} by ${B.rows}×${B.cols}`);
  const C = mat(A.rows, B.cols);
  const n = B.cols;
  for (let i = 0; i < A.rows; i++) {
    const ci = i * n;
    for (let k = 0; k < A.cols; k++) {
      const a = A.data[i * A.cols + k];
      if (a === 0) continue;
      const bk = k * n;
      for (let j = 0; j < n; j++) C.data[ci + j] += a * B.data[bk + j];
    }
  }
  return C;
}

/** Aᵀ·B without forming Aᵀ. */
export function matTMul(A: Mat, B: Mat): Mat {
  if (A.rows !== B.rows) throw new Error(`solve/linalg.ts: matTMul of (${A.rows}×${A.cols})ᵀ by ${B.rows}×${B.cols}`);
  const C = mat(A.cols, B.cols);
  const n = B.cols;
  for (let k = 0; k < A.rows; k++) {
    const bk = k * n;
    for (let i = 0; i < A.cols; i++) {
      const a = A.data[k * A.cols + i];
      if (a === 0) continue;
      const ci = i * n;
      for (let j = 0; j < n; j++) C.data[ci + j] += a * B.data[bk + j];
    }
  }
  return C;
}

/** A + s·I (square A). */
export function addDiagonal(A: Mat, s: number): Mat {
  if (A.rows !== A.cols) throw new Error(`solve/linalg.ts: addDiagonal needs a square matrix, got ${A.rows}×${A.cols}`);
  const B = mat(A.rows, A.cols, A.data);
  for (let i = 0; i < A.rows; i++) B.data[i * A.cols + i] += s;
  return B;
}

export function maxAbs(A: Mat): number {
  let m = 0;
  for (let i = 0; i < A.data.length; i++) m = Math.max(m, Math.abs(A.data[i]));
  return m;
}

/** True when A is square and |A_ij − A_ji| ≤ relTol · max|A| for all i, j. */
export function isSymmetric(A: Mat, relTol = 0): boolean {
  if (A.rows !== A.cols) return false;
  const n = A.rows;
  const tol = relTol * maxAbs(A);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) if (Math.abs(A.data[i * n + j] - A.data[j * n + i]) > tol) return false;
  }
  return true;
}

function requireSquare(A: Mat, what: string): number {
  if (A.rows !== A.cols) throw new Error(`solve/linalg.ts: ${what} needs a square matrix, got ${A.rows}×${A.cols}`);
  return A.rows;
}

// ------------------------------------------------------------------------------------------------------------------
// Symmetric eigendecomposition

export interface SymEig {
  /** Eigenvalues, descending. */
  values: Float64Array;
  /** Orthonormal eigenvectors as the columns of an n×n matrix, in the order of `values`. */
  vectors: Mat;
}

/**
 * A = V·diag(values)·Vᵀ for a symmetric A (only symmetry to rounding is assumed; the lower triangle is what is read).
 * Householder reduction to tridiagonal form (tred2), then the implicit QL algorithm with Wilkinson-like shifts (tql2).
 */
export function symEig(A: Mat): SymEig {
  const n = requireSquare(A, 'symEig');
  if (n === 0) return { values: new Float64Array(0), vectors: mat(0, 0) };
  // V[i][j] as V[i * n + j]; starts as A (symmetrised from the lower triangle).
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) V[i * n + j] = V[j * n + i] = A.data[i * n + j];
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tred2(n, V, d, e);
  // tql2 rotates columns of V; work on W = Vᵀ so that each rotation touches two contiguous rows.
  const W = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) W[j * n + i] = V[i * n + j];
  tql2(n, W, d, e);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => d[b] - d[a]);
  const values = new Float64Array(n);
  const vectors = mat(n, n);
  order.forEach((src, k) => {
    values[k] = d[src];
    for (let i = 0; i < n; i++) vectors.data[i * n + k] = W[src * n + i];
  });
  return { values, vectors };
}

/** Householder tridiagonalisation: on return V holds the orthogonal transform, d the diagonal, e[1..] the off-diagonal. */
function tred2(n: number, V: Float64Array, d: Float64Array, e: Float64Array): void {
  for (let j = 0; j < n; j++) d[j] = V[(n - 1) * n + j];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
        V[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        V[j * n + i] = f;
        g = e[j] + V[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[k * n + j] * d[k];
          e[k] += V[k * n + j] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) V[k * n + j] -= f * e[k] + g * d[k];
        d[j] = V[(i - 1) * n + j];
        V[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  // Accumulate the transformations.
  for (let i = 0; i < n - 1; i++) {
    V[(n - 1) * n + i] = V[i * n + i];
    V[i * n + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[k * n + i + 1] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[k * n + i + 1] * V[k * n + j];
        for (let k = 0; k <= i; k++) V[k * n + j] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) V[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[(n - 1) * n + j];
    V[(n - 1) * n + j] = 0;
  }
  V[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

/** Implicit QL on the tridiagonal (d, e); W holds the transform transposed (row i = column i of V). */
function tql2(n: number, W: Float64Array, d: Float64Array, e: Float64Array): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > EPS * tst1) m++;
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 100) throw new Error('solve/linalg.ts: symEig (tql2) did not converge in 100 iterations; the matrix may hold NaN or Inf');
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          const ri = i * n;
          const ri1 = (i + 1) * n;
          for (let k = 0; k < n; k++) {
            h = W[ri1 + k];
            W[ri1 + k] = s * W[ri + k] + c * h;
            W[ri + k] = c * W[ri + k] - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > EPS * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}

// ------------------------------------------------------------------------------------------------------------------
// SVD

/** Thin SVD A = U·diag(s)·Vᵀ, A m×n, k = min(m, n): U m×k, s (k, descending, ≥ 0), V n×k. */
export interface Svd {
  U: Mat;
  s: Float64Array;
  V: Mat;
}

/**
 * One-sided Jacobi SVD (Hestenes): rotate pairs of columns of A until all are mutually orthogonal (to |g_p·g_q| ≤
 * 1e-15·‖g_p‖‖g_q‖); the column norms are then the singular values. Wide matrices are handled through Aᵀ.
 * Columns of U belonging to a zero singular value are zero (they never enter a pseudo-inverse).
 */
export function svd(A: Mat): Svd {
  if (A.rows < A.cols) {
    const t = svd(transpose(A));
    return { U: t.V, s: t.s, V: t.U };
  }
  const m = A.rows;
  const n = A.cols;
  // G row j = column j of A; R row j = column j of V.
  const G = transpose(A).data;
  const R = identity(n).data;
  const tol = 1e-15;
  let sweep = 0;
  for (let rotated = true; rotated; ) {
    rotated = false;
    if (++sweep > 80) throw new Error('solve/linalg.ts: svd (one-sided Jacobi) did not converge in 80 sweeps; the matrix may hold NaN or Inf');
    for (let p = 0; p < n - 1; p++) {
      const gp = p * m;
      for (let q = p + 1; q < n; q++) {
        const gq = q * m;
        let alpha = 0;
        let beta = 0;
        let gamma = 0;
        for (let i = 0; i < m; i++) {
          const x = G[gp + i];
          const y = G[gq + i];
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (gamma === 0 || Math.abs(gamma) <= tol * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        for (let i = 0; i < m; i++) {
          const x = G[gp + i];
          const y = G[gq + i];
          G[gp + i] = c * x - s * y;
          G[gq + i] = s * x + c * y;
        }
        const vp = p * n;
        const vq = q * n;
        for (let i = 0; i < n; i++) {
          const x = R[vp + i];
          const y = R[vq + i];
          R[vp + i] = c * x - s * y;
          R[vq + i] = s * x + c * y;
        }
      }
    }
  }
  const norms = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = 0; i < m; i++) s += G[j * m + i] * G[j * m + i];
    norms[j] = Math.sqrt(s);
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => norms[b] - norms[a]);
  const U = mat(m, n);
  const V = mat(n, n);
  const s = new Float64Array(n);
  order.forEach((src, k) => {
    s[k] = norms[src];
    const inv = norms[src] > 0 ? 1 / norms[src] : 0;
    for (let i = 0; i < m; i++) U.data[i * n + k] = G[src * m + i] * inv;
    for (let i = 0; i < n; i++) V.data[i * n + k] = R[src * n + i];
  });
  return { U, s, V };
}

/** SVD of a symmetric matrix from its eigendecomposition: σ = |λ|, V = eigenvectors, U = eigenvectors · sign(λ). */
export function symmetricSvd(A: Mat): Svd {
  const n = requireSquare(A, 'symmetricSvd');
  const { values, vectors } = symEig(A);
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => Math.abs(values[b]) - Math.abs(values[a]));
  const U = mat(n, n);
  const V = mat(n, n);
  const s = new Float64Array(n);
  order.forEach((src, k) => {
    s[k] = Math.abs(values[src]);
    const sign = values[src] < 0 ? -1 : 1;
    for (let i = 0; i < n; i++) {
      V.data[i * n + k] = vectors.data[i * n + src];
      U.data[i * n + k] = sign * vectors.data[i * n + src];
    }
  });
  return { U, s, V };
}

/** Largest singular value (2-norm) of A. */
export function sigmaMax(A: Mat): number {
  if (A.rows === 0 || A.cols === 0) return 0;
  return (isSymmetric(A) ? symmetricSvd(A) : svd(A)).s[0];
}

// ------------------------------------------------------------------------------------------------------------------
// Least squares

export interface PinvOptions {
  /**
   * Relative rank cutoff: singular values σ_i ≤ rcond·σ_max are treated as zero. Default EPS·max(rows, cols), which is
   * the default `rcond` of `torch.linalg.lstsq`. Note that the reference runs torch's `gelsy` driver (QR with column
   * pivoting and an incremental condition estimate); this solver applies the same cutoff to the singular values
   * instead (the `gelsd`/`gelss` rule). Both return the minimum-norm least-squares solution of the numerically
   * truncated problem; they can differ only in which near-threshold directions are kept.
   */
  rcond?: number;
}

export interface PinvSolution {
  /** A⁺B, cols(A) × cols(B). */
  X: Mat;
  /** Numerical rank: number of singular values above the cutoff. */
  rank: number;
  /** Singular values of A, descending. */
  singularValues: Float64Array;
}

/**
 * Minimum-norm least-squares solution X = A⁺B with a relative rank cutoff. Symmetric A (exactly, as a kernel Gram matrix
 * usually is) is decomposed with `symEig`, anything else with the one-sided Jacobi `svd`.
 */
export function pinvSolve(A: Mat, B: Mat, opts: PinvOptions = {}): PinvSolution {
  if (B.rows !== A.rows) throw new Error(`solve/linalg.ts: pinvSolve of a ${A.rows}×${A.cols} system with ${B.rows} right-hand rows`);
  const rcond = opts.rcond ?? EPS * Math.max(A.rows, A.cols);
  const { U, s, V } = isSymmetric(A) ? symmetricSvd(A) : svd(A);
  const k = s.length;
  const cutoff = rcond * (k > 0 ? s[0] : 0);
  let rank = 0;
  while (rank < k && s[rank] > cutoff) rank++;
  // X = V_r · diag(1/σ_r) · U_rᵀ · B
  const UtB = mat(rank, B.cols);
  for (let r = 0; r < rank; r++) {
    const inv = 1 / s[r];
    for (let i = 0; i < U.rows; i++) {
      const u = U.data[i * U.cols + r] * inv;
      if (u === 0) continue;
      for (let j = 0; j < B.cols; j++) UtB.data[r * B.cols + j] += u * B.data[i * B.cols + j];
    }
  }
  const X = mat(A.cols, B.cols);
  for (let i = 0; i < A.cols; i++) {
    for (let r = 0; r < rank; r++) {
      const v = V.data[i * V.cols + r];
      for (let j = 0; j < B.cols; j++) X.data[i * B.cols + j] += v * UtB.data[r * B.cols + j];
    }
  }
  return { X, rank, singularValues: s };
}

// ------------------------------------------------------------------------------------------------------------------
// Cholesky and LU

/** Lower-triangular L with A = L·Lᵀ for a symmetric positive definite A (reads the lower triangle). */
export function cholesky(A: Mat): Mat {
  const n = requireSquare(A, 'cholesky');
  const L = mat(n, n);
  for (let j = 0; j < n; j++) {
    let diag = A.data[j * n + j];
    for (let k = 0; k < j; k++) diag -= L.data[j * n + k] * L.data[j * n + k];
    if (!(diag > 0)) {
      throw new Error(`solve/linalg.ts: cholesky: the matrix is not positive definite (pivot ${j} is ${diag}); add a ridge or use pinvSolve`);
    }
    const ljj = Math.sqrt(diag);
    L.data[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let v = A.data[i * n + j];
      for (let k = 0; k < j; k++) v -= L.data[i * n + k] * L.data[j * n + k];
      L.data[i * n + j] = v / ljj;
    }
  }
  return L;
}

/** Solves (L·Lᵀ)X = B given the Cholesky factor L. */
export function choleskySolve(L: Mat, B: Mat): Mat {
  const n = requireSquare(L, 'choleskySolve');
  if (B.rows !== n) throw new Error(`solve/linalg.ts: choleskySolve with a ${n}×${n} factor and ${B.rows} right-hand rows`);
  const m = B.cols;
  const X = mat(n, m, B.data);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < i; k++) {
      const l = L.data[i * n + k];
      for (let j = 0; j < m; j++) X.data[i * m + j] -= l * X.data[k * m + j];
    }
    const inv = 1 / L.data[i * n + i];
    for (let j = 0; j < m; j++) X.data[i * m + j] *= inv;
  }
  for (let i = n - 1; i >= 0; i--) {
    for (let k = i + 1; k < n; k++) {
      const l = L.data[k * n + i];
      for (let j = 0; j < m; j++) X.data[i * m + j] -= l * X.data[k * m + j];
    }
    const inv = 1 / L.data[i * n + i];
    for (let j = 0; j < m; j++) X.data[i * m + j] *= inv;
  }
  return X;
}

/** Solves A·X = B by LU decomposition with partial (row) pivoting. Throws on an exactly singular pivot. */
export function luSolve(A: Mat, B: Mat): Mat {
  const n = requireSquare(A, 'luSolve');
  if (B.rows !== n) throw new Error(`solve/linalg.ts: luSolve of a ${n}×${n} system with ${B.rows} right-hand rows`);
  const m = B.cols;
  const LU = Float64Array.from(A.data);
  const X = Float64Array.from(B.data);
  const swapRows = (M: Float64Array, w: number, a: number, b: number): void => {
    for (let j = 0; j < w; j++) {
      const t = M[a * w + j];
      M[a * w + j] = M[b * w + j];
      M[b * w + j] = t;
    }
  };
  for (let k = 0; k < n; k++) {
    let piv = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(LU[i * n + k]) > Math.abs(LU[piv * n + k])) piv = i;
    if (LU[piv * n + k] === 0) throw new Error(`solve/linalg.ts: luSolve: the matrix is singular (column ${k} has no pivot); use pinvSolve`);
    if (piv !== k) {
      swapRows(LU, n, piv, k);
      swapRows(X, m, piv, k);
    }
    const pivot = LU[k * n + k];
    for (let i = k + 1; i < n; i++) {
      const l = (LU[i * n + k] /= pivot);
      if (l === 0) continue;
      for (let j = k + 1; j < n; j++) LU[i * n + j] -= l * LU[k * n + j];
      for (let j = 0; j < m; j++) X[i * m + j] -= l * X[k * m + j];
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    for (let k = i + 1; k < n; k++) {
      const u = LU[i * n + k];
      for (let j = 0; j < m; j++) X[i * m + j] -= u * X[k * m + j];
    }
    const inv = 1 / LU[i * n + i];
    for (let j = 0; j < m; j++) X[i * m + j] *= inv;
  }
  return { rows: n, cols: m, data: X };
}
