/**
 * A linear-time `UnsortedSegmentSum` kernel for the `wasm` and `cpu` backends.
 *
 * The gradient of `tf.gather` (the embedding lookup) is `UnsortedSegmentSum`. The wasm backend has no such kernel
 * ("Kernel 'UnsortedSegmentSum' not registered for backend 'wasm'"), and the cpu one loops over every segment
 * (= the vocabulary) doing a masked sum of the whole input: O(V·N·H), minutes per call at V = 30 522.
 * This one is a single pass: out[ids[i]] += x[i], O(N·H) (docs: tfjs-backends.md §2.2, fix 1).
 *
 * Shapes: x [N, ...inner], segmentIds [N] → out [numSegments, ...inner]. Ids outside [0, numSegments) are dropped,
 * as TensorFlow does.
 */
import type * as tf from '@tensorflow/tfjs';
import { replaceKernel } from './replace-kernel';

/** The part of the cpu and wasm backends that this kernel uses (both are JS objects with these methods). */
interface HostBackend {
  readSync(dataId: object): ArrayLike<number> | Uint8Array[];
  makeTensorInfo?(shape: number[], dtype: tf.DataType, values: Float32Array | Int32Array): tf.TensorInfo; // cpu
  makeOutput?(shape: number[], dtype: tf.DataType, memoryOffset?: number,
    values?: Float32Array | Int32Array): tf.TensorInfo; // wasm
}

/** The arithmetic of the kernel, on plain arrays. out has numSegments·inner entries. */
export function segmentSumInto(
  out: Float32Array | Int32Array, x: ArrayLike<number>, ids: ArrayLike<number>, numSegments: number, inner: number,
): void {
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const o = s * inner;
    const xi = i * inner;
    for (let j = 0; j < inner; j++) out[o + j] += x[xi + j];
  }
}

const unsortedSegmentSum: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const numSegments = (attrs as { numSegments: number }).numSegments;
  const be = backend as unknown as HostBackend;
  const xv = be.readSync(x.dataId) as ArrayLike<number>;
  const ids = be.readSync(segmentIds.dataId) as ArrayLike<number>;
  const idCount = segmentIds.shape.reduce((p, d) => p * d, 1);
  const xSize = x.shape.reduce((p, d) => p * d, 1);
  const inner = idCount === 0 ? 0 : xSize / idCount;
  const shape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const out = x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
  segmentSumInto(out, xv, ids, numSegments, inner);
  const dtype = x.dtype === 'int32' ? 'int32' : 'float32';
  if (be.makeTensorInfo) return be.makeTensorInfo(shape, dtype, out);
  if (be.makeOutput) return be.makeOutput(shape, dtype, undefined, out);
  throw new Error('backend/segment-sum.ts: this backend has neither makeTensorInfo (cpu) nor makeOutput (wasm); '
    + 'register the kernel only for "cpu" or "wasm".');
};

/** Replaces (cpu) or adds (wasm) the `UnsortedSegmentSum` kernel for a backend. Idempotent. */
export function registerSegmentSumKernel(backendName: 'cpu' | 'wasm'): void {
  replaceKernel('UnsortedSegmentSum', backendName, () => unsortedSegmentSum);
}
