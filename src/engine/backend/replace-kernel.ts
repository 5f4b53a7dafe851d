/**
 * Puts our kernel in place of a backend's own (or adds it where the backend has none), once per kernel and backend.
 * `make` receives the backend's own kernel, if any, for kernels that hand some cases back to it.
 */
import * as tf from '@tensorflow/tfjs';

const replaced = new Set<string>();

export function replaceKernel(kernelName: string, backendName: string, make: (own: tf.KernelConfig | undefined) => tf.KernelFunc): void {
  const key = `${kernelName}/${backendName}`;
  if (replaced.has(key)) return; // a second call would take our kernel for the backend's own
  const own = tf.getKernel(kernelName, backendName);
  if (own) tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({ ...own, kernelName, backendName, kernelFunc: make(own) });
  replaced.add(key);
}
