/**
 * The report of an NTK comparison: what `runExperiment` returns, what the CLI prints as JSON, what the worker sends to
 * the editor, and what is stored under `.ntk/`. Plain JSON-serialisable data: no classes, no tensors.
 *
 * Schema (versioned by REPORT_SCHEMA_VERSION; bump it on any incompatible change). Documented in docs/report-schema.md.
 * Class order everywhere (logits, kernels, predictions) is the task's label order (`classes`).
 */

export const REPORT_SCHEMA_VERSION = 1;

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
  learningRate: number;
  steps: number;
  batchSize: number;
  /** Step whose parameters were kept (best dev metric). */
  bestStep: number;
  dev: Scores;
  test: Scores;
  /** Accuracy of the pre-trained model with the prompt, before any training (prompt mode); of the LP head (standard). */
  before: { dev: Scores; test: Scores };
  lossCurve: { step: number; loss: number }[];
  devCurve: { step: number; metric: number }[];
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
  /** Pearson correlation between fine-tuned test logits and kernel scores (all M·C values). */
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

/** Evidence of the kernel regime during fine-tuning (paper: fixed features and linearisation). */
export interface Diagnostics {
  /** ‖K_end − K_0‖_F / ‖K_0‖_F for the SGD train×train kernel, at the fine-tuned vs pre-trained weights. */
  kernelChange?: number;
  /** Relative distance ‖f_FT(test) − f_lin(test)‖ / ‖f_FT(test) − f_0(test)‖ after the same steps. */
  linearizationDistance?: number;
  /** Accuracy of the linearised model after the same steps. */
  linearizedTest?: Scores;
}

export interface SeedResult {
  seed: number;
  split: SplitInfo;
  finetune?: FinetuneResult;
  kernels: Partial<Record<KernelKind, KernelResult>>;
  diagnostics: Diagnostics;
  /** Test examples (for the disagreement list): text and gold class index. */
  test: { text: string[]; gold: number[] };
  seconds: number;
}

export interface Verdict {
  kernelLike: boolean | null;
  /** One plain sentence for the panel and hover. */
  text: string;
  /** The figures the verdict used and the thresholds it compared them with. */
  evidence: { name: string; value: number; threshold: number; pass: boolean }[];
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
    metric: 'acc' | 'f1';
  };
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
