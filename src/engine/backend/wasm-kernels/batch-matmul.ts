/**
 * The `BatchMatMul` kernel of the wasm backend, replaced by batch_matmul.c (compiled into binary.ts).
 *
 * tfjs-backend-wasm 4.22 runs batched or transposed products on a naive loop (~2 GFLOP/s): attention's Q·Kᵀ and P·V
 * and every gradient of them. Our module runs all of them, and the plain 2-D products too, at 30–43 GFLOP/s
 * (XNNPACK through tfjs: ~29). It imports the backend's own WebAssembly.Memory, so it reads the inputs and writes the
 * output where tfjs keeps them: no copies, no extra allocation except one reusable scratch buffer for the packed
 * right-hand side (module.ts). With fused multiply-adds (relaxed SIMD) 39-49 GFLOP/s here, else 34-42.
 *
 * Shapes (as tf.matMul): a [...batchA, M, K] (or [..., K, M] with transposeA), b [...batchB, K, N] (or [..., N, K]);
 * out [...batch, M, N]. A side broadcasts over leading batch dimensions it lacks or has as 1 (a [C, B, …] against
 * b [B, …] or [1, B, …]); a 1 between real dimensions ([C, 1, …] against [C, B, …]) is refused with a message.
 */
import * as tf from '@tensorflow/tfjs';
import { replaceKernel } from '../replace-kernel';
import { bind, offsetOf, scratchFor, type WasmBackend } from './module';

const size = (dims: number[]): number => dims.reduce((p, d) => p * d, 1);

const batchMatMul: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new Error(`backend/wasm-kernels/batch-matmul: matMul needs float32 tensors, got ${a.dtype} and ${b.dtype}`);
  }
  const be = backend as unknown as WasmBackend;
  const ra = a.shape.length, rb = b.shape.length;
  const M = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const Ka = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const Kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const N = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (Ka !== Kb) {
    throw new Error(`matMul: inner dimensions differ (${Ka} and ${Kb}) for shapes [${a.shape}] and [${b.shape}] `
      + `with transposeA=${transposeA}, transposeB=${transposeB}`);
  }
  const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batchA = size(a.shape.slice(0, -2)), batchB = size(b.shape.slice(0, -2));
  const batch = size(batchShape);
  // Each side's matrices repeat with period batchA (batchB) over the flat batch index: true when its batch shape,
  // without leading 1s, is a suffix of the broadcast shape.
  const periodic = (dims: number[]) => {
    const d = dims.slice(dims.findIndex((x) => x !== 1) < 0 ? dims.length : dims.findIndex((x) => x !== 1));
    return d.every((x, i) => x === batchShape[batchShape.length - d.length + i]);
  };
  if (!periodic(a.shape.slice(0, -2)) || !periodic(b.shape.slice(0, -2))) {
    throw new Error(`backend/wasm-kernels/batch-matmul: batch shapes [${a.shape.slice(0, -2)}] and [${b.shape.slice(0, -2)}] `
      + 'broadcast over an inner dimension; tile that side first');
  }
  const out = be.makeOutput([...batchShape, M, N], 'float32');
  if (batch * M * N === 0) return out;
  const bnd = bind(be);
  const K = Ka;
  const scratch = scratchFor(be, bnd, Math.max(64, 4 * (Math.min(K, 256) * Math.ceil(N / 8) * 8 + (transposeA ? M * K : 0))));
  const offset = (t: tf.TensorInfo): number => offsetOf(be, t);
  bnd.fn.batch_matmul(batch, M, N, K,
    offset(a), batchA, transposeA ? 1 : 0,
    offset(b), batchB, transposeB ? 1 : 0,
    offset(out), scratch);
  return out;
};

/** Replaces the wasm backend's `BatchMatMul` kernel with this one. Idempotent; call before or after tf.setBackend. */
export function registerWasmBatchMatMul(): void {
  replaceKernel('BatchMatMul', 'wasm', () => batchMatMul);
}
