/**
 * WebGPU in Node: the npm `webgpu` package (Dawn, prebuilt `dawn.node`) plus `@tensorflow/tfjs-backend-webgpu`.
 *
 * Order matters (tfjs-backends.md §3.1): tfjs-backend-webgpu registers its backend only if `navigator.gpu` exists when
 * it is first imported, so Dawn's globals and `navigator.gpu` are installed before the require.
 * Known tfjs-webgpu traps (§3.4) that callers must respect: never `matMul(…, transposeB=true)` with a long inner
 * dimension (split-K bug), `tf.addN` of more than 7 tensors fails, bindings are limited to 128 MiB on some adapters.
 */
import * as tf from '@tensorflow/tfjs';

export interface WebGpuOptions {
  /** Dawn toggles passed to `create()`, e.g. `['backend=vulkan']` (Linux default) or `['backend=opengles']`. */
  dawnOptions?: string[];
  /** Ask for a 'compatibility' adapter (needed by Dawn's OpenGL ES backend on Mesa llvmpipe). Default false. */
  compatibility?: boolean;
}

interface DawnModule { create(options: string[]): GPULike; globals: object }
interface GPULike { requestAdapter(desc?: object): Promise<unknown | null> }

function defaultDawnOptions(): string[] {
  return process.platform === 'linux' ? ['backend=vulkan'] : [];
}

/** Installs Dawn as `navigator.gpu`, checks that an adapter exists, and loads tfjs-backend-webgpu. */
export async function setupWebGpu(options: WebGpuOptions = {}): Promise<void> {
  let dawn: DawnModule;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    dawn = require('webgpu') as DawnModule;
  } catch (e) {
    throw new Error('backend/webgpu-setup.ts: the npm package "webgpu" (Dawn) could not be loaded '
      + `(${(e as Error).message}). Reinstall the extension's dependencies, or set the backend to "wasm".`);
  }
  const g = globalThis as unknown as { navigator?: { gpu?: GPULike } };
  if (!g.navigator?.gpu) {
    Object.assign(globalThis, dawn.globals); // GPUBufferUsage, GPUMapMode, …
    const gpu = dawn.create(options.dawnOptions ?? defaultDawnOptions());
    if (options.compatibility) {
      const request = gpu.requestAdapter.bind(gpu);
      gpu.requestAdapter = (desc?: object) => request({ ...desc, featureLevel: 'compatibility' });
    }
    // Node 21+ defines a read-only navigator; define the property rather than assigning it.
    Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu }, configurable: true, writable: true });
  }
  const adapter = await g.navigator!.gpu!.requestAdapter();
  if (!adapter) {
    throw new Error('backend/webgpu-setup.ts: WebGPU found no adapter (Dawn options '
      + `${JSON.stringify(options.dawnOptions ?? defaultDawnOptions())}). On Linux Dawn needs the Vulkan loader `
      + '(libvulkan.so.1) and a Vulkan driver (NVIDIA, or Mesa lavapipe ≥ 25); check with `vulkaninfo --summary`, '
      + 'try the OpenGL ES backend, or set the backend to "wasm".');
  }
  if (!tf.findBackendFactory('webgpu')) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('@tensorflow/tfjs-backend-webgpu');
  }
  if (!tf.findBackendFactory('webgpu')) {
    throw new Error('backend/webgpu-setup.ts: @tensorflow/tfjs-backend-webgpu did not register a backend. It was '
      + 'probably imported before navigator.gpu existed; call initBackend("webgpu") before anything imports it.');
  }
}
