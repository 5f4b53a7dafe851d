import * as tf from '@tensorflow/tfjs';

/** One encoded example: token ids, segment ids, and the mask position (−1 for the standard, no-prompt encoding). */
export interface EncodedExample {
  inputIds: number[];
  tokenTypeIds: number[];
  maskPos: number;
}

/** A padded batch. Padding goes to the longest sequence in the batch (not to max_length), as the reference collator. */
export interface TensorBatch {
  inputIds: tf.Tensor2D; // [B, T] int32
  attentionMask: tf.Tensor2D; // [B, T] int32 (1 = token, 0 = pad)
  tokenTypeIds: tf.Tensor2D; // [B, T] int32
  /** Row index into the flattened [B·T] hidden states of each example's read-out position (mask or first token). */
  readIndex: tf.Tensor1D; // [B] int32
}

export function makeBatch(examples: EncodedExample[], padId: number): TensorBatch {
  const B = examples.length;
  const T = Math.max(...examples.map((e) => e.inputIds.length));
  const ids = new Int32Array(B * T).fill(padId);
  const mask = new Int32Array(B * T);
  const types = new Int32Array(B * T);
  const read = new Int32Array(B);
  examples.forEach((e, b) => {
    ids.set(e.inputIds, b * T);
    mask.fill(1, b * T, b * T + e.inputIds.length);
    types.set(e.tokenTypeIds, b * T);
    read[b] = b * T + Math.max(0, e.maskPos);
  });
  return {
    inputIds: tf.tensor2d(ids, [B, T], 'int32'),
    attentionMask: tf.tensor2d(mask, [B, T], 'int32'),
    tokenTypeIds: tf.tensor2d(types, [B, T], 'int32'),
    readIndex: tf.tensor1d(read, 'int32'),
  };
}

export function disposeBatch(b: TensorBatch): void {
  tf.dispose([b.inputIds, b.attentionMask, b.tokenTypeIds, b.readIndex]);
}
