/**
 * 2-D matrix products for every dense layer of the model.
 *
 * On webgpu every product is an explicit `tf.transpose` followed by a plain matMul, gradients included: tfjs-webgpu's
 * split-K program for `transposeB` is wrong (tfjs-backends.md §3.4 item 1). (This was first the wasm fix 2 of
 * tfjs-backends.md §2.2, when tfjs-wasm ran transposed products on a naive loop; our own wasm BatchMatMul,
 * backend/wasm-kernels, packs either layout at full speed, so wasm and cpu now use tf.matMul's flags directly
 * and skip the copies.)
 *
 * Shapes: a [M, K], b [K, N] for `mm`; a [M, K], b [N, K] for `mmBT`.
 */
import * as tf from '@tensorflow/tfjs';
import { transpose2d } from './webgpu-workarounds';

type CustomGradientFunc = Parameters<typeof tf.customGrad>[0];

/**
 * [R, C] → [C, R]. On webgpu the explicit transpose also keeps every product free of `transposeB`, whose split-K
 * program is wrong in tfjs-webgpu 4.22 (tfjs-backends.md §3.4 item 1); transpose2d handles sides > 16·65 535.
 */
function t2(x: tf.Tensor): tf.Tensor2D {
  return transpose2d(x as tf.Tensor2D);
}

function assert2d(name: string, a: tf.Tensor, b: tf.Tensor): void {
  if (a.rank !== 2 || b.rank !== 2) {
    throw new Error(`backend/matmul.ts ${name}: expected two 2-D tensors, got shapes [${a.shape}] and [${b.shape}]; `
      + 'reshape to [rows, features] first.');
  }
}

const mmGrad = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D), // [M, N]
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved;
      return [
        tf.matMul(dy as tf.Tensor2D, t2(sb)), // dA = dY · Bᵀ   [M, N]·[N, K] → [M, K]
        tf.matMul(t2(sa), dy as tf.Tensor2D), // dB = Aᵀ · dY   [K, M]·[M, N] → [K, N]
      ];
    },
  };
}) as unknown as CustomGradientFunc);

const mmBTGrad = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, t2(b)), // [M, K]·[K, N] → [M, N]
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved;
      return [
        tf.matMul(dy as tf.Tensor2D, sb as tf.Tensor2D), // dA = dY · B    [M, N]·[N, K] → [M, K]
        tf.matMul(t2(dy), sa as tf.Tensor2D), // dB = dYᵀ · A   [N, M]·[M, K] → [N, K]
      ];
    },
  };
}) as unknown as CustomGradientFunc);

/** Whether products need the explicit-transpose form (webgpu). */
const explicitTransposes = (): boolean => tf.getBackend() === 'webgpu';

/** a · b for a [M, K], b [K, N] → [M, N]. */
export function mm(a: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  assert2d('mm', a, b);
  return (explicitTransposes() ? mmGrad(a, b) : tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D)) as tf.Tensor2D;
}

/**
 * a · bᵀ for a [M, K], b [N, K] → [M, N]. This is a Hugging Face Linear layer (weight stored [out, in]) and the
 * MLM decoder (word embeddings [V, H]) without copying the weight into another layout.
 */
export function mmBT(a: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  assert2d('mmBT', a, b);
  return (explicitTransposes() ? mmBTGrad(a, b) : tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, false, true)) as tf.Tensor2D;
}
