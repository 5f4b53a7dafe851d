/**
 * Memory measurement for the benches and the memory-estimate tests (run/memory-fit.ts is checked against it): the
 * peak bytes of the tensors alive, watched at every registration by wrapping two methods of tfjs's engine.
 */
import * as tf from '@tensorflow/tfjs';

/**
 * Peaks of the engine's byte counts, watched at every tensor registration: `numBytes` is tf.memory().numBytes (it
 * counts every Tensor object, so views sharing one buffer, such as reshapes and the wasm backend's sharing Identity,
 * count again), `dataBytes` the distinct data buffers alive (each counted once: what the backend actually holds).
 */
export class BytePeaks {
  numBytes = 0;
  dataBytes = 0;
  private live = 0;
  private readonly engine = tf.engine() as unknown as {
    state: { numBytes: number; tensorInfo: WeakMap<object, { bytes: number; backend: unknown }> };
    trackTensor: (a: tf.Tensor, backend: unknown) => unknown;
    removeDataId: (dataId: object, backend: unknown) => unknown;
  };
  /** Buffers registered since construction (construct it before the model's tensors exist). */
  private readonly seen = new WeakSet<object>();
  private readonly restore: () => void;
  constructor() {
    const eng = this.engine;
    const [ownTrack, ownRemove] = [eng.trackTensor, eng.removeDataId];
    this.restore = () => { eng.trackTensor = ownTrack; eng.removeDataId = ownRemove; };
    const track = eng.trackTensor.bind(eng);
    const remove = eng.removeDataId.bind(eng);
    eng.trackTensor = (a, backend) => {
      const fresh = !eng.state.tensorInfo.has(a.dataId as object);
      const r = track(a, backend);
      if (fresh) { this.live += eng.state.tensorInfo.get(a.dataId as object)?.bytes ?? 0; this.seen.add(a.dataId as object); }
      if (eng.state.numBytes > this.numBytes) this.numBytes = eng.state.numBytes;
      if (this.live > this.dataBytes) this.dataBytes = this.live;
      return r;
    };
    eng.removeDataId = (dataId, backend) => {
      const info = eng.state.tensorInfo.get(dataId);
      if (info && info.backend === backend && this.seen.has(dataId)) { this.live -= info.bytes; this.seen.delete(dataId); }
      return remove(dataId, backend);
    };
    this.reset();
  }
  reset(): void { this.numBytes = this.engine.state.numBytes; this.dataBytes = this.live; }
  /** Stops watching (the engine's own methods back); the peaks keep their last values. */
  stop(): void { this.restore(); }
}
