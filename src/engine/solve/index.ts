/** Kernel solvers (float64, pure TypeScript): §4 of docs/paper-and-reference-code.md. */
export type { AroundInit, KernelBlock, ScoreMatrix, Solver, SolverName, SolverOptions, SolverResult } from './types';
export { SOLVERS, SOLVER_NAMES } from './solvers';
export { lstsqSolver } from './lstsq';
export { logisticSolver, stratifiedFolds, fitLogistic, DEFAULT_CS } from './logistic';
export { asymSvmSolver, askLsFit } from './asym-svm';
export { selectOnDev, scoreMetrics, DEFAULT_GRID } from './select';
export type { HyperGrid, SelectInput, Selection, TaskMetric } from './select';
export { blockFromStacked, kernelMatrix } from './kernel-matrix';
export { symEig, svd, pinvSolve, cholesky, choleskySolve, luSolve } from './linalg';
export type { Mat } from './linalg';
