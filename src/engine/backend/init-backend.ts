/**
 * Backend selection. 'auto' prefers native TensorFlow (`@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node`;
 * both optional and usually not installable, tfjs-backends.md §1) and otherwise uses wasm with SIMD, which is the
 * always-available engine (29 GFLOP/s matMul against 0.9 for 'cpu'). 'cpu' is the pure-JS reference used by tests.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { registerSegmentSumKernel } from './segment-sum';
import { registerWasmBatchMatMul, registerWasmSum } from './wasm-kernels';
import { registerWasmGather } from './wasm-gather';
import { registerWasmIdentity } from './wasm-identity';
import { registerWasmSlice } from './wasm-slice';
import { guardSyncReads, setupWebGpu, type WebGpuOptions } from './webgpu-setup';

export type BackendName = 'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

export interface BackendOptions { webgpu?: WebGpuOptions }

/** The native TensorFlow bindings 'auto' prefers, in this order (both optional dependencies). */
export const NATIVE_TENSORFLOW_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

/** Tries the native TensorFlow bindings; returns the package that loaded, or undefined. */
function loadNativeTensorflow(): string | undefined {
  for (const pkg of NATIVE_TENSORFLOW_PACKAGES) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require(pkg);
      return pkg;
    } catch {
      // optional dependency: absent or its libtensorflow download failed at install time
    }
  }
  return undefined;
}

async function activate(name: string): Promise<string> {
  const ok = await tf.setBackend(name);
  if (!ok) {
    throw new Error(`backend/init-backend.ts: tfjs could not initialise the "${name}" backend; `
      + 'set the backend to "wasm" or "cpu".');
  }
  await tf.ready();
  return tf.getBackend();
}

async function initWasm(): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  // Bundled (dist/worker.js, dist/cli.js: scripts/build.mjs copies the .wasm files beside them), it must be told where
  // they are; from node_modules (src/ under tsx, tests) it finds them next to itself.
  if (fs.existsSync(path.join(__dirname, 'tfjs-backend-wasm.wasm'))) wasm.setWasmPaths(__dirname + path.sep);
  registerSegmentSumKernel('wasm');
  // after the package's require, which registers the package's own kernels on import:
  registerWasmBatchMatMul();
  registerWasmSum();
  registerWasmIdentity();
  registerWasmGather();
  registerWasmSlice();
  const name = await activate('wasm');
  if (!tf.env().getBool('WASM_HAS_SIMD_SUPPORT')) {
    // Still correct, about 4× slower (7 GFLOP/s); Node ≥ 16 always has SIMD, so this is only a note.
    console.warn('backend/init-backend.ts: WebAssembly SIMD is not available; the wasm backend will be slow.');
  }
  return name;
}

/**
 * Sets the tfjs backend and returns the name in use ('tensorflow' | 'webgpu' | 'wasm' | 'cpu').
 * Tensors do not move between backends: create parameters after this call.
 */
export async function initBackend(name: BackendName, options: BackendOptions = {}): Promise<string> {
  switch (name) {
    case 'auto':
      return loadNativeTensorflow() ? activate('tensorflow') : initWasm();
    case 'tensorflow':
      if (!loadNativeTensorflow()) {
        throw new Error('backend/init-backend.ts: backend "tensorflow" needs @tensorflow/tfjs-node-gpu or '
          + '@tensorflow/tfjs-node, and neither loads (their install script downloads libtensorflow, which often '
          + 'fails). Set the backend to "auto" or "wasm".');
      }
      return activate('tensorflow');
    case 'webgpu': {
      await setupWebGpu(options.webgpu); // options.webgpu, else NTK_LENS_WEBGPU_OPTS, else Dawn's default backend
      const active = await activate('webgpu');
      guardSyncReads();
      return active;
    }
    case 'wasm':
      return initWasm();
    case 'cpu':
      registerSegmentSumKernel('cpu');
      return activate('cpu');
    default:
      throw new Error(`backend/init-backend.ts: unknown backend "${String(name)}"; `
        + 'use one of auto, tensorflow, webgpu, wasm, cpu.');
  }
}
