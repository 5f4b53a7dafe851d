/*
 * A batched float32 matrix product for tfjs's wasm backend, compiled to a small WebAssembly module that shares the
 * backend's memory, so tensors are read and written in place (no copies).
 *
 * Why: tfjs-backend-wasm 4.22 hands only batch-1, un-transposed products to XNNPACK (~29 GFLOP/s here); batched
 * products (attention's Q·Kᵀ and P·V and their gradients) fall back to a naive loop at ~2 GFLOP/s. This kernel runs
 * every BatchMatMul at 30-43 GFLOP/s on this machine (bench/RESULTS.md), batched or not, transposed or not.
 *
 * Method: GotoBLAS-style. K is cut into blocks of 256; per block, op(B) is packed into zero-padded panels of 8
 * columns ([256, 8] each, contiguous), A is walked in blocks of 64 rows, and a 4×8 register tile (8 SIMD
 * accumulators) runs over the block and adds into C. op(A) with transposeA is transposed into scratch first.
 *
 * Constraints that keep it safe inside someone else's memory: no static data, no stack (no arrays, no address-taken
 * locals), no libc. The build script (scripts/build-wasm-kernels.mjs) checks the module has no data segments
 * and never touches the stack pointer.
 *
 * Two builds (scripts/build-wasm-kernels.mjs, clang ≥ 16): SIMD128, and with -mrelaxed-simd -DNTK_FMA the
 * same code with fused multiply-adds (relaxed SIMD: on by default from Node 22, behind a V8 flag in Node 20, which
 * index.ts sets; 15-30 % faster here). Flags: --target=wasm32 -O3 -msimd128 -fno-builtin -ffreestanding -nostdlib
 * -Wl,--no-entry -Wl,--import-memory -Wl,--strip-all.
 */
#include <wasm_simd128.h>

typedef float f32;
typedef unsigned long size_t;

/* acc + x·y per lane: one fused multiply-add with relaxed SIMD (the FMA build), else a multiply and an add. */
#ifdef NTK_FMA
#define MADD(x, y, acc) wasm_f32x4_relaxed_madd(x, y, acc)
#else
#define MADD(x, y, acc) wasm_f32x4_add(wasm_f32x4_mul(x, y), acc)
#endif /* 32-bit on wasm32: index arithmetic wraps like the pointers do, never signed UB */
#define NR 8   /* columns per packed panel of B */
#define MC 64  /* rows of A per block, so a block of A stays in cache while the panels stream past */
#define KC 256 /* depth per block: a packed [KC, N] block of B and a row block of A stay in cache */

/* Packs rows [k0, k0 + kc) of op(B) [K, N] into ceil(N/8) panels of [kc, 8] (zero-padded): panel p holds columns
   8p..8p+7. B is stored [K, N], or [N, K] when transB. */
static void pack_b(int kc, int k0, int K, int N, const f32 *B, int transB, f32 *P) {
  for (int j0 = 0; j0 < N; j0 += NR) {
    int nv = N - j0 < NR ? N - j0 : NR;
    f32 *p = P + (size_t)j0 * kc;
    if (!transB) {
      for (int k = k0; k < k0 + kc; k++) {
        const f32 *b = B + (size_t)k * N + j0;
        if (nv == NR) { wasm_v128_store(p, wasm_v128_load(b)); wasm_v128_store(p + 4, wasm_v128_load(b + 4)); }
        else { for (int jj = 0; jj < NR; jj++) p[jj] = jj < nv ? b[jj] : 0.0f; }
        p += NR;
      }
    } else {
      for (int jj = 0; jj < NR; jj++) {
        const f32 *b = B + (size_t)(j0 + jj) * K + k0;
        for (int k = 0; k < kc; k++) p[k * NR + jj] = jj < nv ? b[k] : 0.0f;
      }
    }
  }
}

/* Stores the first nv (≤ 4) lanes of v at c. */
static inline void store_lanes(f32 *c, v128_t v, int nv) {
  if (nv >= 4) { wasm_v128_store(c, v); return; }
  if (nv > 0) c[0] = wasm_f32x4_extract_lane(v, 0);
  if (nv > 1) c[1] = wasm_f32x4_extract_lane(v, 1);
  if (nv > 2) c[2] = wasm_f32x4_extract_lane(v, 2);
}

/* Loads the first nv (≤ 4) floats at c, the other lanes 0. */
static inline v128_t load_lanes(const f32 *c, int nv) {
  if (nv >= 4) return wasm_v128_load(c);
  return wasm_f32x4_make(nv > 0 ? c[0] : 0.0f, nv > 1 ? c[1] : 0.0f, nv > 2 ? c[2] : 0.0f, 0.0f);
}

static inline void store_row(f32 *c, v128_t lo, v128_t hi, int nv) {
  store_lanes(c, lo, nv);
  if (nv > 4) store_lanes(c + 4, hi, nv - 4);
}

