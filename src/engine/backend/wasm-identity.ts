/**
 * An `Identity` kernel for the wasm backend that shares the input's memory instead of copying it.
 *
 * tfjs's engine clones (Identity) every tensor it saves for the backward pass (`saveTensorsForBackwardMode`), and
 * tfjs-backend-wasm 4.22 implements Identity as a full copy, so each recorded forward pass copies all its
 * activations once more (2 s of a 40 s SST-2 kernel run). The cpu backend shares the data with a reference count;
 * the wasm backend already keeps reference counts (its Reshape shares memory the same way), so this does the same.
 * Safe because no tfjs kernel writes into its inputs: tensors are immutable, and memory is freed when the last
 * tensor holding it is disposed.
 */
import type * as tf from '@tensorflow/tfjs';
import { replaceKernel } from './replace-kernel';

interface RefCountingBackend { incRef(dataId: object): void }

const identity: tf.KernelFunc = ({ inputs, backend }) => {
  const { x } = inputs as { x: tf.TensorInfo };
  (backend as unknown as RefCountingBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

/** Replaces the wasm backend's copying `Identity` kernel. Idempotent. */
export function registerWasmIdentity(): void {
  replaceKernel('Identity', 'wasm', () => identity);
}
