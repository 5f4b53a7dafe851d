/**
 * The report of an NTK comparison: what `runExperiment` returns, what the CLI prints as JSON, what the worker sends to
 * the editor, and what is stored under `.ntk/`. Plain JSON-serialisable data: no classes, no tensors.
 *
 * Schema (versioned by REPORT_SCHEMA_VERSION; bump it on any incompatible change). Documented in docs/report-schema.md.
 * Class order everywhere (logits, kernels, predictions) is the task's label order (`classes`).
 */

export const REPORT_SCHEMA_VERSION = 2;

export type KernelKind = 'sgd' | 'signgd' | 'asymmetric-signgd';
export const KERNEL_KINDS: readonly KernelKind[] = ['sgd', 'signgd', 'asymmetric-signgd'];

/** Task metric values, all in [0, 1]. `f1` only for tasks that report it (MRPC, QQP). */
export interface Scores {
  acc: number;
  f1?: number;
}

/** Mean and population standard deviation (ddof 0, as the reference's gather script) over seeds. */
export interface Stat {
  mean: number;
  std: number;
  n: number;
}

/**
 * A figure with its sampling uncertainty: the point estimate and a percentile bootstrap interval (report/uncertainty.ts)
 * over test examples, resampled `resamples` times; `level` is the interval's coverage (0.95).
 */
export interface Interval {
  value: number;
  lo: number;
  hi: number;
  level: number;
  resamples: number;
}

/** The parameter sets a kernel (and the fine-tuning compared with it) can be taken over. */
export type ParameterSetName = 'all' | 'no-embeddings' | 'head' | 'biases' | 'lora';

/** What fine-tuning trained: exactly the parameters the kernel is taken over (LoRA: the B and A factors, plus the head). */
export interface TrainableSet {
  parameters: ParameterSetName;
  /** Number of trained scalars. */
  count: number;
  /** Number of trained tensors. */
  tensors: number;
  /** LoRA only: rank r and α (the update is (α/r)·B·A, B = 0 at the start, A the kernel's). */
  lora?: { rank: number; alpha: number };
}

/**
 * Did fine-tuning train at all? A run whose loss did not fall, whose dev curve was flat and whose test logits barely
 * moved says nothing about the kernel: its verdict is "inconclusive", never "not kernel-like" (report/training-check.ts).
 */
export interface TrainingCheck {
  trained: boolean;
  /** Why it is judged not to have trained, one plain phrase each (empty when it trained). */
  reasons: string[];
  /** What to change, when it did not train. */
  remedy?: string;
  /** Mean cross-entropy over the whole train set in eval mode (no dropout): at θ0, and at the last evaluation. */
  lossStart: number;
  lossEnd: number;
  /** max − min of the dev metric over the evaluations. */
  devRange: number;
  /** RMS over test examples and classes of f_FT − f_0 (logit units). */
  logitMove: number;
}

/** A warning that a setting or the data cost speed or accuracy; shown in the CLI, the report and the panel. */
export interface RunWarning {
  /** Stable identifier, e.g. 'truncated', 'skipped-rows', 'memory-chunks', 'lr-grid-edge'. */
  code: string;
  message: string;
}

export interface SplitInfo {
  trainFile: string;
  devFile: string;
  testFile: string;
  nTrain: number;
  nDev: number;
  nTest: number;
  /** Where test rows were capped (`test_limit`), the number kept. */
  testLimit?: number;
}

