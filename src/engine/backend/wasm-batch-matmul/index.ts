/**
 * The `BatchMatMul` kernel of the wasm backend, replaced by batch_matmul.c (compiled into binary.ts).
 *
 * tfjs-backend-wasm 4.22 runs batched or transposed products on a naive loop (~2 GFLOP/s): attention's Q·Kᵀ and P·V
 * and every gradient of them. Our module runs all of them, and the plain 2-D products too, at 30–43 GFLOP/s
 * (XNNPACK through tfjs: ~29). It imports the backend's own WebAssembly.Memory, so it reads the inputs and writes the
 * output where tfjs keeps them: no copies, no extra allocation except one reusable scratch buffer for the packed
 * right-hand side (allocated with the backend's malloc, so tfjs never hands that memory to a tensor).
 *
 * Shapes (as tf.matMul): a [...batchA, M, K] (or [..., K, M] with transposeA), b [...batchB, K, N] (or [..., N, K]);
 * the batch dimensions broadcast when one side has a single matrix; out [...batch, M, N].
 */
import * as tf from '@tensorflow/tfjs';
import { WASM_BASE64 } from './binary';

/** The parts of tfjs-backend-wasm's BackendWasm this kernel uses (not in its public typings). */
interface WasmBackend {
  wasm: { asm: { memory: WebAssembly.Memory }; _malloc(bytes: number): number; _free(ptr: number): void };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

type BatchMatMulFn = (batch: number, M: number, N: number, K: number, a: number, strideA: number, transA: number,
  b: number, strideB: number, transB: number, out: number, scratch: number) => void;

/** One instance per backend object: it is bound to that backend's memory. */
interface Bound { fn: BatchMatMulFn; scratch: number; scratchBytes: number }
const bound = new WeakMap<object, Bound>();

let compiled: WebAssembly.Module | undefined;

function bind(be: WasmBackend): Bound {
  let b = bound.get(be);
  if (!b) {
    compiled ??= new WebAssembly.Module(Buffer.from(WASM_BASE64, 'base64'));
    const instance = new WebAssembly.Instance(compiled, { env: { memory: be.wasm.asm.memory } });
    b = { fn: instance.exports.batch_matmul as unknown as BatchMatMulFn, scratch: 0, scratchBytes: 0 };
    bound.set(be, b);
  }
  return b;
}

function scratchFor(be: WasmBackend, b: Bound, bytes: number): number {
  if (bytes > b.scratchBytes) {
    if (b.scratch) be.wasm._free(b.scratch);
    b.scratch = be.wasm._malloc(bytes);
    if (!b.scratch) throw new Error(`backend/wasm-batch-matmul: out of wasm memory allocating ${bytes} bytes of scratch`);
    b.scratchBytes = bytes;
  }
  return b.scratch;
}

const size = (dims: number[]): number => dims.reduce((p, d) => p * d, 1);

const batchMatMul: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new Error(`backend/wasm-batch-matmul: matMul needs float32 tensors, got ${a.dtype} and ${b.dtype}`);
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
  if ((batchA !== 1 && batchA !== batch) || (batchB !== 1 && batchB !== batch)) {
    // [2, 1, …] against [1, 3, …] style broadcasting: the flat batch strides cannot express it
    throw new Error(`backend/wasm-batch-matmul: batch shapes [${a.shape.slice(0, -2)}] and [${b.shape.slice(0, -2)}] `
      + 'broadcast in both directions; tile one side first');
  }
  const out = be.makeOutput([...batchShape, M, N], 'float32');
  if (batch * M * N === 0) return out;
  const bnd = bind(be);
  const K = Ka;
  const scratch = scratchFor(be, bnd, Math.max(64, 4 * (Math.min(K, 256) * Math.ceil(N / 8) * 8 + (transposeA ? M * K : 0))));
  const offset = (t: tf.TensorInfo): number => be.dataIdMap.get(t.dataId).memoryOffset;
  bnd.fn(batch, M, N, K,
    offset(a), batchA === 1 ? 0 : M * K, transposeA ? 1 : 0,
    offset(b), batchB === 1 ? 0 : K * N, transposeB ? 1 : 0,
    offset(out), scratch);
  return out;
};

let registered = false;

/** Replaces the wasm backend's `BatchMatMul` kernel with this one. Idempotent; call before or after tf.setBackend. */
export function registerWasmBatchMatMul(): void {
  if (registered) return;
  if (tf.getKernel('BatchMatMul', 'wasm')) tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({ kernelName: 'BatchMatMul', backendName: 'wasm', kernelFunc: batchMatMul });
  registered = true;
}
