/**
 * tfjs backend selection and the two wasm fixes (docs/architecture.md, "src/engine/backend/").
 * Architecture Invariant: model code does every dense-layer product through `mm`/`mmBT`.
 */
export { initBackend, NATIVE_TENSORFLOW_PACKAGES, type BackendName, type BackendOptions } from './init-backend';
export { mm, mmBT } from './matmul';
export { registerSegmentSumKernel } from './segment-sum';
export { webGpuOptionsFromEnv, type WebGpuOptions } from './webgpu-setup';
export { maxBindingBytes, onWebGpu, sumPairwise, transpose2d } from './webgpu-workarounds';
