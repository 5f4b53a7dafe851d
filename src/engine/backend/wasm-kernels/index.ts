/** Our WebAssembly kernels for the wasm backend: the module and its build choice, BatchMatMul, Sum, GELU, softmax cross-entropy. */
export { registerWasmBatchMatMul } from './batch-matmul';
export { registerWasmSum } from './sum';
export { wasmGeluWithGrad } from './gelu';
export { wasmSoftmaxCrossEntropy } from './softmax-cross-entropy';
export { useWasmKernelVariant, wasmKernelVariant, type WasmKernelVariant } from './module';
