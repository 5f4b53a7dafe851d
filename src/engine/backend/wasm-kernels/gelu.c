/*
 * GELU and its derivative in one pass, for the recording model's forward (model/recording.ts):
 *   y = ½u(1 + erf(u/√2)),   y' = ½(1 + erf(u/√2)) + u·φ(u),   φ(u) = exp(−u²/2)/√(2π).
 * tfjs needs about ten elementwise passes over [rows, intermediate] for the two (22 ms for 1 M values here); this is
 * one SIMD pass. erf is Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7, the formula tfjs's own erf uses), whose
 * exp(−x²) at x = u/√2 is the exp(−u²/2) that φ needs: one exponential serves both. exp is exp_simd.h's. Same constraints as batch_matmul.c: no stack,
 * no static data, no libc.
 */
#include "exp_simd.h"

/* exp(−u²/2): the Gaussian factor of φ(u), and exp(−x²) at x = u/√2 for erf. */
static inline v128_t exp_half_square(v128_t u) {
  return exp_nonpositive(wasm_f32x4_mul(wasm_f32x4_mul(u, u), SPLAT(-0.5f)));
}

/* 1 + erf(u/√2), given ex = exp(−u²/2) (Abramowitz & Stegun 7.1.26 on |u|/√2; erf is odd). */
static inline v128_t one_plus_erf(v128_t u, v128_t ex) {
  v128_t ax = wasm_f32x4_abs(wasm_f32x4_mul(u, SPLAT(0.70710678118654752f)));
  v128_t t = wasm_f32x4_div(SPLAT(1.0f), wasm_f32x4_add(SPLAT(1.0f), wasm_f32x4_mul(SPLAT(0.3275911f), ax)));
  v128_t q = SPLAT(1.061405429f);
  q = wasm_f32x4_add(wasm_f32x4_mul(q, t), SPLAT(-1.453152027f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, t), SPLAT(1.421413741f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, t), SPLAT(-0.284496736f));
  q = wasm_f32x4_add(wasm_f32x4_mul(q, t), SPLAT(0.254829592f));
  v128_t erfAbs = wasm_f32x4_sub(SPLAT(1.0f), wasm_f32x4_mul(wasm_f32x4_mul(q, t), ex));
  return wasm_f32x4_add(SPLAT(1.0f), wasm_v128_or(erfAbs, wasm_v128_and(u, wasm_i32x4_splat((int)0x80000000))));
}

static inline v128_t gelu(v128_t u, v128_t onePlus) { return wasm_f32x4_mul(wasm_f32x4_mul(u, SPLAT(0.5f)), onePlus); }

static inline v128_t gelu_grad(v128_t u, v128_t onePlus, v128_t ex) {
  return wasm_f32x4_add(wasm_f32x4_mul(onePlus, SPLAT(0.5f)), wasm_f32x4_mul(u, wasm_f32x4_mul(ex, SPLAT(0.39894228040143268f))));
}

/* y[i] = GELU(u[i]), dy[i] = GELU'(u[i]) for i < n (erf form). */
__attribute__((export_name("gelu_with_grad")))
void gelu_with_grad(const f32 *u, f32 *y, f32 *dy, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t x = wasm_v128_load(u + i), ex = exp_half_square(x), onePlus = one_plus_erf(x, ex);
    wasm_v128_store(y + i, gelu(x, onePlus));
    wasm_v128_store(dy + i, gelu_grad(x, onePlus, ex));
  }
  for (; i < n; i++) { /* the last n mod 4 values, one lane each */
    v128_t x = wasm_f32x4_splat(u[i]), ex = exp_half_square(x), onePlus = one_plus_erf(x, ex);
    y[i] = wasm_f32x4_extract_lane(gelu(x, onePlus), 0);
    dy[i] = wasm_f32x4_extract_lane(gelu_grad(x, onePlus, ex), 0);
  }
}
