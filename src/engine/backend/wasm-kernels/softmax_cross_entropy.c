/*
 * Softmax cross-entropy over the rows of logits z [M, V] (the MLM decoder's M masked rows over the vocabulary), for
 * finetune/losses.ts on the wasm backend:
 *   softmax_row_stats:      max_m = max_v z[m, v],  sum_m = Σ_v exp(z[m, v] − max_m)        (two passes over z)
 *   softmax_xent_gradient:  dz[m, v] = scale · (exp(z[m, v] − lse_m) − [v = y_m])          (one pass)
 * where lse_m = max_m + log sum_m is computed by the caller (no libc log here). tfjs composes the same from about a
 * dozen passes over [M, V] (log-softmax, one-hot, products, broadcasts), a fifth of a pre-training step at V = 12,000.
 * Same constraints as batch_matmul.c: no stack, no static data, no libc.
 */
#include "exp_simd.h"

__attribute__((export_name("softmax_row_stats")))
void softmax_row_stats(const f32 *z, int M, int V, f32 *maxOut, f32 *sumOut) {
  for (int m = 0; m < M; m++) {
    const f32 *p = z + (long)m * V;
    f32 mx = p[0];
    int v = 0;
    if (V >= 4) {
      v128_t a = wasm_v128_load(p);
      for (v = 4; v + 4 <= V; v += 4) a = wasm_f32x4_pmax(a, wasm_v128_load(p + v));
      f32 l0 = wasm_f32x4_extract_lane(a, 0), l1 = wasm_f32x4_extract_lane(a, 1), l2 = wasm_f32x4_extract_lane(a, 2), l3 = wasm_f32x4_extract_lane(a, 3);
      mx = l0 > l1 ? l0 : l1;
      mx = mx > l2 ? mx : l2;
      mx = mx > l3 ? mx : l3;
    }
    for (; v < V; v++) mx = p[v] > mx ? p[v] : mx;
    v128_t mv = SPLAT(mx), s = SPLAT(0);
    for (v = 0; v + 4 <= V; v += 4) s = wasm_f32x4_add(s, exp_nonpositive(wasm_f32x4_sub(wasm_v128_load(p + v), mv)));
    f32 sum = (wasm_f32x4_extract_lane(s, 0) + wasm_f32x4_extract_lane(s, 1)) + (wasm_f32x4_extract_lane(s, 2) + wasm_f32x4_extract_lane(s, 3));
    for (; v < V; v++) sum += wasm_f32x4_extract_lane(exp_nonpositive(SPLAT(p[v] - mx)), 0);
    maxOut[m] = mx;
    sumOut[m] = sum;
  }
}

__attribute__((export_name("softmax_xent_gradient")))
void softmax_xent_gradient(const f32 *z, const f32 *lse, const int *labels, int M, int V, f32 scale, f32 *dz) {
  v128_t sc = SPLAT(scale);
  for (int m = 0; m < M; m++) {
    const f32 *p = z + (long)m * V;
    f32 *q = dz + (long)m * V;
    v128_t l = SPLAT(lse[m]);
    int v = 0;
    for (; v + 4 <= V; v += 4) wasm_v128_store(q + v, wasm_f32x4_mul(exp_nonpositive(wasm_f32x4_sub(wasm_v128_load(p + v), l)), sc));
    for (; v < V; v++) q[v] = wasm_f32x4_extract_lane(exp_nonpositive(SPLAT(p[v] - lse[m])), 0) * scale;
    q[labels[m]] -= scale;
  }
}
