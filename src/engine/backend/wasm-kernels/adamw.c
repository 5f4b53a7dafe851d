/*
 * One AdamW update of a parameter tensor in one pass (finetune/optimizers.ts, adamWStep), with the same float32
 * operations in the same order as its tf-op form:
 *   m' = β1·m + (1−β1)·g;   v' = β2·v + (1−β2)·g²;   θ' = θ − (m' / (√v' + ε))·s;   θ' ← θ' − θ'·d  (d > 0 only)
 * where s is the bias-corrected step size and d = η·λ the decoupled weight decay. tfjs takes a dozen elementwise
 * kernels per parameter for this (~8% of a pre-training step of ntk-mini). Same constraints as batch_matmul.c.
 */
#include <wasm_simd128.h>

typedef float f32;

__attribute__((export_name("adamw_update")))
void adamw_update(const f32 *p, const f32 *g, const f32 *m, const f32 *v, int n, f32 beta1, f32 oneMinusBeta1,
                  f32 beta2, f32 oneMinusBeta2, f32 eps, f32 stepSize, f32 decay, f32 *pOut, f32 *mOut, f32 *vOut) {
  v128_t b1 = wasm_f32x4_splat(beta1), c1 = wasm_f32x4_splat(oneMinusBeta1), b2 = wasm_f32x4_splat(beta2);
  v128_t c2 = wasm_f32x4_splat(oneMinusBeta2), ep = wasm_f32x4_splat(eps), s = wasm_f32x4_splat(stepSize), d = wasm_f32x4_splat(decay);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t gi = wasm_v128_load(g + i);
    v128_t mi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(m + i), b1), wasm_f32x4_mul(gi, c1));
    v128_t vi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(v + i), b2), wasm_f32x4_mul(wasm_f32x4_mul(gi, gi), c2));
    v128_t pi = wasm_f32x4_sub(wasm_v128_load(p + i), wasm_f32x4_mul(wasm_f32x4_div(mi, wasm_f32x4_add(wasm_f32x4_sqrt(vi), ep)), s));
    if (decay > 0) pi = wasm_f32x4_sub(pi, wasm_f32x4_mul(pi, d));
    wasm_v128_store(mOut + i, mi);
    wasm_v128_store(vOut + i, vi);
    wasm_v128_store(pOut + i, pi);
  }
  for (; i < n; i++) {
    f32 gi = g[i];
    f32 mi = m[i] * beta1 + gi * oneMinusBeta1;
    f32 vi = v[i] * beta2 + (gi * gi) * oneMinusBeta2;
    f32 pi = p[i] - (mi / (wasm_f32x4_extract_lane(wasm_f32x4_sqrt(wasm_f32x4_splat(vi)), 0) + eps)) * stepSize;
    if (decay > 0) pi = pi - pi * decay;
    mOut[i] = mi;
    vOut[i] = vi;
    pOut[i] = pi;
  }
}
