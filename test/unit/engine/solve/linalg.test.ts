import { strict as assert } from 'node:assert';
import {
  Mat,
  cholesky,
  choleskySolve,
  identity,
  luSolve,
  mat,
  matMul,
  matTMul,
  pinvSolve,
  sigmaMax,
  svd,
  symEig,
  symmetricSvd,
  transpose,
} from '../../../../src/engine/solve/linalg';
import { rng } from './fixtures';

function randomMat(rows: number, cols: number, seed: number): Mat {
  const r = rng(seed);
  return mat(rows, cols, Array.from({ length: rows * cols }, r));
}

function maxDiff(A: Mat, B: Mat): number {
  assert.equal(A.rows, B.rows);
  assert.equal(A.cols, B.cols);
  let m = 0;
  for (let i = 0; i < A.data.length; i++) m = Math.max(m, Math.abs(A.data[i] - B.data[i]));
  return m;
}

function scaleCols(A: Mat, s: ArrayLike<number>): Mat {
  const B = mat(A.rows, A.cols, A.data);
  for (let i = 0; i < A.rows; i++) for (let j = 0; j < A.cols; j++) B.data[i * A.cols + j] *= s[j];
  return B;
}

/** U·diag(s)·Vᵀ */
function recompose(U: Mat, s: ArrayLike<number>, V: Mat): Mat {
  return matMul(scaleCols(U, s), transpose(V));
}

