import * as tf from '@tensorflow/tfjs';
import { wasmSoftmaxCrossEntropy } from '../backend/wasm-kernels';

/**
 * The fine-tuning losses, in tfjs (for `lossFn`) and in float64 over logits (for the linearised dynamics), with the
 * same reductions as PyTorch: cross-entropy is the mean over the batch; MSE (the reference's `--l2_loss`, against
 * one-hot targets) is the mean over all B·C entries.
 */
export type LossKind = 'cross-entropy' | 'mse';

/** Mean cross-entropy of logits [B, C] against class ids (on wasm by one fused kernel, softmax_cross_entropy.c). */
export function crossEntropyLoss(logits: tf.Tensor2D, labels: number[]): tf.Scalar {
  const fused = wasmSoftmaxCrossEntropy(logits, labels);
  if (fused) return fused;
  return tf.tidy(() => {
    const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), logits.shape[1]).toFloat();
    return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
  });
}

/** Mean squared error of logits [B, C] against one-hot targets of the class ids. */
export function mseLoss(logits: tf.Tensor2D, labels: number[]): tf.Scalar {
  return tf.tidy(() => {
    const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), logits.shape[1]).toFloat();
    return tf.mean(tf.square(tf.sub(logits, onehot))) as tf.Scalar;
  });
}

/**
 * The loss of a batch and its gradient ∂L/∂f [B·C] with respect to the logits `f` [B·C] (row-major), in float64.
 * Cross-entropy: ∂L/∂f_{b,c} = (softmax(f_b)_c − [c = y_b]) / B.  MSE: ∂L/∂f_{b,c} = 2·(f_{b,c} − [c = y_b]) / (B·C).
 */
export function lossAndGradient(kind: LossKind, f: Float64Array, labels: number[], C: number): { loss: number; grad: Float64Array } {
  const B = labels.length;
  const grad = new Float64Array(B * C);
  let loss = 0;
  for (let b = 0; b < B; b++) {
    const row = f.subarray(b * C, b * C + C);
    if (kind === 'cross-entropy') {
      const max = Math.max(...row);
      let z = 0;
      for (let c = 0; c < C; c++) z += Math.exp(row[c] - max);
      loss += (Math.log(z) + max - row[labels[b]]) / B;
      for (let c = 0; c < C; c++) grad[b * C + c] = (Math.exp(row[c] - max) / z - (c === labels[b] ? 1 : 0)) / B;
    } else {
      for (let c = 0; c < C; c++) {
        const r = row[c] - (c === labels[b] ? 1 : 0);
        loss += (r * r) / (B * C);
        grad[b * C + c] = (2 * r) / (B * C);
      }
    }
  }
  return { loss, grad };
}
