export * from './types';
export { empiricalNtkFn, defaultMaxGradients, type EmpiricalNtkFnOptions } from './empirical-ntk';
export { exampleJacobian, outputGradients, MAX_PIECE } from './gradients';
export { selectParameters, loraSubspace, ATTENTION_WEIGHT, type ParameterGroup, type ParameterSubset, type LoraOptions, type LoraSubspace } from './parameter-subsets';
export { sgdKernel } from './sgd';
export { signgdKernel } from './signgd';
export { asymmetricSigngdKernel } from './asymmetric-signgd';
export { structuredNtkFn, type StructuredNtkOptions } from './structured-ntk';
export type { DenseSite, VectorSite, RowsSite, Site, Recording, StructuredModel } from './structured-types';
