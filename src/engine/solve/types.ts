/**
 * The shared signature of the kernel solvers (§4 of docs/paper-and-reference-code.md).
 *
 * A solver turns the train×train kernel K_tt and a list of train×evaluated kernels K_tX (e.g. [dev, test]) into one
 * score matrix [M, C] per evaluated set; the prediction is the argmax over classes. Kernels are float64 and small.
 */

/**
 * A kernel block K[n, c, m, c'] in row-major order ([N, C, M, C]): n ∈ train, m ∈ evaluated set, c, c' ∈ logits.
 * Index ((n·C + c)·M + m)·C + c', so `data` already is the (N·C)×(M·C) matrix with row n·C + c.
 * Structurally the same type as `KernelBlock` of src/engine/kernel/types.ts.
 */
export interface KernelBlock {
  data: Float64Array;
  shape: [number, number, number, number];
  /**
   * Only for asymmetric kernels (A-SignGD): the flipped kernel K'[n, c, m, c'] = K(x_m c' ← signed side, x_n c), same
   * layout. When absent the kernel is taken as symmetric: K' = K for train×evaluated blocks and K'_tt = K_ttᵀ.
   */
  flipped?: Float64Array;
}

/** Scores or logits of M examples over C classes, row-major [M, C]. */
export interface ScoreMatrix {
  data: Float64Array;
  shape: [number, number];
}

/**
 * Linearised-model prediction (`--adjust_for_init`): fit y − f0(train)/scale and add f0(X)/scale to the scores, where f0
 * are the logits of the initial model with the kernel's C outputs ([N, C] and one [M, C] per evaluated block).
 */
export interface AroundInit {
  f0Train: ScoreMatrix;
  f0Evals: ScoreMatrix[];
  /** `--f0_scaling`, default 1. */
  scale?: number;
}

export interface SolverOptions {
  /** Number of classes; default C of the kernel, or 2 for a single-output kernel (C = 1, f = f1 − f0). */
  numClasses?: number;
  // lstsq
  /** Ridge λ: K_tt + λ·σ_max(K_tt)·I. Default 0. */
  ridge?: number;
  /** Relative rank cutoff of the pseudo-inverse (see linalg.ts `PinvOptions`). */
  rcond?: number;
  aroundInit?: AroundInit;
  // logistic
  /** Inverse regularisation strengths tried by cross-validation. Default logspace(−4, 4, 10). */
  Cs?: number[];
  /** Number of stratified folds. Default 5. */
  folds?: number;
  // asym
  /** AsK-LS γ (`--kernel_gamma`), > 0. Default 1. */
  gamma?: number;
  /** AsK-LS λ (`--kernel_lambda`) ∈ [0, 1]: weight of the α (K) side against the β (flipped K') side. Default 0.5. */
  asymLambda?: number;
}

export interface SolverResult {
  /** One [M, numClasses] matrix per evaluated block, in the order given. Single-output kernels give [−s, +s]. */
  scores: ScoreMatrix[];
  /** Numbers worth logging: `rank` (lstsq), `C` and `cvAccuracy` (logistic), ... */
  info: Record<string, number>;
}

export type Solver = (
  Ktt: KernelBlock,
  Ktx: KernelBlock[],
  yTrain: ArrayLike<number>,
  opts?: SolverOptions,
) => SolverResult;

export type SolverName = 'lstsq' | 'logistic' | 'asym';
