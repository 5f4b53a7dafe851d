import { strict as assert } from 'node:assert';
import { argmaxRows } from '../../../../src/engine/report/metrics';
import { DEFAULT_GRID, selectOnDev } from '../../../../src/engine/solve/select';
import { SOLVERS } from '../../../../src/engine/solve/solvers';
import type { KernelBlock, Solver, SolverName } from '../../../../src/engine/solve/types';
import { clusters, kernelFromFeatures, rng } from './fixtures';

/** Noisy binary problem: two overlapping clusters and 25% flipped train labels, so the ridge matters. */
function noisyProblem() {
  const train = clusters(24, 2, 1.2, 41);
  const dev = clusters(16, 2, 1.2, 42);
  const test = clusters(20, 2, 1.2, 43);
  const r = rng(44);
  const yTrain = train.y.map((l) => (r() > 0.5 ? 1 - l : l));
  return {
    train: kernelFromFeatures(train.phi, train.phi),
    dev: kernelFromFeatures(train.phi, dev.phi),
    test: kernelFromFeatures(train.phi, test.phi),
    yTrain,
    yDev: dev.y,
    yTest: test.y,
  };
}

/** Wraps the real solvers and records, for each call, whether the test kernel was among the evaluated blocks. */
function spySolvers(test: KernelBlock, calls: boolean[]): Record<SolverName, Solver> {
  const wrap = (s: Solver): Solver => (Ktt, Ktx, y, o) => {
    calls.push(Ktx.includes(test));
    return s(Ktt, Ktx, y, o);
  };
  return { lstsq: wrap(SOLVERS.lstsq), logistic: wrap(SOLVERS.logistic), asym: wrap(SOLVERS.asym) };
}

describe('solve/select', () => {
  it('solves every grid point with the dev kernel only, and the chosen one once with [dev, test]', () => {
    const p = noisyProblem();
    for (const [solver, size] of [['lstsq', 5], ['asym', 15], ['logistic', 1]] as const) {
      const calls: boolean[] = [];
      const sel = selectOnDev({ solver, ...p, metric: 'acc', solvers: spySolvers(p.test, calls) });
      assert.equal(sel.trials.length, size, solver);
      assert.deepEqual(calls, [...new Array(size).fill(false), true], `${solver}: test kernel passed during selection`);
    }
  });

  it('picks the first grid point with the best dev metric and reports its dev and test scores', () => {
    const p = noisyProblem();
    const sel = selectOnDev({ solver: 'lstsq', ...p, metric: 'acc' });
    const bestDev = Math.max(...sel.trials.map((t) => t.dev));
    const first = sel.trials.find((t) => t.dev === bestDev)!;
    assert.deepEqual(sel.hyper, { ...first.hyper, aroundInit: false });
    assert.equal(sel.dev.acc, bestDev);
    assert.deepEqual(sel.trials.map((t) => t.hyper.ridge), DEFAULT_GRID.ridge);
    const direct = SOLVERS.lstsq(p.train, [p.test], p.yTrain, { ridge: first.hyper.ridge }).scores[0];
    assert.deepEqual(Array.from(sel.testScores.data), Array.from(direct.data));
  });

  it('never chooses on test: poisoned test labels that make the dev choice the worst on test change nothing', () => {
    const p = noisyProblem();
    const honest = selectOnDev({ solver: 'lstsq', ...p, metric: 'acc' });
    // Poison: the test labels are the opposite of what the chosen point predicts, so it scores 0 on test.
    const chosenPred = argmaxRows(honest.testScores.data, 20, 2);
    const poisoned = Array.from(chosenPred, (c) => 1 - c);
    // Precondition: some other grid point predicts test differently, so a test-peeking selection would switch to it.
    const others = DEFAULT_GRID.ridge.filter((ridge) => ridge !== honest.hyper.ridge);
    const otherPreds = others.map((ridge) => argmaxRows(SOLVERS.lstsq(p.train, [p.test], p.yTrain, { ridge }).scores[0].data, 20, 2));
    assert.ok(otherPreds.some((pred) => pred.some((c, i) => c !== chosenPred[i])), 'fixture: grid points must disagree on test');
    const sel = selectOnDev({ solver: 'lstsq', ...p, yTest: poisoned, metric: 'acc' });
    assert.deepEqual(sel.hyper, honest.hyper);
    assert.deepEqual(sel.trials, honest.trials);
    assert.equal(sel.test!.acc, 0);
  });

  it('selects by F1 of class 1 when the task metric is f1, and reports both acc and f1', () => {
    const p = noisyProblem();
    const sel = selectOnDev({ solver: 'asym', ...p, metric: 'f1', grid: { gamma: [1], asymLambda: [0, 1] } });
    assert.equal(sel.trials.length, 2);
    assert.equal(sel.dev.f1, Math.max(...sel.trials.map((t) => t.dev)));
    assert.ok(sel.dev.acc >= 0 && sel.test!.f1 !== undefined);
  });

  it('fits lstsq around the initial logits when f0 is given (aroundInit in the chosen hyperparameters)', () => {
    const p = noisyProblem();
    const zeros = (M: number) => ({ data: new Float64Array(M * 2), shape: [M, 2] as [number, number] });
    const f0 = { train: zeros(24), dev: zeros(16), test: zeros(20) };
    const sel = selectOnDev({ solver: 'lstsq', ...p, metric: 'acc', f0 });
    assert.equal(sel.hyper.aroundInit, true);
    assert.equal(sel.hyper.f0Scale, 1);
    assert.equal(sel.options.aroundInit?.f0Evals.length, 2);
    // f0 = 0 predicts exactly as without f0.
    const plain = selectOnDev({ solver: 'lstsq', ...p, metric: 'acc' });
    assert.deepEqual(Array.from(sel.testScores.data), Array.from(plain.testScores.data));
  });
});
