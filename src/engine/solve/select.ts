/**
 * Hyperparameter selection on the dev split (§4.4 of docs/paper-and-reference-code.md: the reference picks, per data
 * split, the run with the best dev metric and reports its test metric).
 *
 * Every grid point is solved with the dev kernel ONLY (the test kernel, test logits and test labels are not passed
 * to the solver and not read) and scored by the task metric on dev. The best point wins; ties go to the earlier grid
 * point (grids are listed from the least to the most regularised / in the order below). Then the chosen point is
 * solved once more with [dev, test] to produce the test scores.
 *
 * Grids (cartesian product, in this key order):
 * - lstsq:    ridge ∈ {0, 1e-4, 1e-3, 1e-2, 1e-1} (× f0Scale ∈ {1} when initial logits are given: aroundInit on);
 * - logistic: no outer grid: its C is chosen by cross-validation on the train rows inside the solver (as the reference);
 * - asym:     gamma ∈ {0.01, 0.1, 1, 10, 100} (absolute, like `--kernel_gamma`) × asymLambda ∈ {0, 0.5, 1}.
 */
import { accuracy, argmaxRows, f1Binary } from '../report/metrics';
import type { Scores } from '../report/types';
import { SOLVERS } from './solvers';
import type { KernelBlock, ScoreMatrix, Solver, SolverName, SolverOptions } from './types';

const WHERE = 'solve/select.ts';

export interface HyperGrid {
  ridge?: number[];
  f0Scale?: number[];
  gamma?: number[];
  asymLambda?: number[];
}
type GridKey = keyof HyperGrid;

const GRID_KEYS: Record<SolverName, GridKey[]> = {
  lstsq: ['ridge', 'f0Scale'],
  logistic: [],
  asym: ['gamma', 'asymLambda'],
};

export const DEFAULT_GRID: Required<HyperGrid> = {
  ridge: [0, 1e-4, 1e-3, 1e-2, 1e-1],
  f0Scale: [1],
  gamma: [0.01, 0.1, 1, 10, 100],
  asymLambda: [0, 0.5, 1],
};

export type TaskMetric = 'acc' | 'f1';

export interface SelectInput {
  solver: SolverName;
  train: KernelBlock;
  dev: KernelBlock;
  test: KernelBlock;
  yTrain: ArrayLike<number>;
  yDev: ArrayLike<number>;
  /** Test labels, only to score the chosen point; never used for the choice. */
  yTest?: ArrayLike<number>;
  /** Selection metric: accuracy, or binary F1 of class 1 (MRPC/QQP). */
  metric: TaskMetric;
  /** Replaces the default values of the keys it names. */
  grid?: HyperGrid;
  /** Options held fixed (numClasses, rcond, Cs, folds, ...). */
  options?: SolverOptions;
  /** Initial-model logits with the kernel's C outputs: lstsq then predicts around f0 (the linearised model). */
  f0?: { train: ScoreMatrix; dev: ScoreMatrix; test: ScoreMatrix };
  /** Solver implementations (default `SOLVERS`); lets tests observe what each call receives. */
  solvers?: Record<SolverName, Solver>;
}

export interface Selection {
  solver: SolverName;
  /** The chosen hyperparameters (for the report's `KernelResult.hyper`). */
  hyper: Record<string, number | boolean | string>;
  /** The solver options of the chosen point. */
  options: SolverOptions;
  dev: Scores;
  /** Present when `yTest` was given. */
  test?: Scores;
  devScores: ScoreMatrix;
  testScores: ScoreMatrix;
  /** Each grid point and its dev metric, in grid order. */
  trials: { hyper: Record<string, number>; dev: number }[];
  /** The solver's `info` for the chosen point. */
  info: Record<string, number>;
}

/** Accuracy (and F1 when it is the metric) of a score matrix against gold class ids. */
export function scoreMetrics(scores: ScoreMatrix, gold: ArrayLike<number>, metric: TaskMetric): Scores {
  const pred = argmaxRows(scores.data, scores.shape[0], scores.shape[1]);
  const acc = accuracy(pred, gold);
  return metric === 'f1' ? { acc, f1: f1Binary(pred, gold, 1) } : { acc };
}

function gridPoints(keys: GridKey[], grid: Required<HyperGrid>): Record<string, number>[] {
  let points: Record<string, number>[] = [{}];
  for (const key of keys) {
    const values = grid[key];
    if (values.length === 0) throw new Error(`${WHERE}: the grid for '${key}' is empty; give at least one value`);
    points = points.flatMap((p) => values.map((v) => ({ ...p, [key]: v })));
  }
  return points;
}

export function selectOnDev(input: SelectInput): Selection {
  const solve = (input.solvers ?? SOLVERS)[input.solver];
  if (solve === undefined) throw new Error(`${WHERE}: unknown solver '${input.solver}'; use one of ${Object.keys(SOLVERS).join(', ')}`);
  if (input.yDev.length !== input.dev.shape[2]) {
    throw new Error(`${WHERE}: ${input.yDev.length} dev labels for a dev kernel over ${input.dev.shape[2]} examples`);
  }
  if (input.yTest !== undefined && input.yTest.length !== input.test.shape[2]) {
    throw new Error(`${WHERE}: ${input.yTest.length} test labels for a test kernel over ${input.test.shape[2]} examples`);
  }
  const grid: Required<HyperGrid> = { ...DEFAULT_GRID, ...input.grid };
  const useF0 = input.f0 !== undefined && input.solver === 'lstsq';
  const keys = GRID_KEYS[input.solver].filter((k) => k !== 'f0Scale' || useF0);

  const optionsAt = (point: Record<string, number>, f0Evals: ScoreMatrix[]): SolverOptions => {
    const o: SolverOptions = { ...input.options, ...point };
    delete (o as Record<string, unknown>).f0Scale;
    if (useF0) o.aroundInit = { f0Train: input.f0!.train, f0Evals, scale: point.f0Scale };
    return o;
  };

  // Selection: dev only.
  const trials = gridPoints(keys, grid).map((point) => {
    const { scores } = solve(input.train, [input.dev], input.yTrain, optionsAt(point, useF0 ? [input.f0!.dev] : []));
    const m = scoreMetrics(scores[0], input.yDev, input.metric);
    return { hyper: point, dev: input.metric === 'f1' ? m.f1! : m.acc };
  });
  let best = 0;
  for (let i = 1; i < trials.length; i++) if (trials[i].dev > trials[best].dev) best = i;

  // The chosen point, now also on test.
  const options = optionsAt(trials[best].hyper, useF0 ? [input.f0!.dev, input.f0!.test] : []);
  const { scores, info } = solve(input.train, [input.dev, input.test], input.yTrain, options);
  const hyper: Record<string, number | boolean | string> = { ...trials[best].hyper };
  if (input.solver === 'lstsq') hyper.aroundInit = useF0;
  if (input.solver === 'logistic') hyper.C = info.C;
  return {
    solver: input.solver,
    hyper,
    options,
    dev: scoreMetrics(scores[0], input.yDev, input.metric),
    test: input.yTest === undefined ? undefined : scoreMetrics(scores[1], input.yTest, input.metric),
    devScores: scores[0],
    testScores: scores[1],
    trials,
    info,
  };
}
