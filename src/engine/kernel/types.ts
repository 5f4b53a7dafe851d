import type * as tf from '@tensorflow/tfjs';

/** The three kernels of Malladi et al. (2023), §3 of docs/paper-and-reference-code.md. */
export type KernelKind = 'sgd' | 'signgd' | 'asymmetric-signgd';
export const KERNEL_KINDS: readonly KernelKind[] = ['sgd', 'signgd', 'asymmetric-signgd'];

/**
 * The model output for ONE example: f(x) = raw logits of the C classes (label words), shape [1, C].
 * It must read the parameters (the tf.Variables given to the kernel) inside the call, and run the model
 * in evaluation mode (no dropout): the kernel is taken at fixed θ0.
 */
export type OutputFn<I> = (input: I) => tf.Tensor2D;

/**
 * One parameter tensor entering the kernel. `project` (optional) maps its gradient ∂f_c/∂θ (shape of the
 * variable) to the coordinates the kernel uses (e.g. the LoRA B-gradient (∂f/∂W)·Aᵀ·scale); it must be a pure
 * tensor function and must not dispose its argument.
 */
export interface KernelParameter {
  variable: tf.Variable;
  name?: string;
  project?: (gradient: tf.Tensor) => tf.Tensor;
}

/** A kernel block K[n, c, m, c'] in row-major order: n ∈ train (N), c, c' ∈ classes (C), m ∈ evaluated set (M). */
export interface KernelBlock {
  data: Float64Array;
  shape: [number, number, number, number];
  /**
   * Only for 'asymmetric-signgd': the flipped kernel K'[n, c, m, c'] = ⟨sign ∇f_c'(x_m), ∇f_c(x_n)⟩ (evaluated side
   * signed), in the same [N, C, M, C] layout. On train×train it is the transpose of `data`.
   */
  flipped?: Float64Array;
}

/** `{ train: K(train, train), [evalSetName]: K(train, evalSet) }` for one kernel kind. */
export type KernelBlocks = Record<string, KernelBlock>;
export type KernelResult = Partial<Record<KernelKind, KernelBlocks>>;

export interface KernelProgress {
  phase: 'kernel';
  /** per-example gradient computations done / planned (each is C backward passes). */
  done: number;
  total: number;
  etaSeconds: number;
}

export interface EvalSet<I> {
  name: string;
  inputs: I[];
}

/** How a kernel call will run, reported once before it starts (the run warns when memory forces several chunks). */
export interface KernelPlan {
  /** Train examples whose gradients are held at once, and the number of chunks the train set is cut into. */
  perChunk: number;
  chunks: number;
  /** Example passes (gradient computations or recordings) planned, and how many one chunk would need. */
  passes: number;
  passesOneChunk: number;
}

export interface KernelRunOptions {
  signal?: AbortSignal;
  onProgress?: (p: KernelProgress) => void;
  onPlan?: (p: KernelPlan) => void;
  /**
   * Receives the model outputs f(x) at θ0 that the kernel computation passes through anyway (so the caller need not
   * run the model again for f0): set name ('train' or an evaluated set), the inputs' indices in that set, and their
   * outputs [indices.length·C] row-major. Each input is reported at most once; an implementation may report none
   * (the plain kernel does not), so callers compute what is missing themselves.
   */
  onOutputs?: (set: string, indices: number[], values: Float32Array) => void;
}

export interface EmpiricalNtkOptions {
  kinds: KernelKind[];
  /**
   * How many per-(example, class) gradient vectors may be held at once (train chunk + one evaluated example).
   * Must be ≥ 2·C. Default: `defaultMaxGradients(P)`.
   */
  maxGradientsInMemory?: number;
}

/** Signature of the function returned by `empiricalNtkFn`. */
export type EmpiricalNtk<I> = (
  trainInputs: I[],
  evalSets: EvalSet<I>[],
  options?: KernelRunOptions,
) => Promise<KernelResult>;
