/** Our WebAssembly kernels for the wasm backend: the module and its build choice, BatchMatMul, Sum, GELU, softmax cross-entropy, AdamW. */
export { registerWasmBatchMatMul } from './batch-matmul';
export { registerWasmSum } from './sum';
export { wasmGeluWithGrad } from './gelu';
export { wasmAdamWUpdate } from './adamw';
export { wasmSoftmaxCrossEntropy } from './softmax-cross-entropy';
export { useWasmKernelVariant, wasmKernelVariant, type WasmKernelVariant } from './module';
