import { strict as assert } from 'node:assert';
import { accuracy, agreement, argmaxRows, f1Binary, mean, meanStd, pearson, std } from '../../../../src/engine/report/metrics';

const close = (a: number, b: number, tol = 1e-12): void => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

describe('report/metrics', () => {
  it('accuracy: 3 of 4 right is 0.75', () => {
    assert.equal(accuracy([0, 1, 1, 0], [0, 1, 0, 0]), 0.75);
  });

  it('f1Binary: TP 2, FP 1, FN 1 gives 2·2/(4+1+1) = 2/3; the positive class can be chosen', () => {
    const pred = [1, 1, 0, 1, 0];
    const gold = [1, 0, 0, 1, 1];
    close(f1Binary(pred, gold), 2 / 3);
    // positive class 0: TP 1 (index 2), FP 1 (index 4), FN 1 (index 1) → 2/4
    close(f1Binary(pred, gold, 0), 0.5);
  });

  it('f1Binary is 0 when there are no true positives, and 0 (sklearn zero_division) for 0/0', () => {
    assert.equal(f1Binary([0, 0, 1], [1, 1, 0]), 0);
    assert.equal(f1Binary([0, 0], [0, 0]), 0);
  });

  it('agreement is the share of equal predictions', () => {
    assert.equal(agreement([2, 0, 1, 1, 2], [2, 1, 1, 0, 2]), 0.6);
  });

  it('pearson of [1,2,3] and [2,4,7] is 5/√(2·114/9); perfectly (anti)correlated give ±1; constant gives NaN', () => {
    close(pearson([1, 2, 3], [2, 4, 7]), 5 / Math.sqrt((2 * 114) / 9));
    close(pearson([1, 2, 3, 4], [-3, -1, 1, 3]), 1);
    close(pearson([1, 2, 3], [3, 2, 1]), -1);
    assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])));
  });

  it('mean and population std (ddof 0): [1,2,3,4] → 2.5 and √1.25', () => {
    assert.equal(mean([1, 2, 3, 4]), 2.5);
    close(std([1, 2, 3, 4]), Math.sqrt(1.25));
    assert.equal(std([5]), 0);
    assert.deepEqual(meanStd([0.8, 0.9]), { mean: 0.8500000000000001, std: std([0.8, 0.9]), n: 2 });
    close(meanStd([0.8, 0.9]).std, 0.05);
  });

  it('argmaxRows takes the first maximum on ties, as numpy', () => {
    assert.deepEqual(Array.from(argmaxRows([0.1, 0.5, 0.5, 2, -1, 0, 3, 3, 3], 3, 3)), [1, 0, 0]);
  });

  it('refuses arrays of different lengths or no examples, naming the file', () => {
    assert.throws(() => accuracy([1, 2], [1]), /report\/metrics\.ts: accuracy of arrays of different lengths \(2 and 1\)/);
    assert.throws(() => f1Binary([], []), /no examples/);
    assert.throws(() => argmaxRows([1, 2, 3], 2, 2), /argmaxRows of 3 values as \[2, 2\]/);
  });
});
