/**
 * The experiment file `*.ntk.yaml`, validated: every field typed, every default filled in, and the source range of
 * every template (for the editor's CodeLens and diagnostics). See `parse.ts` for the format and defaults.
 */
import type { TaskInfo } from '../data/tasks';
import type { TestSet } from '../data/splits';

/** A range in the YAML file: 1-based line/column; the end is exclusive (just after the last character). Offsets are 0-based. */
export interface SourceRange {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  offset: number;
  endOffset: number;
}

/** One problem in the experiment file, with its 1-based position (end exclusive). Plain data: it crosses process boundaries. */
export interface SpecError {
  file: string;
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  message: string;
  /** `warning` for YAML warnings that do not stop the run; everything else is an `error`. */
  severity: 'error' | 'warning';
}

/** `file:line:column: message` (the form compilers and VS Code problem matchers use). */
export function formatSpecError(e: SpecError): string {
  return `${e.file}:${e.line}:${e.column}: ${e.severity}: ${e.message}`;
}

/** Thrown by `loadSpec`/`requireSpec` when the file has errors; `errors` holds all of them. */
export class SpecErrors extends Error {
  constructor(readonly errors: SpecError[]) {
    super(errors.map(formatSpecError).join('\n'));
    this.name = 'SpecErrors';
  }
}

/** The model: the built-in default, a local checkpoint folder (absolute), or a Hugging Face Hub id. */
export type ModelRef =
  | { kind: 'builtin'; name: 'ntk-mini' }
  | { kind: 'path'; path: string }
  | { kind: 'hub'; id: string };

export type Optimizer = 'sgd' | 'adam';
export type KernelKind = 'sgd' | 'signgd' | 'asymmetric-signgd';
export type Solver = 'lstsq' | 'logistic' | 'asym-svm';
export type ParameterSet = 'all' | 'no-embeddings' | 'head' | 'biases' | 'lora';
export type BackendName = 'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

export interface FinetuneSpec {
  optimizer: Optimizer;
  /**
   * The learning rates to try (`learning_rate: 1e-3` or a grid `[1e-4, 1e-3, 1e-2]`); with several, each seed
   * fine-tunes with each and keeps the one with the best dev metric, as the paper's grid search. Default: the
   * optimizer's grid in `DEFAULT_LEARNING_RATES` (spec/parse.ts).
   */
  learningRates: number[];
  steps: number;
  batchSize: number;
  warmupSteps: number;
  weightDecay: number;
  /** Gradient-norm clipping (0 = off). On at 1.0 by default, for SGD too, as in the reference code. */
  maxGradNorm: number;
  /** Evaluate on dev every this many steps (and at the end). */
  evalEvery: number;
  /** Dropout active during fine-tuning (the kernel always uses eval mode). */
  dropout: boolean;
}

export interface KernelSpec {
  kinds: KernelKind[];
  solver: Solver;
  /** Ridge λ: K_tt + λ·σ_max(K_tt)·I (the reference code's `--kernel_regularization`); 0 = ridgeless. */
  ridge: number;
  /** Fit y − f0(train) and add f0(eval) back (`--adjust_for_init`): the linearised model around the initial outputs. */
  aroundInit: boolean;
  parameters: ParameterSet;
  /** Rank of the LoRA matrices when `parameters: lora`. */
  loraRank: number;
  /** Word embedding and MLM decoder as two separate kernel blocks, as in the reference code (docs §3.2). */
  untieDecoder: boolean;
  /** How many per-example gradient vectors to keep in memory at once: `auto` sizes it from free memory. */
  maxGradientsInMemory: 'auto' | number;
  /**
   * Split each seed's θ0 kernels into this many tiles of evaluated rows, computed by separate jobs (a study's tile
   * jobs, `ntk-lens run --workers`) and merged before solving; the merged kernel equals the one-job kernel
   * (kernel/tiles.ts), so `tiles` is not part of the result key. 1: no split.
   */
  tiles: number;
}

/** Where each part of a template item sits in the file. */
export interface TemplateRanges {
  /** The whole item (`- name: ...` through its last field). */
  item: SourceRange;
  name: SourceRange;
  /** The `template:` value (with quotes, if quoted). */
  template?: SourceRange;
  /**
   * Offset in the file of character 0 of the template text, and whether character i of the template is at
   * offset + i (true for plain and quoted scalars without escapes or line folding): maps a TemplateError's
   * character offset to the file.
   */
  templateText?: { offset: number; exact: boolean };
  /** The range of each label word's value, by label value. */
  words: Record<string, SourceRange>;
}

export interface TemplateSpec {
  name: string;
  /** `prompt`: an LM-BFF template with label words; `standard`: no prompt (the [CLS]-head baseline). */
  mode: 'prompt' | 'standard';
  /** The template text (prompt mode). */
  template?: string;
  /** Label value → word (prompt mode). */
  words?: Record<string, string>;
  /** The label words in class order (`task.labels`), prompt mode. */
  labelWords?: string[];
  /** True when the template and words were filled in from the task's LM-BFF defaults (`name: manual` alone). */
  fromTaskDefault: boolean;
  /**
   * This template's parameter set (`parameters:` in its item), overriding `kernel.parameters`: the kernel is taken over
   * it and fine-tuning trains exactly it. Absent: the file's `kernel.parameters`.
   */
  parameters?: ParameterSet;
  ranges: TemplateRanges;
}

export interface ExperimentSpec {
  /** Absolute path of the *.ntk.yaml file. */
  file: string;
  /** The task as written (`SST-2`, `ag_news`, `custom`, ...). */
  taskName: string;
  /** The task's labels, layout, metrics and defaults (a built-in task or the custom one). */
  task: TaskInfo;
  /** Absolute data folder (relative paths resolve from the file's folder). */
  data: string;
  shots: number;
  seeds: number[];
  model: ModelRef;
  maxLength: number;
  firstSentLimit?: number;
  otherSentLimit?: number;
  testSet: TestSet;
  /** Evaluate only N test / dev examples (a fixed seed-42 sample kept in file order: run/seed-run.ts limitRows); undefined = all. */
  testLimit?: number;
  devLimit?: number;
  skipMalformed: boolean;
  backend: BackendName;
  finetune: FinetuneSpec;
  kernel: KernelSpec;
  templates: TemplateSpec[];
  /** Value range of every top-level key present in the file (diagnostics from later stages point here). */
  ranges: Record<string, SourceRange>;
}

export interface SpecResult {
  /** Present when there are no errors (warnings allowed). */
  spec?: ExperimentSpec;
  errors: SpecError[];
}
