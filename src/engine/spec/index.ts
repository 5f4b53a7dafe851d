export { FINETUNE_KEYS, KERNEL_KEYS, loadSpec, parseSpec, requireSpec, SPEC_DEFAULTS, TEMPLATE_KEYS, TOP_LEVEL_KEYS } from './parse';
export { formatSpecError, SpecErrors } from './types';
export type {
  BackendName, ExperimentSpec, FinetuneSpec, KernelKind, KernelSpec, ModelRef, Optimizer, ParameterSet, Solver, SourceRange,
  SpecError, SpecResult, TemplateRanges, TemplateSpec,
} from './types';
export { closest, didYouMean, editDistance } from './suggest';
