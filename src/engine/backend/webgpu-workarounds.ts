/**
 * Workarounds for the tfjs-webgpu 4.22 traps (docs: tfjs-backends.md §3.4), for engine code that must also run on
 * the 'webgpu' backend. Each helper behaves exactly like the plain tfjs op on every other backend.
 *
 * 1. `MatMulSplitKProgram` is wrong whenever transposeB = true (its vec4 reader ignores transposeB); it is chosen for
 *    batch 1, inner dim ≥ 2000 and a small output, i.e. exactly a Gram a·bᵀ. Never call
 *    `tf.matMul(a, b, false, true)` on long rows: use `mmBT` (backend/matmul.ts), which transposes explicitly.
 * 2. `tf.addN` of more than 7 tensors exceeds the default 8 storage buffers per shader stage: use `sumPairwise`.
 * 3. One binding (one tensor read or written by a shader) is limited to `maxStorageBufferBindingSize`, 128 MiB on
 *    Mesa's software drivers: size chunks with `maxBindingBytes()`.
 * 4. A 2-D `tf.transpose` runs a 16×16-tiled program whose dispatch is one workgroup per tile along each axis and
 *    throws "Dispatch size exceeds WebGPU limits" once a side exceeds 16·65 535 elements: use `transpose2d`.
 */
import * as tf from '@tensorflow/tfjs';

/** The device limits that these workarounds need (a subset of GPUSupportedLimits). */
interface DeviceLimits {
  maxStorageBufferBindingSize: number;
  maxComputeWorkgroupsPerDimension: number;
}

/** True when the active tfjs backend is 'webgpu'. */
export function onWebGpu(): boolean {
  return tf.getBackend() === 'webgpu';
}

/** The WebGPU device's limits, or undefined off webgpu. */
function deviceLimits(): DeviceLimits | undefined {
  if (!onWebGpu()) return undefined;
  return (tf.backend() as unknown as { device: { limits: DeviceLimits } }).device.limits;
}

/** Largest byte size of one tensor that a shader may bind: the device's limit on webgpu, else Infinity. */
export function maxBindingBytes(): number {
  return deviceLimits()?.maxStorageBufferBindingSize ?? Infinity;
}

/**
 * xᵀ for a 2-D x [R, C] → [C, R]. On webgpu, when a side is too long for the tiled transpose (item 4), it goes
 * through the rank-3 transpose [R, C, 1] → [C, R, 1], whose flat dispatch tfjs folds into 2-D/3-D grids.
 */
export function transpose2d(x: tf.Tensor2D): tf.Tensor2D {
  const limits = deviceLimits();
  const [R, C] = x.shape;
  const tile = 16; // TransposeSharedProgram's workgroup side
  if (!limits || Math.max(R, C) <= tile * limits.maxComputeWorkgroupsPerDimension) return tf.transpose(x);
  return tf.tidy(() => tf.reshape(tf.transpose(tf.reshape(x, [R, C, 1]), [1, 0, 2]), [C, R]) as tf.Tensor2D);
}

/** Σ xs as a balanced tree of binary adds (item 2: never `tf.addN`, which fails on webgpu above 7 inputs). */
export function sumPairwise<T extends tf.Tensor>(xs: T[]): T {
  if (xs.length === 0) {
    throw new Error('backend/webgpu-workarounds.ts sumPairwise: nothing to sum; pass at least one tensor.');
  }
  return tf.tidy(() => {
    let level: tf.Tensor[] = xs;
    while (level.length > 1) {
      const next: tf.Tensor[] = [];
      for (let i = 0; i + 1 < level.length; i += 2) next.push(tf.add(level[i], level[i + 1]));
      if (level.length % 2 === 1) next.push(level[level.length - 1]);
      level = next;
    }
    return level.length === 1 && level[0] === xs[0] ? tf.clone(xs[0]) : level[0];
  }) as T;
}
