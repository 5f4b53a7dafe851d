/** The solvers by name (`--kernel_solver` of the reference; its default is `logistic`). */
import { asymSvmSolver } from './asym-svm';
import { logisticSolver } from './logistic';
import { lstsqSolver } from './lstsq';
import type { Solver, SolverName } from './types';

export const SOLVERS: Record<SolverName, Solver> = {
  lstsq: lstsqSolver,
  logistic: logisticSolver,
  asym: asymSvmSolver,
};

export const SOLVER_NAMES = Object.keys(SOLVERS) as SolverName[];
