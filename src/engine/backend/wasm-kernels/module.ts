/**
 * Our WebAssembly kernels for tfjs's wasm backend (batch_matmul.c, gelu.c, reduce.c, softmax_cross_entropy.c, adamw.c,
 * structured_product.c), compiled together into one module that
 * imports the backend's own WebAssembly.Memory: the kernels read their inputs and write their outputs where tfjs
 * keeps tensors, with no copies. binary.ts holds two builds of the same C: with fused multiply-adds (relaxed SIMD)
 * where the runtime accepts it, else SIMD128. Node 22 has relaxed SIMD on; Node 20 (VS Code 1.100's) has it behind
 * a V8 flag, which is set here, in the engine's own process (the worker or the CLI, never the extension host).
 * NTK_LENS_WASM_FMA=0 forces the SIMD128 build. Fused and unfused results differ by rounding only (tests check both).
 */
import type * as tf from '@tensorflow/tfjs';
import { WASM_BASE64, WASM_FMA_BASE64 } from './binary';

/** The parts of tfjs-backend-wasm's BackendWasm the kernels use (not in its public typings). */
export interface WasmBackend {
  wasm: { asm: { memory: WebAssembly.Memory }; _malloc(bytes: number): number; _free(ptr: number): void };
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  /** A view of a tensor's data on the heap (valid until the next allocation, which may grow the heap). */
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  /** Frees what makeOutput allocated for a tensor the engine never saw. */
  disposeData(dataId: object): boolean;
}

/** The module's exports (pointers are byte offsets in the backend's memory). */
export interface KernelExports {
  batch_matmul(batch: number, M: number, N: number, K: number, a: number, batchA: number, transA: number,
    b: number, batchB: number, transB: number, out: number, scratch: number): void;
  gelu_with_grad(u: number, y: number, dy: number, n: number): void;
  sum_columns(x: number, rows: number, cols: number, out: number): void;
  sum_rows(x: number, rows: number, cols: number, out: number): void;
  softmax_row_stats(z: number, M: number, V: number, maxOut: number, sumOut: number): void;
  softmax_xent_gradient(z: number, lse: number, labels: number, M: number, V: number, scale: number, dz: number): void;
  adamw_update(p: number, g: number, m: number, v: number, n: number, beta1: number, oneMinusBeta1: number, beta2: number,
    oneMinusBeta2: number, eps: number, stepSize: number, decay: number, pOut: number, mOut: number, vOut: number): void;
  structured_product(Be: number, Nt: number, C: number, nE: number, nT: number, width: number, At: number, dE: number,
    dT: number, eStarts: number, tOwner: number, out: number, scratch: number): void;
}

/** One instance per backend object (it is bound to that backend's memory), with its reusable scratch buffer. */
export interface Bound { fn: KernelExports; scratch: number; scratchBytes: number; generation: number }
const bound = new WeakMap<object, Bound>();

export type WasmKernelVariant = 'relaxed-simd-fma' | 'simd128';
let compiled: { variant: WasmKernelVariant; module: WebAssembly.Module } | undefined;
let forced: WasmKernelVariant | undefined;
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

/** The build the kernels run (for benchmarks and logs). */
export function wasmKernelVariant(): WasmKernelVariant {
  return compile().variant;
}

/**
 * Tests: run every later kernel call with this build (undefined: the automatic choice). Rebinds on the next call.
 * Returns the build actually in use ('relaxed-simd-fma' may be unavailable).
 */
export function useWasmKernelVariant(variant: WasmKernelVariant | undefined): WasmKernelVariant {
  forced = variant;
  compiled = undefined;
  bindGeneration++;
  return compile().variant;
}

/** The module instance bound to this backend's memory. */
export function bind(be: WasmBackend): Bound {
  let b = bound.get(be);
  if (b && b.generation !== bindGeneration) {
    if (b.scratch) be.wasm._free(b.scratch);
    b = undefined;
  }
  if (!b) {
    const { module } = compile();
    const instance = new WebAssembly.Instance(module, { env: { memory: be.wasm.asm.memory } });
    b = { fn: instance.exports as unknown as KernelExports, scratch: 0, scratchBytes: 0, generation: bindGeneration };
    bound.set(be, b);
  }
  return b;
}

/**
 * A scratch buffer of at least `bytes` from the backend's malloc (so tfjs never hands it to a tensor), reused. The
 * address is read unsigned (`>>> 0`, as tfjs reads its own): the heap grows to 4 GiB, and malloc's i32 result comes
 * back negative above 2 GiB, which a typed-array view rejects. (Passed back into wasm, either reading is the same i32.)
 */
export function scratchFor(be: WasmBackend, b: Bound, bytes: number): number {
  if (bytes > b.scratchBytes) {
    if (b.scratch) be.wasm._free(b.scratch);
    b.scratch = be.wasm._malloc(bytes) >>> 0;
    if (!b.scratch) throw new Error(`backend/wasm-kernels: out of wasm memory allocating ${bytes} bytes of scratch`);
    b.scratchBytes = bytes;
  }
  return b.scratch;
}

/** Byte offset of a tensor's data in the backend's memory. */
export const offsetOf = (be: WasmBackend, t: tf.TensorInfo): number => be.dataIdMap.get(t.dataId).memoryOffset;
