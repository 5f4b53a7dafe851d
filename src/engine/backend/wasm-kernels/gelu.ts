/**
 * GELU (erf form) and its derivative in one pass of gelu.c, on the wasm backend: y = ½u(1 + erf(u/√2)) and
 * y' = Φ(u) + u·φ(u). The recording model's forward needs both; tfjs takes about ten elementwise passes for them.
 * Not differentiable through tfjs's tape (the recording has its own backward). Returns undefined on other backends,
 * where the caller composes the same formula from tf ops.
 */
import * as tf from '@tensorflow/tfjs';
import { bind, offsetOf, type WasmBackend } from './module';

export function wasmGeluWithGrad(u: tf.Tensor): { y: tf.Tensor; dy: tf.Tensor } | undefined {
  if (tf.getBackend() !== 'wasm' || u.dtype !== 'float32') return undefined;
  const be = tf.backend() as unknown as WasmBackend;
  const y = be.makeOutput([...u.shape], 'float32');
  const dy = be.makeOutput([...u.shape], 'float32');
  if (u.size > 0) bind(be).fn.gelu_with_grad(offsetOf(be, u), offsetOf(be, y), offsetOf(be, dy), u.size);
  return { y: tf.engine().makeTensorFromTensorInfo(y), dy: tf.engine().makeTensorFromTensorInfo(dy) };
}
