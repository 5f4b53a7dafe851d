/**
 * The `BatchMatMul` kernel of the wasm backend, replaced by batch_matmul.c (compiled into binary.ts).
 *
 * tfjs-backend-wasm 4.22 runs batched or transposed products on a naive loop (~2 GFLOP/s): attention's Q·Kᵀ and P·V
 * and every gradient of them. Our module runs all of them, and the plain 2-D products too, at 30–43 GFLOP/s
 * (XNNPACK through tfjs: ~29). It imports the backend's own WebAssembly.Memory, so it reads the inputs and writes the
 * output where tfjs keeps them: no copies, no extra allocation except one reusable scratch buffer for the packed
 * right-hand side (allocated with the backend's malloc, so tfjs never hands that memory to a tensor).
 *
 * Two builds of the same C: with fused multiply-adds (relaxed SIMD; 39-49 GFLOP/s here) where the runtime accepts
 * it, else SIMD128 (34-42). Node 22 has relaxed SIMD on; Node 20 (VS Code 1.100's) has it behind a V8 flag, which
 * is set here, in the engine's own process (the worker or the CLI, never the extension host). NTK_LENS_WASM_FMA=0
 * forces the SIMD128 build. Fused and unfused results differ by rounding only (both are checked against float64).
 *
 * Shapes (as tf.matMul): a [...batchA, M, K] (or [..., K, M] with transposeA), b [...batchB, K, N] (or [..., N, K]);
 * out [...batch, M, N]. A side broadcasts over leading batch dimensions it lacks or has as 1 (a [C, B, …] against
 * b [B, …] or [1, B, …]); a 1 between real dimensions ([C, 1, …] against [C, B, …]) is refused with a message.
 */
import * as tf from '@tensorflow/tfjs';
import { WASM_BASE64, WASM_FMA_BASE64 } from './binary';

/** The parts of tfjs-backend-wasm's BackendWasm this kernel uses (not in its public typings). */
interface WasmBackend {
  wasm: { asm: { memory: WebAssembly.Memory }; _malloc(bytes: number): number; _free(ptr: number): void };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

type BatchMatMulFn = (batch: number, M: number, N: number, K: number, a: number, batchA: number, transA: number,
  b: number, batchB: number, transB: number, out: number, scratch: number) => void;

/** One instance per backend object: it is bound to that backend's memory. */
interface Bound { fn: BatchMatMulFn; scratch: number; scratchBytes: number; generation: number }
const bound = new WeakMap<object, Bound>();

export type WasmMatMulVariant = 'relaxed-simd-fma' | 'simd128';
let compiled: { variant: WasmMatMulVariant; module: WebAssembly.Module } | undefined;
let forced: WasmMatMulVariant | undefined;
let bindGeneration = 0; // bumped when the build changes: instances bound to the old one are replaced

/** Whether this runtime accepts relaxed SIMD, switching on Node 20's V8 flag for it if needed. */
function relaxedSimdAvailable(bytes: Buffer<ArrayBuffer>): boolean {
  if (WebAssembly.validate(bytes)) return true;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('v8') as typeof import('v8')).setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    return false;
  }
  return WebAssembly.validate(bytes);
}

function compile(): NonNullable<typeof compiled> {
  if (!compiled) {
    const fma = Buffer.from(WASM_FMA_BASE64, 'base64');
    const wantFma = (forced ?? (process.env.NTK_LENS_WASM_FMA === '0' ? 'simd128' : 'relaxed-simd-fma')) === 'relaxed-simd-fma';
    compiled = wantFma && relaxedSimdAvailable(fma)
      ? { variant: 'relaxed-simd-fma', module: new WebAssembly.Module(fma) }
      : { variant: 'simd128', module: new WebAssembly.Module(Buffer.from(WASM_BASE64, 'base64')) };
  }
  return compiled;
}

/** The build the wasm BatchMatMul runs (for benchmarks and logs). */
export function wasmMatMulVariant(): WasmMatMulVariant {
  return compile().variant;
}

/**
 * Tests: run every later product with this build (undefined: the automatic choice). Rebinds on the next product.
 * Returns the build actually in use ('relaxed-simd-fma' may be unavailable).
 */
export function useWasmMatMulVariant(variant: WasmMatMulVariant | undefined): WasmMatMulVariant {
  forced = variant;
  compiled = undefined;
  bindGeneration++;
  return compile().variant;
}

function bind(be: WasmBackend): Bound {
  let b = bound.get(be);
  if (b && b.generation !== bindGeneration) {
    if (b.scratch) be.wasm._free(b.scratch);
    b = undefined;
  }
  if (!b) {
    const { module } = compile();
    const instance = new WebAssembly.Instance(module, { env: { memory: be.wasm.asm.memory } });
    b = { fn: instance.exports.batch_matmul as unknown as BatchMatMulFn, scratch: 0, scratchBytes: 0, generation: bindGeneration };
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
  // Each side's matrices repeat with period batchA (batchB) over the flat batch index: true when its batch shape,
  // without leading 1s, is a suffix of the broadcast shape.
  const periodic = (dims: number[]) => {
    const d = dims.slice(dims.findIndex((x) => x !== 1) < 0 ? dims.length : dims.findIndex((x) => x !== 1));
    return d.every((x, i) => x === batchShape[batchShape.length - d.length + i]);
  };
  if (!periodic(a.shape.slice(0, -2)) || !periodic(b.shape.slice(0, -2))) {
    throw new Error(`backend/wasm-batch-matmul: batch shapes [${a.shape.slice(0, -2)}] and [${b.shape.slice(0, -2)}] `
      + 'broadcast over an inner dimension; tile that side first');
  }
  const out = be.makeOutput([...batchShape, M, N], 'float32');
  if (batch * M * N === 0) return out;
  const bnd = bind(be);
  const K = Ka;
  const scratch = scratchFor(be, bnd, Math.max(64, 4 * (Math.min(K, 256) * Math.ceil(N / 8) * 8 + (transposeA ? M * K : 0))));
  const offset = (t: tf.TensorInfo): number => be.dataIdMap.get(t.dataId).memoryOffset;
  bnd.fn(batch, M, N, K,
    offset(a), batchA, transposeA ? 1 : 0,
    offset(b), batchB, transposeB ? 1 : 0,
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
