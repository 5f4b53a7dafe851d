export { finetune, stepSeed, type FinetuneOptions, type FinetuneResult, type StepInfo } from './loop';
export { linearizedDynamics, type LinearizedOptions, type LinearizedResult } from './linearized';
export { createOptimizer, sgdStep, signSgdStep, adamWStep, createAdamWState, noWeightDecay, ADAMW_DEFAULTS, type Optimizer, type OptimizerName, type AdamWHyper, type AdamWState } from './optimizers';
export { linearWarmupDecay } from './schedule';
export { clipByGlobalNorm, clipByGlobalNormAsync, clipCoefficient, globalNorm } from './clip';
export { batchOrder, batchSchedule, mulberry32, shuffled } from './batches';
export { crossEntropyLoss, mseLoss, lossAndGradient, type LossKind } from './losses';
