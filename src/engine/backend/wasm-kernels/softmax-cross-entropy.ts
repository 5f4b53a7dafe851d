/**
 * Mean softmax cross-entropy of logits z [M, V] against class ids, with its gradient, by softmax_cross_entropy.c on
 * the wasm backend: the forward pass reads z twice (row maxima, sums of exponentials), the backward pass once
 *   L = (1/M) Σ_m (lse_m − z[m, y_m]),   lse_m = max_m + log Σ_v exp(z[m, v] − max_m)
 *   ∂L/∂z[m, v] = (dL/M) · (exp(z[m, v] − lse_m) − [v = y_m])
 * instead of the dozen passes tfjs composes from log-softmax and a one-hot product. Returns undefined on other
 * backends, where finetune/losses.ts composes the same from tf ops.
 */
import * as tf from '@tensorflow/tfjs';
import { bind, offsetOf, type WasmBackend } from './module';

export function wasmSoftmaxCrossEntropy(logits: tf.Tensor2D, labels: number[]): tf.Scalar | undefined {
  if (tf.getBackend() !== 'wasm' || logits.dtype !== 'float32') return undefined;
  const [M, V] = logits.shape;
  if (labels.length !== M) throw new Error(`softmax-cross-entropy: ${labels.length} labels for ${M} rows of logits`);
  labels.forEach((y, m) => {
    if (!(Number.isInteger(y) && y >= 0 && y < V)) throw new Error(`softmax-cross-entropy: label ${y} of row ${m} is outside [0, ${V})`);
  });
  const be = tf.backend() as unknown as WasmBackend;
  const f = tf.customGrad(((z: tf.Tensor, save: tf.GradSaveFunc) => {
    const stats = be.makeOutput([2, M], 'float32'); // row maxima, then row sums of exp(z − max)
    const at = offsetOf(be, stats);
    bind(be).fn.softmax_row_stats(offsetOf(be, z), M, V, at, at + 4 * M);
    const s = be.typedArrayFromHeap(stats) as Float32Array;
    const zs = be.typedArrayFromHeap(z) as Float32Array; // views after the last allocation
    const lse = new Float32Array(M);
    let loss = 0;
    for (let m = 0; m < M; m++) {
      lse[m] = s[m] + Math.log(s[M + m]);
      loss += lse[m] - zs[m * V + labels[m]];
    }
    be.disposeData(stats.dataId);
    save([z]); // lse stays a host array until (and unless) the gradient is asked for
    return {
      value: tf.scalar(loss / M),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [zz] = saved;
        const scale = (dy.dataSync() as Float32Array)[0] / M; // synchronous and cheap on wasm (the heap)
        const ids = tf.tensor1d(labels, 'int32');
        const l = tf.tensor1d(lse);
        const dz = be.makeOutput([M, V], 'float32');
        bind(be).fn.softmax_xent_gradient(offsetOf(be, zz), offsetOf(be, l), offsetOf(be, ids), M, V, scale, offsetOf(be, dz));
        tf.dispose([ids, l]);
        return tf.engine().makeTensorFromTensorInfo(dz);
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(logits) as tf.Scalar;
}
