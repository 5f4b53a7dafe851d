/** Our WebAssembly kernels for the wasm backend: the module and its build choice, BatchMatMul, Sum, GELU, softmax cross-entropy, AdamW, the structured eNTK product. */
export { registerWasmBatchMatMul } from './batch-matmul';
export { registerWasmSum } from './sum';
export { wasmGeluWithGrad } from './gelu';
export { wasmAdamWUpdate } from './adamw';
export { wasmSoftmaxCrossEntropy } from './softmax-cross-entropy';
export { wasmStructuredProduct } from './structured-product';
export { useWasmKernelVariant, wasmKernelVariant, type WasmKernelVariant } from './module';