/* C[M, N] (ldc = N) = (accumulate ? C : 0) + A[M, kc] (lda) · packed B [kc, N]. */
static void gemm_packed(int M, int N, int kc, const f32 *A, int lda, const f32 *P, f32 *C, int accumulate) {
  for (int i0 = 0; i0 < M; i0 += MC) {
    int i1 = i0 + MC < M ? i0 + MC : M;
    for (int j0 = 0; j0 < N; j0 += NR) {
      int nv = N - j0 < NR ? N - j0 : NR, nh = nv - 4;
      const f32 *panel = P + (size_t)j0 * kc;
      int i = i0;
      for (; i + 4 <= i1; i += 4) {
        const f32 *a0 = A + (size_t)i * lda, *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
        f32 *c = C + (size_t)i * N + j0;
        v128_t c00 = wasm_f32x4_splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        if (accumulate) {
          c00 = load_lanes(c, nv); c01 = load_lanes(c + 4, nh);
          c10 = load_lanes(c + N, nv); c11 = load_lanes(c + N + 4, nh);
          c20 = load_lanes(c + 2 * N, nv); c21 = load_lanes(c + 2 * N + 4, nh);
          c30 = load_lanes(c + 3 * N, nv); c31 = load_lanes(c + 3 * N + 4, nh);
        }
        const f32 *b = panel;
        for (int k = 0; k < kc; k++, b += NR) {
          v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
          v128_t x0 = wasm_f32x4_splat(a0[k]), x1 = wasm_f32x4_splat(a1[k]);
          v128_t x2 = wasm_f32x4_splat(a2[k]), x3 = wasm_f32x4_splat(a3[k]);
          c00 = MADD(x0, b0, c00); c01 = MADD(x0, b1, c01);
          c10 = MADD(x1, b0, c10); c11 = MADD(x1, b1, c11);
          c20 = MADD(x2, b0, c20); c21 = MADD(x2, b1, c21);
          c30 = MADD(x3, b0, c30); c31 = MADD(x3, b1, c31);
        }
        store_row(c, c00, c01, nv); c += N;
        store_row(c, c10, c11, nv); c += N;
        store_row(c, c20, c21, nv); c += N;
        store_row(c, c30, c31, nv);
      }
      for (; i < i1; i++) {
        const f32 *a0 = A + (size_t)i * lda;
        f32 *c = C + (size_t)i * N + j0;
        v128_t c00 = wasm_f32x4_splat(0), c01 = c00;
        if (accumulate) { c00 = load_lanes(c, nv); c01 = load_lanes(c + 4, nh); }
        const f32 *b = panel;
        for (int k = 0; k < kc; k++, b += NR) {
          v128_t x0 = wasm_f32x4_splat(a0[k]);
          c00 = MADD(x0, wasm_v128_load(b), c00);
          c01 = MADD(x0, wasm_v128_load(b + 4), c01);
        }
        store_row(c, c00, c01, nv);
      }
    }
  }
}

/* dst[C, R] = src[R, C]ᵀ, in 16×16 blocks. */
static void transpose(int R, int Cc, const f32 *src, f32 *dst) {
  for (int r0 = 0; r0 < R; r0 += 16)
    for (int c0 = 0; c0 < Cc; c0 += 16) {
      int r1 = r0 + 16 < R ? r0 + 16 : R, c1 = c0 + 16 < Cc ? c0 + 16 : Cc;
      for (int r = r0; r < r1; r++)
        for (int c = c0; c < c1; c++) dst[(size_t)c * R + r] = src[(size_t)r * Cc + c];
    }
}

/*
 * tfjs's BatchMatMul: for b in [0, batch): C[b] = op(A[b mod batchA]) · op(B[b mod batchB]) with op(A) [M, K],
 * op(B) [K, N], C [batch, M, N]. batchA and batchB divide batch: a side broadcasts over the leading batch dimensions
 * it lacks (batchA = 1: one matrix for all). A's matrices are stored [M, K] each, or [K, M] when transA; B's
 * [K, N], or [N, K] when transB; all contiguous.
 * scratch: min(K, 256)·(N rounded up to 8) floats for the packed B, plus M·K when transA.
 */
__attribute__((export_name("batch_matmul")))
void batch_matmul(int batch, int M, int N, int K,
                  const f32 *A, int batchA, int transA, const f32 *B, int batchB, int transB,
                  f32 *C, f32 *scratch) {
  int Np = (N + NR - 1) / NR * NR;
  int KCmax = K < KC ? K : KC;
  f32 *packB = scratch, *packA = scratch + (size_t)KCmax * Np;
  int lastA = -1, lastB = -1;
  for (int b = 0; b < batch; b++) {
    int ia = b % batchA, ib = b % batchB;
    const f32 *a = A + (size_t)ia * M * K, *bb = B + (size_t)ib * K * N;
    f32 *c = C + (size_t)b * M * N;
    if (transA) { if (ia != lastA) transpose(K, M, a, packA); a = packA; }
    lastA = ia;
    if (K == 0) { gemm_packed(M, N, 0, a, 0, packB, c, 0); continue; } /* zeros */
    for (int k0 = 0; k0 < K; k0 += KC) {
      int kc = K - k0 < KC ? K - k0 : KC;
      /* the same B matrix with a single K block stays packed from the previous batch entry */
      if (ib != lastB || K > KC) pack_b(kc, k0, K, N, bb, transB, packB);
      gemm_packed(M, N, kc, a + k0, K, packB, c, k0 > 0);
    }
    lastB = ib;
  }
}
