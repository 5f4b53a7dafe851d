/**
 * The structured eNTK product of one dense site by structured_product.c on the wasm backend (one pass, C products per
 * token pair instead of the tf-op form's C²; see the C file). Returns undefined on other backends, where
 * kernel/structured-features.ts composes the same sum from tf ops.
 */
import * as tf from '@tensorflow/tfjs';
import { bind, offsetOf, scratchFor, type WasmBackend } from './module';

/**
 * K[c', e, c, n] = Σ_{s∈e} Σ_{t∈n} A[s, t] (δE[c', s]·δT[c, t]) as [C·Be, C·Nt] (row c'·Be + e, column c·Nt + n).
 * At [nT, nE] (a_t·a_s, train rows first), dE [C·nE, out] and dT [C·nT, out] class-major; eCounts / tCounts: the rows
 * of each evaluated / train example, in order (Σ = nE / nT). Scratch: the evaluated δ of 128 outputs, packed.
 */
export function wasmStructuredProduct(At: tf.Tensor2D, dE: tf.Tensor2D, dT: tf.Tensor2D, eCounts: number[], tCounts: number[], C: number): tf.Tensor2D | undefined {
  if (tf.getBackend() !== 'wasm' || [At, dE, dT].some((t) => t.dtype !== 'float32')) return undefined;
  const [nT, nE] = At.shape;
  const width = dE.shape[1];
  const sum = (xs: number[]) => xs.reduce((x, y) => x + y, 0);
  if (sum(eCounts) !== nE || sum(tCounts) !== nT || dE.shape[0] !== C * nE || dT.shape[0] !== C * nT || dT.shape[1] !== width) {
    throw new Error(`wasm-kernels/structured-product: shapes Aᵀ [${At.shape}], δE [${dE.shape}], δT [${dT.shape}] do not fit `
      + `${eCounts.length} evaluated examples of ${sum(eCounts)} rows, ${tCounts.length} train examples of ${sum(tCounts)} rows and C = ${C}`);
  }
  const Be = eCounts.length, Nt = tCounts.length;
  const be = tf.backend() as unknown as WasmBackend;
  const out = be.makeOutput([C * Be, C * Nt], 'float32');
  if (Be * Nt * C > 0) {
    const bnd = bind(be);
    const panels = 4 * C * (nE + 4) * 128; // δ of 4 train rows and the evaluated δ of one chunk of 128 outputs, packed (structured_product.c OC)
    const head = 16 * 4 * C + panels;
    const scratch = scratchFor(be, bnd, head + 4 * (Be + 1 + nT));
    const ints = new Int32Array(be.wasm.asm.memory.buffer, scratch + head, Be + 1 + nT); // after the allocations above
    let r = 0;
    eCounts.forEach((k, e) => { ints[e] = r; r += k; });
    ints[Be] = r;
    r = Be + 1;
    tCounts.forEach((k, n) => { ints.fill(n, r, r + k); r += k; });
    bnd.fn.structured_product(Be, Nt, C, nE, nT, width, offsetOf(be, At), offsetOf(be, dE), offsetOf(be, dT),
      scratch + head, scratch + head + 4 * (Be + 1), offsetOf(be, out), scratch);
  }
  return tf.engine().makeTensorFromTensorInfo(out) as tf.Tensor2D;
}
