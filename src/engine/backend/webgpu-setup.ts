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
  /**
   * Dawn toggles passed to `create()`, e.g. `['backend=vulkan']` (Linux default) or `['backend=opengles']`.
   * Default: the environment variable NTK_LENS_WEBGPU_OPTS (see `webGpuOptionsFromEnv`), else the platform default.
   */
  dawnOptions?: string[];
  /** Ask for a 'compatibility' adapter (needed by Dawn's OpenGL ES backend on Mesa llvmpipe). Default false. */
  compatibility?: boolean;
}

/**
 * Options from NTK_LENS_WEBGPU_OPTS: comma-separated Dawn options (`backend=vulkan`, `backend=opengles`,
 * `adapter=NAME`, …); the entry `featureLevel=compatibility` is not passed to Dawn but asks for a compatibility
 * adapter. `scripts/setup-software-gpu.sh` prints `backend=vulkan` for Mesa lavapipe. Dawn's OpenGL ES backend
 * on Mesa llvmpipe also needs EGL_PLATFORM=surfaceless in the environment.
 */
export function webGpuOptionsFromEnv(value = process.env.NTK_LENS_WEBGPU_OPTS): WebGpuOptions {
  const entries = (value ?? '').split(',').map((e) => e.trim()).filter((e) => e.length > 0);
  if (entries.length === 0) return {};
  for (const e of entries) {
    if (!/^[A-Za-z][\w-]*=\S+$/.test(e)) {
      throw new Error(`backend/webgpu-setup.ts: NTK_LENS_WEBGPU_OPTS entry "${e}" is not NAME=VALUE; write e.g. `
        + 'NTK_LENS_WEBGPU_OPTS=backend=vulkan or backend=opengles,featureLevel=compatibility.');
    }
  }
  const compatibility = entries.includes('featureLevel=compatibility');
  const dawnOptions = entries.filter((e) => !e.startsWith('featureLevel='));
  return { dawnOptions: dawnOptions.length ? dawnOptions : undefined, compatibility };
}

interface DawnModule { create(options: string[]): GPULike; globals: object }
interface GPULike { requestAdapter(desc?: object): Promise<unknown | null> }

function defaultDawnOptions(): string[] {
  return process.platform === 'linux' ? ['backend=vulkan'] : [];
}

/** Installs Dawn as `navigator.gpu`, checks that an adapter exists, and loads tfjs-backend-webgpu. */
export async function setupWebGpu(explicit?: WebGpuOptions): Promise<void> {
  const options = explicit ?? webGpuOptionsFromEnv();
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

/**
 * tfjs-webgpu reads tensors synchronously (`dataSync`, `arraySync`) through an OffscreenCanvas, which Node lacks:
 * the call dies with "ReferenceError: OffscreenCanvas is not defined" deep inside tfjs. This replaces that failure
 * by an error that says what to do. Engine code must read tensors with `await t.data()` / `await t.array()`.
 */
export function guardSyncReads(): void {
  if (typeof (globalThis as { OffscreenCanvas?: unknown }).OffscreenCanvas !== 'undefined') return;
  const be = tf.findBackend('webgpu') as unknown as { readSync(id: object): unknown; ntkGuarded?: boolean } | null;
  if (!be || be.ntkGuarded) return;
  const readSync = be.readSync.bind(be);
  be.readSync = (dataId: object) => {
    try {
      return readSync(dataId); // returns at once when the values are already on the CPU
    } catch (e) {
      if (!(e instanceof ReferenceError)) throw e;
      throw new Error('backend/webgpu-setup.ts: the webgpu backend cannot read a tensor synchronously in Node '
        + '(dataSync/arraySync need an OffscreenCanvas); the code that called it must use `await tensor.data()`. '
        + 'Until then, use the wasm backend.');
    }
  };
  be.ntkGuarded = true;
}
