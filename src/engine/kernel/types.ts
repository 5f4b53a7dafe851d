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
  /** Only in the result of a tiled call (`KernelRunOptions.tile`): what this tile computed (see tiles.ts). */
  tile?: KernelTileFill;
}

/** Which share of a kernel call to compute: tile `index` (0-based) of `count` (tiles.ts, `mergeKernelTiles`). */
export interface KernelTile {
  index: number;
  count: number;
}

/**
 * On every block of a tiled call's result. Entries outside `filled` are zero and mean nothing; `mergeKernelTiles`
 * puts the `count` tiles of one call together into the untiled call's result.
 */
export interface KernelTileFill {
  index: number;
  count: number;
  /**
   * [N·M] example pairs (n, m) of the block, row-major (n·M + m): 1 where this tile wrote K[n, ·, m, ·] (and K').
   * For the train block of the structured kernel these are pairs before symmetrisation (see `symmetrize`).
   */
  filled: Uint8Array;
  /**
   * Fingerprint of the call's plan (implementation, sizes, kinds, chunks, recorded batches): equal for the tiles of
   * one call. It depends on `maxGradientsInMemory` and `recordBudgetBytes`, whose defaults depend on the free memory
   * and the backend: tiles that run in different processes should pass both explicitly.
   */
  plan: string;
  /** Set on the structured kernel's train block: merge makes it exactly symmetric, as the untiled call does. */
  symmetrize?: boolean;
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
  /**
   * Compute only tile `index` of `count`: the call plans the whole computation exactly as the untiled call (train
   * chunks, recorded batches), holds every train chunk (recomputed by every tile), and executes only its share of the
   * work units (whole evaluated batches of every set, and of train×train), assigned in plan order each to the least
   * loaded tile so far (`planTiles`). Its result has the untiled layout with only the computed example pairs filled
   * (each block's `tile`); `mergeKernelTiles` of all `count` results equals the untiled result bitwise. `onPlan`
   * describes the whole (untiled) call; progress counts this tile's share (for the structured kernel its total is an
   * estimate until the end); `onOutputs` reports the inputs of the units this tile computes (over all tiles, each
   * input once).
   */
  tile?: KernelTile;
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