export interface FinetuneResult {
  optimizer: 'sgd' | 'adam';
  /** The learning rate of this result: the one chosen on dev when the file gives a grid. */
  learningRate: number;
  /** Every learning rate tried (one entry when the file gives one), with its best dev metric; the chosen one is `learningRate`. */
  grid: { learningRate: number; devMetric: number; bestStep: number; trained: boolean }[];
  /** The trained parameters (the kernel's). */
  trainable: TrainableSet;
  dropout: boolean;
  check: TrainingCheck;
  steps: number;
  batchSize: number;
  /** Step whose parameters were kept (best dev metric). */
  bestStep: number;
  dev: Scores;
  test: Scores;
  /** Accuracy of the pre-trained model with the prompt, before any training (prompt mode); of the LP head (standard). */
  before: { dev: Scores; test: Scores };
  lossCurve: { step: number; loss: number }[];
  /** Dev metric at each evaluation, with the mean cross-entropy on the whole train set in eval mode at that step. */
  devCurve: { step: number; metric: number; trainLoss?: number }[];
  /** [M, C] test logits of the model before and after fine-tuning. */
  testLogitsBefore: number[][];
  testLogits: number[][];
  seconds: number;
}

export interface KernelResult {
  kind: KernelKind;
  solver: string;
  /** Solver hyperparameters chosen on dev. */
  hyper: Record<string, number | boolean | string>;
  dev: Scores;
  test: Scores;
  /** [M, C] solver scores on test (argmax = prediction). */
  testScores: number[][];
  /** Share of test examples where the kernel and fine-tuning predict the same class. */
  agreement: number;
  /**
   * Pearson correlation between fine-tuned test logits and kernel scores of what decides the prediction: each row
   * centred over its classes (f_c − mean_c' f_c'), then correlated per class over the test examples and averaged over
   * classes. For two classes this is the correlation of the margins f_1 − f_0 (report/metrics.ts marginCorrelation).
   */
  logitCorrelation: number;
  /** Eigenvalues of the symmetrised train×train kernel matrix (N·C of them, descending). */
  spectrum: number[];
  /** Train×train kernel as an (N·C)×(N·C) matrix, row n·C+c, for the heatmap (omitted above 256 rows). */
  trainMatrix?: number[][];
  /** .npy files written for this kernel, relative to the run folder: float64 [N, C, M, C] ([2, N, C, M, C] for A-SignGD). */
  files: Record<string, string>;
  /** Number of parameters whose gradients enter the kernel. */
  parameterCount: number;
  seconds: number;
}

/**
 * The linearised model f_lin(x; θ) = f0(x) + J(x)(θ − θ0) trained with the same batches, schedule and clipping as
 * fine-tuning, compared with the fine-tuned model at the SAME step: the step whose weights fine-tuning kept (best dev).
 * Distances are Euclidean norms over all test examples × classes, in logit units.
 */
export interface Linearization {
  /** The step both models are compared at (fine-tuning's best-dev step). */
  step: number;
  /** ‖f_FT(test) − f_lin(test)‖ */
  ftToLinearized: number;
  /** ‖f_FT(test) − f_0(test)‖: how far fine-tuning moved the outputs. */
  ftToInit: number;
  /** ftToLinearized / ftToInit (0 when fine-tuning did not move the outputs). */
  relative: number;
  /** Test metric of the linearised model at that step. */
  test: Scores;
}

/** Evidence of the kernel regime during fine-tuning (paper: fixed features and linearisation). */
export interface Diagnostics {
  /** ‖K_end − K_0‖_F / ‖K_0‖_F of the SGD train×train kernel over the trained parameters, at the kept vs pre-trained weights. */
  kernelChange?: number;
  linearization?: Linearization;
}

export interface SeedResult {
  seed: number;
  split: SplitInfo;
  finetune?: FinetuneResult;
  kernels: Partial<Record<KernelKind, KernelResult>>;
  diagnostics: Diagnostics;
  /** Test examples (for the disagreement list): text and gold class index. */
  test: { text: string[]; gold: number[] };
  /** Settings or data that cost accuracy or speed in this seed (truncation, skipped rows, memory chunks, ...). */
  warnings: RunWarning[];
  /** This seed's own verdict (the same rules as the template's, on this seed alone). */
  verdict?: Verdict;
  seconds: number;
}

