/*
 * exp on four lanes for the kernels that need it (gelu.c, softmax_cross_entropy.c): Cody–Waite range reduction and
 * the Cephes expf polynomial, relative error ~1e-7. Also the definitions those files share.
 */
#ifndef NTK_EXP_SIMD_H
#define NTK_EXP_SIMD_H
#include <wasm_simd128.h>

typedef float f32;

#define SPLAT(x) wasm_f32x4_splat(x)

/* exp(x) for x ≤ 0 (below −87 it returns 0 as expf underflows). */
static inline v128_t exp_nonpositive(v128_t x) {
  x = wasm_f32x4_max(x, SPLAT(-87.3f));
  v128_t n = wasm_f32x4_nearest(wasm_f32x4_mul(x, SPLAT(1.44269504088896341f)));
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(n, SPLAT(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(n, SPLAT(-2.12194440e-4f)));
  v128_t p = SPLAT(1.9875691500e-4f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), SPLAT(1.3981999507e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), SPLAT(8.3334519073e-3f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), SPLAT(4.1665795894e-2f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), SPLAT(1.6666665459e-1f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), SPLAT(5.0000001201e-1f));
  p = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(p, r), r), r), SPLAT(1.0f));
  /* 2^n: n + 127 in the exponent bits (n ≥ −126 here, so no subnormals) */
  v128_t e = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  return wasm_f32x4_mul(p, e);
}

#endif