describe('solve/linalg', () => {
  describe('symEig', () => {
    it('finds the eigenpairs of [[2,1],[1,2]] (3 along (1,1)/√2, 1 along (1,−1)/√2)', () => {
      const { values, vectors } = symEig(mat(2, 2, [2, 1, 1, 2]));
      assert.ok(Math.abs(values[0] - 3) < 1e-14 && Math.abs(values[1] - 1) < 1e-14, `values ${values}`);
      const v0 = [vectors.data[0], vectors.data[2]];
      assert.ok(Math.abs(Math.abs(v0[0]) - Math.SQRT1_2) < 1e-14 && Math.abs(v0[0] - v0[1]) < 1e-14);
    });

    it('reconstructs random symmetric matrices (n = 1, 7, 60) as V·Λ·Vᵀ to 1e-10 with orthonormal V', () => {
      for (const [n, seed] of [[1, 1], [7, 2], [60, 3]]) {
        const R = randomMat(n, n, seed);
        const A = matMul(R, transpose(R));
        for (let i = 0; i < n; i++) A.data[i * n + i] -= 1; // indefinite
        const { values, vectors } = symEig(A);
        assert.ok(maxDiff(recompose(vectors, values, vectors), A) < 1e-10, `n=${n}`);
        assert.ok(maxDiff(matTMul(vectors, vectors), identity(n)) < 1e-10);
        for (let i = 1; i < n; i++) assert.ok(values[i - 1] >= values[i], 'descending');
      }
    });

    it('handles a rank-deficient matrix with repeated zero eigenvalues', () => {
      const R = randomMat(10, 3, 4);
      const A = matMul(R, transpose(R)); // rank 3
      const { values, vectors } = symEig(A);
      for (let i = 3; i < 10; i++) assert.ok(Math.abs(values[i]) < 1e-12, `λ${i}=${values[i]}`);
      assert.ok(maxDiff(recompose(vectors, values, vectors), A) < 1e-12);
    });
  });

  describe('svd', () => {
    it('finds σ = 3√5 and √5 for [[3,0],[4,5]]', () => {
      const { s } = svd(mat(2, 2, [3, 0, 4, 5]));
      assert.ok(Math.abs(s[0] - 3 * Math.sqrt(5)) < 1e-13 && Math.abs(s[1] - Math.sqrt(5)) < 1e-13, `${s}`);
    });

    it('reconstructs random tall, wide and square matrices as U·Σ·Vᵀ to 1e-10 with orthonormal factors', () => {
      for (const [m, n, seed] of [[9, 4, 5], [4, 9, 6], [30, 30, 7]]) {
        const A = randomMat(m, n, seed);
        const { U, s, V } = svd(A);
        const k = Math.min(m, n);
        assert.equal(s.length, k);
        assert.ok(maxDiff(recompose(U, s, V), A) < 1e-10, `${m}×${n}`);
        assert.ok(maxDiff(matTMul(U, U), identity(k)) < 1e-10);
        assert.ok(maxDiff(matTMul(V, V), identity(k)) < 1e-10);
        for (let i = 1; i < k; i++) assert.ok(s[i - 1] >= s[i] && s[i] >= 0);
      }
    });

    it('agrees with the eigenvalue route on a symmetric indefinite matrix', () => {
      const R = randomMat(12, 12, 8);
      const A = matMul(R, transpose(R));
      for (let i = 0; i < 12; i++) A.data[i * 12 + i] -= 2;
      const a = svd(A);
      const b = symmetricSvd(A);
      for (let i = 0; i < 12; i++) assert.ok(Math.abs(a.s[i] - b.s[i]) < 1e-10);
      assert.ok(maxDiff(recompose(b.U, b.s, b.V), A) < 1e-10);
      assert.ok(Math.abs(sigmaMax(A) - a.s[0]) < 1e-10);
    });
  });

  describe('pinvSolve', () => {
    it('solves a nonsingular system exactly and reports full rank', () => {
      const A = randomMat(6, 6, 9);
      const xTrue = randomMat(6, 2, 10);
      const { X, rank } = pinvSolve(A, matMul(A, xTrue));
      assert.equal(rank, 6);
      assert.ok(maxDiff(X, xTrue) < 1e-10);
    });

    it('returns the minimum-norm least-squares solution of a rank-deficient system and its numerical rank', () => {
      // A = F·Fᵀ with F 8×3: rank 3. Minimum-norm solution lies in the column space of A and satisfies the normal equations.
      const F = randomMat(8, 3, 11);
      const A = matMul(F, transpose(F));
      const b = randomMat(8, 1, 12);
      const { X, rank } = pinvSolve(A, b);
      assert.equal(rank, 3);
      // normal equations Aᵀ(Ax − b) = 0
      const r = matMul(A, X);
      for (let i = 0; i < 8; i++) r.data[i] -= b.data[i];
      assert.ok(Math.max(...matTMul(A, r).data.map(Math.abs)) < 1e-10);
      // x ∈ range(F): x = F·c with c = (FᵀF)⁻¹Fᵀx reproduces x
      const c = choleskySolve(cholesky(matTMul(F, F)), matTMul(F, X));
      assert.ok(maxDiff(matMul(F, c), X) < 1e-10);
    });

    it('treats singular values below rcond·σ_max as zero', () => {
      const A = mat(2, 2, [1, 0, 0, 1e-9]);
      assert.equal(pinvSolve(A, mat(2, 1, [1, 1])).rank, 2);
      const cut = pinvSolve(A, mat(2, 1, [1, 1]), { rcond: 1e-6 });
      assert.equal(cut.rank, 1);
      assert.deepEqual(Array.from(cut.X.data), [1, 0]);
    });

    it('solves nonsymmetric rectangular systems through the Jacobi SVD', () => {
      const A = randomMat(10, 4, 13);
      const xTrue = randomMat(4, 1, 14);
      const { X, rank } = pinvSolve(A, matMul(A, xTrue));
      assert.equal(rank, 4);
      assert.ok(maxDiff(X, xTrue) < 1e-10);
    });
  });

  describe('cholesky and luSolve', () => {
    it('factors [[4,2],[2,3]] as L = [[2,0],[1,√2]]', () => {
      const L = cholesky(mat(2, 2, [4, 2, 2, 3]));
      assert.deepEqual(Array.from(L.data).slice(0, 3), [2, 0, 1]);
      assert.ok(Math.abs(L.data[3] - Math.SQRT2) < 1e-15);
    });

    it('solves random SPD systems and reconstructs A = L·Lᵀ', () => {
      const R = randomMat(20, 20, 15);
      const A = matMul(R, transpose(R));
      for (let i = 0; i < 20; i++) A.data[i * 20 + i] += 1;
      const L = cholesky(A);
      assert.ok(maxDiff(matMul(L, transpose(L)), A) < 1e-10);
      const xTrue = randomMat(20, 3, 16);
      assert.ok(maxDiff(choleskySolve(L, matMul(A, xTrue)), xTrue) < 1e-10);
    });

    it('refuses a matrix that is not positive definite, saying what to do', () => {
      assert.throws(() => cholesky(mat(2, 2, [1, 2, 2, 1])), /not positive definite.*ridge/);
    });

    it('LU-solves a system that needs pivoting ([[0,1],[1,0]]) and random ones', () => {
      assert.deepEqual(Array.from(luSolve(mat(2, 2, [0, 1, 1, 0]), mat(2, 1, [3, 5])).data), [5, 3]);
      const A = randomMat(25, 25, 17);
      const xTrue = randomMat(25, 2, 18);
      assert.ok(maxDiff(luSolve(A, matMul(A, xTrue)), xTrue) < 1e-9);
      assert.throws(() => luSolve(mat(2, 2, [1, 2, 2, 4]), mat(2, 1, [1, 1])), /singular/);
    });
  });
});