/** One figure the verdict used, with its uncertainty and the threshold it was compared with. */
export interface Evidence {
  /** Short name, e.g. 'gap FT − K[sgd] acc', 'agreement K[sgd] vs FT', 'kernel change', 'linearisation'. */
  name: string;
  /** Point estimate (mean over seeds). */
  value: number;
  /** 95 % paired bootstrap interval over test examples (gap and agreement). */
  interval?: [number, number];
  /** Spread over seeds. */
  spread?: Stat;
  /** The test: |value| ≤ threshold ('abs-max'), value ≤ threshold ('max') or value ≥ threshold ('min'). */
  test: 'abs-max' | 'max' | 'min';
  threshold: number;
  /** 'points' and 'percent' are shown ×100. */
  unit: 'points' | 'percent' | 'ratio';
  /** true: within the threshold (the whole interval, where there is one); false: outside (the whole interval); null: the interval straddles it. */
  pass: boolean | null;
}

export type VerdictStatus = 'kernel-like' | 'not-kernel-like' | 'inconclusive' | 'none';

export interface Verdict {
  status: VerdictStatus;
  /** true: kernel-like; false: not kernel-like; null: inconclusive or no verdict. */
  kernelLike: boolean | null;
  /** One plain line for the panel, the hover and the CLI: the status, then every figure with its threshold. */
  text: string;
  /** Why the verdict is inconclusive or negative, and what to do (absent when kernel-like). */
  reason?: string;
  /** The figures the verdict used and the thresholds it compared them with. */
  evidence: Evidence[];
}

export interface TemplateReport {
  name: string;
  /** The template text, or null for the standard (no-prompt) encoding. */
  template: string | null;
  mode: 'prompt' | 'standard';
  words: Record<string, string> | null;
  labelTokenIds: number[] | null;
  /** Hash of (template text, words, model, task, settings): the key under which results are stored. */
  key: string;
  seeds: SeedResult[];
  summary: {
    finetune?: Stat;
    kernels: Partial<Record<KernelKind, Stat>>;
    agreement: Partial<Record<KernelKind, Stat>>;
    /** Per kernel kind: FT − kernel test metric and the agreement, mean over seeds with a paired bootstrap interval. */
    comparison: Partial<Record<KernelKind, { gap: Interval; agreement: Interval }>>;
    kernelChange?: Stat;
    /** Relative linearisation distance (Linearization.relative) over seeds. */
    linearization?: Stat;
    metric: 'acc' | 'f1';
  };
  /** The trained (= kernel) parameter set. */
  trainable?: TrainableSet;
  /** Every distinct warning of the seeds, once. */
  warnings: RunWarning[];
  verdict: Verdict;
}

export interface Report {
  schemaVersion: typeof REPORT_SCHEMA_VERSION;
  createdAt: string;
  specFile: string;
  task: string;
  classes: string[];
  /** fingerprint: sha256 of the checkpoint's config, weights and tokenizer files (absent in reports before 2026-11-27). */
  model: { id: string; dir: string; fingerprint?: string; modelType: string; parameterCount: number };
  backend: string;
  templates: TemplateReport[];
  /** Run folder holding the .npy kernels and per-seed JSON. */
  outDir: string;
  seconds: number;
}

/** Progress events streamed by `runExperiment` (CLI prints them, the extension renders them). */
export type RunPhase = 'load' | 'data' | 'finetune' | 'kernel' | 'solve' | 'diagnostics' | 'done';

export type RunEvent =
  | { type: 'phase'; phase: RunPhase; template?: string; seed?: number; message: string }
  | {
      type: 'step';
      phase: 'finetune' | 'kernel' | 'linearize' | 'download';
      template?: string;
      seed?: number;
      step: number;
      total: number;
      loss?: number;
      etaSeconds?: number;
    }
  | { type: 'seed-done'; template: string; seed: number; result: SeedResult; reused: boolean }
  | { type: 'template-done'; template: TemplateReport }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };
