/*
 * The structured eNTK product of one dense site (kernel/structured-features.ts), fused, for tfjs's wasm backend.
 *
 * For evaluated examples e (rows s) and train examples n (rows t), classes c' (evaluated) and c (train):
 *   K[c', e, c, n] = Σ_{s∈e} Σ_{t∈n} (a_s·a_t)(δ_{c',s}·δ_{c,t})
 * The tf-op form builds the cotangent Gram matrix δE·δTᵀ ([C·nE, C·nT], C² products per token pair) and multiplies
 * it by the activation Gram matrix A = aE·aTᵀ. This kernel re-associates the same sum as
 *   K[c', e, c, n] = Σ_{t∈n} Σ_o δT[c, t, o] · Q[t, o],   Q[t, o] = Σ_{s∈e} A[s, t] δE[c', s, o]   (per e, c')
 * so the large product runs once per evaluated class (C products per token pair, half the flops for C = 2), and Q
 * is never stored: each 4×8 register tile of Q (4 train rows × 8 outputs, over the T_e rows of one evaluated
 * example) is multiplied into δT as soon as it is complete.
 * Blocking: the outputs o are taken in chunks of OC. Per chunk the evaluated side's δ is packed into panels of 8
 * outputs ([T_e, 8] per (e, c'), contiguous, zero-padded; C·nE·OC floats, meant to stay in L2), and every block of 4
 * train rows then meets every (e, c') while its own δ rows of the chunk (4·C·OC floats) stay in L1. So the large
 * train side is read from memory once per call, not once per evaluated example and class. Partial sums per
 * (tile row, c) live in `scratch` (4·C vectors) and are added into the output by the row's train example.
 * Speed (bench/RESULTS.md): 70–90 % of our matMul's rate in the same process on a SmolLM2 gate/up site (8 evaluated
 * × 32 train prompts, 3072 outputs), i.e. the C² → C saving is mostly kept; the inner dimension is only T_e long.
 *
 * Same constraints as batch_matmul.c: no static data, no stack, no libc.
 */
#include <wasm_simd128.h>

typedef float f32;
typedef unsigned long size_t;

#ifdef NTK_FMA
#define MADD(x, y, acc) wasm_f32x4_relaxed_madd(x, y, acc)
#else
#define MADD(x, y, acc) wasm_f32x4_add(wasm_f32x4_mul(x, y), acc)
#endif

/*
 * Copies outputs [o0, o0 + oc) of train rows t..t+rows-1, every class, from dT [C, nT, width] to D (row i of class c
 * at D + (c·4 + i)·OC, zero-padded to ocp): contiguous, and padded so the tiles never need partial loads. In place
 * the rows are width floats apart (SmolLM2's 3072 outputs: 12 KiB, a multiple of 4 KiB, so they share L1 sets).
 */
static void pack_rows(const f32 *dT, int width, int nT, int t, int rows, int C, int o0, int oc, int ocp, f32 *D);

static inline f32 hsum(v128_t v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2)
    + wasm_f32x4_extract_lane(v, 3);
}

/*
 * At [nT, nE] (row-major): a_t·a_s for every train row t and evaluated row s.
 * dE [C, nE, width]: δ of the evaluated rows, class-major.    dT [C, nT, width]: δ of the train rows, class-major.
 * eStarts [Be + 1] (int32): the rows of each evaluated example (contiguous, ascending); tOwner [nT] (int32): the
 * train example of each train row, in [0, Nt).
 * out [C, Be, C, Nt]: K[c', e, c, n] at ((c'·Be + e)·C + c)·Nt + n.
 * scratch: 4·C·4 floats (16-byte aligned), then 4·C·OC floats for the current train rows' δ, then C·nE·OC floats for
 * the packed panels of one chunk.
 */
#define OC 128 /* outputs per chunk */

static void pack_rows(const f32 *dT, int width, int nT, int t, int rows, int C, int o0, int oc, int ocp, f32 *D) {
  for (int c = 0; c < C; c++)
    for (int i = 0; i < rows; i++) {
      const f32 *r = dT + ((size_t)c * nT + t + i) * width + o0;
      f32 *d = D + ((size_t)c * 4 + i) * OC;
      int o = 0;
      for (; o + 4 <= oc; o += 4) wasm_v128_store(d + o, wasm_v128_load(r + o));
      for (; o < ocp; o++) d[o] = o < oc ? r[o] : 0.0f;
    }
}

__attribute__((export_name("structured_product")))
void structured_product(int Be, int Nt, int C, int nE, int nT, int width,
                        const f32 *At, const f32 *dE, const f32 *dT, const int *eStarts, const int *tOwner,
                        f32 *out, f32 *scratch) {
  v128_t *part = (v128_t *)scratch; /* part[i·C + c]: row i of the tile, train class c */
  f32 *D = scratch + 16 * C;        /* δT of the current train rows and chunk: row i, class c at D + (c·4 + i)·OC */
  f32 *P = D + 4 * C * OC;          /* the chunk's panels: (c', e) at P + (c'·nE + s0)·ocp, its panel j (8 outputs) at + j·8·Te */
  for (size_t k = 0; k < (size_t)C * Be * C * Nt; k++) out[k] = 0.0f;
  for (int o0 = 0; o0 < width; o0 += OC) {
    int oc = width - o0 < OC ? width - o0 : OC, tiles = (oc + 7) / 8, ocp = tiles * 8;
    for (int c2 = 0; c2 < C; c2++)
      for (int e = 0; e < Be; e++) {
        int s0 = eStarts[e], Te = eStarts[e + 1] - s0;
        f32 *base = P + ((size_t)c2 * nE + s0) * ocp;
        for (int s = 0; s < Te; s++) {
          const f32 *r = dE + ((size_t)c2 * nE + s0 + s) * width + o0;
          for (int j = 0; j < tiles; j++) {
            int nv = oc - 8 * j < 8 ? oc - 8 * j : 8;
            f32 *p = base + (size_t)j * 8 * Te + s * 8;
            if (nv == 8) { wasm_v128_store(p, wasm_v128_load(r + 8 * j)); wasm_v128_store(p + 4, wasm_v128_load(r + 8 * j + 4)); }
            else { for (int k = 0; k < 8; k++) p[k] = k < nv ? r[8 * j + k] : 0.0f; }
          }
        }
      }
    int t = 0;
    for (; t + 4 <= nT; t += 4) {
      const f32 *a0 = At + (size_t)t * nE, *a1 = a0 + nE, *a2 = a1 + nE, *a3 = a2 + nE;
      pack_rows(dT, width, nT, t, 4, C, o0, oc, ocp, D);
      for (int e = 0; e < Be; e++) {
        int s0 = eStarts[e], Te = eStarts[e + 1] - s0;
        for (int c2 = 0; c2 < C; c2++) {
          const f32 *base = P + ((size_t)c2 * nE + s0) * ocp;
          for (int k = 0; k < 4 * C; k++) part[k] = wasm_f32x4_splat(0);
          for (int j = 0; j < tiles; j++) {
            v128_t q00 = wasm_f32x4_splat(0), q01 = q00, q10 = q00, q11 = q00, q20 = q00, q21 = q00, q30 = q00, q31 = q00;
            const f32 *b = base + (size_t)j * 8 * Te;
            for (int s = s0; s < s0 + Te; s++, b += 8) {
              v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
              v128_t x0 = wasm_f32x4_splat(a0[s]), x1 = wasm_f32x4_splat(a1[s]);
              v128_t x2 = wasm_f32x4_splat(a2[s]), x3 = wasm_f32x4_splat(a3[s]);
              q00 = MADD(x0, b0, q00); q01 = MADD(x0, b1, q01);
              q10 = MADD(x1, b0, q10); q11 = MADD(x1, b1, q11);
              q20 = MADD(x2, b0, q20); q21 = MADD(x2, b1, q21);
              q30 = MADD(x3, b0, q30); q31 = MADD(x3, b1, q31);
            }
            /* lanes past nv are 0 in q and in D (both zero-padded) */
            for (int c = 0; c < C; c++) {
              const f32 *d = D + (size_t)c * 4 * OC + 8 * j;
              v128_t *p = part + c;
              p[0] = MADD(q01, wasm_v128_load(d + 4), MADD(q00, wasm_v128_load(d), p[0])); d += OC;
              p[C] = MADD(q11, wasm_v128_load(d + 4), MADD(q10, wasm_v128_load(d), p[C])); d += OC;
              p[2 * C] = MADD(q21, wasm_v128_load(d + 4), MADD(q20, wasm_v128_load(d), p[2 * C])); d += OC;
              p[3 * C] = MADD(q31, wasm_v128_load(d + 4), MADD(q30, wasm_v128_load(d), p[3 * C]));
            }
          }
          f32 *dst = out + ((size_t)c2 * Be + e) * C * Nt; /* [C, Nt] */
          for (int i = 0; i < 4; i++)
            for (int c = 0; c < C; c++) dst[(size_t)c * Nt + tOwner[t + i]] += hsum(part[i * C + c]);
        }
      }
    }
    for (; t < nT; t++) { /* the rows past the last full block of 4, one at a time */
      const f32 *a0 = At + (size_t)t * nE;
      pack_rows(dT, width, nT, t, 1, C, o0, oc, ocp, D);
      for (int e = 0; e < Be; e++) {
        int s0 = eStarts[e], Te = eStarts[e + 1] - s0;
        for (int c2 = 0; c2 < C; c2++) {
          const f32 *base = P + ((size_t)c2 * nE + s0) * ocp;
          for (int c = 0; c < C; c++) part[c] = wasm_f32x4_splat(0);
          for (int j = 0; j < tiles; j++) {
            v128_t q00 = wasm_f32x4_splat(0), q01 = q00;
            const f32 *b = base + (size_t)j * 8 * Te;
            for (int s = s0; s < s0 + Te; s++, b += 8) {
              v128_t x0 = wasm_f32x4_splat(a0[s]);
              q00 = MADD(x0, wasm_v128_load(b), q00); q01 = MADD(x0, wasm_v128_load(b + 4), q01);
            }
            for (int c = 0; c < C; c++) {
              const f32 *d = D + (size_t)c * 4 * OC + 8 * j;
              part[c] = MADD(q01, wasm_v128_load(d + 4), MADD(q00, wasm_v128_load(d), part[c]));
            }
          }
          f32 *dst = out + ((size_t)c2 * Be + e) * C * Nt;
          for (int c = 0; c < C; c++) dst[(size_t)c * Nt + tOwner[t]] += hsum(part[c]);
        }
      }
    }
  }
}
