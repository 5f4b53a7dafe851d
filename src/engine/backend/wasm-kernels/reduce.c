/*
 * Sums of a row-major [rows, cols] matrix over one of its two axes, for the Sum kernel (wasm-sum.ts):
 *   sum_columns: out[j] = Σ_i x[i, j]   (a reduction over leading axes: bias and LayerNorm gradients)
 *   sum_rows:    out[i] = Σ_j x[i, j]   (a reduction over trailing axes: LayerNorm means, softmax sums)
 * tfjs-backend-wasm transposes the input before a reduction over leading axes and then sums with scalar loops
 * (27 ms for a [4096, 512] bias gradient here); these are single SIMD passes. Same constraints as batch_matmul.c:
 * no stack, no static data, no libc.
 */
#include <wasm_simd128.h>

typedef float f32;

__attribute__((export_name("sum_columns")))
void sum_columns(const f32 *x, int rows, int cols, f32 *out) {
  int j = 0;
  /* 16 columns at a time in four registers, down all rows */
  for (; j + 16 <= cols; j += 16) {
    v128_t a0 = wasm_f32x4_splat(0), a1 = a0, a2 = a0, a3 = a0;
    const f32 *p = x + j;
    for (int i = 0; i < rows; i++, p += cols) {
      a0 = wasm_f32x4_add(a0, wasm_v128_load(p));
      a1 = wasm_f32x4_add(a1, wasm_v128_load(p + 4));
      a2 = wasm_f32x4_add(a2, wasm_v128_load(p + 8));
      a3 = wasm_f32x4_add(a3, wasm_v128_load(p + 12));
    }
    wasm_v128_store(out + j, a0);
    wasm_v128_store(out + j + 4, a1);
    wasm_v128_store(out + j + 8, a2);
    wasm_v128_store(out + j + 12, a3);
  }
  for (; j + 4 <= cols; j += 4) {
    v128_t a = wasm_f32x4_splat(0);
    for (int i = 0; i < rows; i++) a = wasm_f32x4_add(a, wasm_v128_load(x + (long)i * cols + j));
    wasm_v128_store(out + j, a);
  }
  for (; j < cols; j++) {
    f32 a = 0;
    for (int i = 0; i < rows; i++) a += x[(long)i * cols + j];
    out[j] = a;
  }
}

__attribute__((export_name("sum_rows")))
void sum_rows(const f32 *x, int rows, int cols, f32 *out) {
  for (int i = 0; i < rows; i++) {
    const f32 *p = x + (long)i * cols;
    v128_t a0 = wasm_f32x4_splat(0), a1 = a0;
    int j = 0;
    for (; j + 8 <= cols; j += 8) {
      a0 = wasm_f32x4_add(a0, wasm_v128_load(p + j));
      a1 = wasm_f32x4_add(a1, wasm_v128_load(p + j + 4));
    }
    for (; j + 4 <= cols; j += 4) a0 = wasm_f32x4_add(a0, wasm_v128_load(p + j));
    a0 = wasm_f32x4_add(a0, a1);
    f32 s = (wasm_f32x4_extract_lane(a0, 0) + wasm_f32x4_extract_lane(a0, 1)) + (wasm_f32x4_extract_lane(a0, 2) + wasm_f32x4_extract_lane(a0, 3));
    for (; j < cols; j++) s += p[j];
    out[i] = s;
  }
}
