/** Our WebAssembly kernels for the wasm backend: the module and its build choice, BatchMatMul, GELU. */
export { registerWasmBatchMatMul } from './batch-matmul';
export { wasmGeluWithGrad } from './gelu';
export { useWasmKernelVariant, wasmKernelVariant, type WasmKernelVariant } from './module';
