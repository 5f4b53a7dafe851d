/**
 * A `Slice` kernel for the wasm backend that reads its input in place.
 *
 * tfjs-backend-wasm 4.22 begins every slice with `backend.readSync(x)`, a full copy of the input into a fresh
 * JavaScript array, whatever the size of the slice. The structured kernel slices its held train factors and class
 * blocks (8 MB tensors for ntk-mini) hundreds of times per run, and a fresh 8 MB array is page-faulted in each time: on
 * the 2026-12-04 machine 19 ms per read, 4–5 s of a 24 s SST-2 kernel. This kernel copies only the slice, as runs of
 * the input's trailing dimensions, from a view of the heap. Strings go to the package's kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { replaceKernel } from './replace-kernel';
import type { WasmBackend } from './wasm-kernels/module';

/** Replaces the wasm backend's `Slice`; keeps the package's kernel for strings. Idempotent. */
export function registerWasmSlice(): void {
  if (!tf.getKernel('Slice', 'wasm')) return; // the wasm package is not loaded
  replaceKernel('Slice', 'wasm', (own) => sliceInPlace(own!.kernelFunc));
}

function sliceInPlace(fallback: tf.KernelFunc): tf.KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args;
    const { x } = inputs as { x: tf.TensorInfo };
    if (x.dtype === 'string') return fallback(args);
    const { begin: b0, size: s0 } = attrs as unknown as { begin: number | number[]; size: number | number[] };
    const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, b0, s0);
    const be = backend as unknown as WasmBackend;
    const out = be.makeOutput(size, x.dtype);
    if (size.some((d) => d === 0)) return out;
    const src = be.typedArrayFromHeap(x);
    const dst = be.typedArrayFromHeap(out); // views made after makeOutput, which may grow the heap
    const shape = x.shape;
    const rank = shape.length;
    const strides = new Array<number>(rank); // element strides of x, row-major
    for (let k = rank - 1, s = 1; k >= 0; k--) { strides[k] = s; s *= shape[k]; }
    // The trailing dimensions taken whole, together with the last one that is cut, are one contiguous run.
    let k = rank - 1; // rank ≥ 1: tfjs refuses to slice a scalar
    while (k > 0 && begin[k] === 0 && size[k] === shape[k]) k--;
    const run = size.slice(k).reduce((p, d) => p * d, 1);
    const base = begin.reduce((p, bk, j) => p + bk * strides[j], 0);
    const outer = size.slice(0, k);
    const runs = outer.reduce((p, d) => p * d, 1);
    const idx = new Array<number>(k).fill(0); // position among the outer dimensions, odometer order
    for (let r = 0, off = base; r < runs; r++) {
      dst.set(src.subarray(off, off + run), r * run);
      for (let j = k - 1; j >= 0; j--) { // next outer position: carry over full dimensions
        idx[j]++;
        off += strides[j];
        if (idx[j] < outer[j]) break;
        off -= idx[j] * strides[j];
        idx[j] = 0;
      }
    }
    return out;
  };
}
