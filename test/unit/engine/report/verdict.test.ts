import { strict as assert } from 'node:assert';
import { evidenceText, summarise, verdict, VERDICT_THRESHOLDS } from '../../../../src/engine/report/summary';
import { checkTraining, meanCrossEntropy } from '../../../../src/engine/report/training-check';
import type { SeedResult } from '../../../../src/engine/report/types';

/**
 * A seed whose FT and kernel predictions on M test examples are given as right/wrong patterns: `ftRight` and
 * `kRight` examples correct, the first `both` correct for both.
 */
function seed(o: { seed?: number; M: number; ftRight: number; kRight: number; both: number; trained?: boolean; kernelChange?: number; linearization?: number }): SeedResult {
  const gold = Array.from({ length: o.M }, (_, i) => i % 2);
  const logit = (right: boolean, g: number) => (right === (g === 1) ? [0, 1] : [1, 0]);
  const ftOk = (i: number) => i < o.both || (i >= o.both && i < o.both + (o.ftRight - o.both));
  const kOk = (i: number) => i < o.both || (i >= o.both + (o.ftRight - o.both) && i < o.both + (o.ftRight - o.both) + (o.kRight - o.both));
  const trained = o.trained ?? true;
  return {
    seed: o.seed ?? 13,
    split: { trainFile: 't', devFile: 'd', testFile: 'x', nTrain: 8, nDev: 8, nTest: o.M },
    finetune: {
      optimizer: 'sgd', learningRate: 0.01, grid: [], trainable: { parameters: 'all', count: 10, tensors: 1 }, dropout: true,
      check: trained ? { trained, reasons: [], lossStart: 0.7, lossEnd: 0.1, devRange: 0.2, logitMove: 1 } : checkTraining({
        trainLossStart: 0.69, trainLossEnd: 0.689, devCurve: [{ step: 50, metric: 0.5625 }, { step: 100, metric: 0.5625 }],
        nDev: 32, logitsBefore: [1, -1, 2, -2], logitsAfter: [1.001, -1, 2, -2.001], numClasses: 2, optimizer: 'sgd', learningRate: 1e-4, steps: 100,
      }),
      steps: 100, batchSize: 8, bestStep: 100, dev: { acc: 0.5 }, test: { acc: o.ftRight / o.M }, before: { dev: { acc: 0.5 }, test: { acc: 0.5 } },
      lossCurve: [], devCurve: [], testLogitsBefore: [], testLogits: gold.map((g, i) => logit(ftOk(i), g)), seconds: 1,
    },
    kernels: {
      sgd: {
        kind: 'sgd', solver: 'lstsq', hyper: {}, dev: { acc: 0.5 }, test: { acc: o.kRight / o.M }, testScores: gold.map((g, i) => logit(kOk(i), g)),
        agreement: NaN, logitCorrelation: NaN, spectrum: [], files: {}, parameterCount: 10, seconds: 1,
      },
    },
    diagnostics: {
      kernelChange: o.kernelChange ?? 0.1,
      linearization: { step: 100, ftToLinearized: o.linearization ?? 0.1, ftToInit: 1, relative: o.linearization ?? 0.1, test: { acc: 0.5 } },
    },
    test: { text: gold.map((_, i) => `example ${i}`), gold },
    warnings: [],
    seconds: 1,
  };
}

const judge = (seeds: SeedResult[]) => verdict(seeds, summarise(seeds, 'acc'), 'sgd');

describe('the verdict: every figure with its interval and threshold, three outcomes', () => {
  it('kernel-like when the whole gap interval is within ±5 points and the whole agreement interval is ≥ 80 %', () => {
    // 1000 test examples: FT 850, kernel 845 right, 830 both → gap 0.5 pts, agreement 97.5 %.
    const v = judge([seed({ M: 1000, ftRight: 850, kRight: 845, both: 830 })]);
    assert.equal(v.status, 'kernel-like');
    assert.equal(v.kernelLike, true);
    const gap = v.evidence.find((e) => e.name === 'gap')!;
    assert.ok(Math.abs(gap.value - 0.005) < 1e-12);
    assert.ok(gap.interval![0] > -VERDICT_THRESHOLDS.maxAccuracyGap && gap.interval![1] < VERDICT_THRESHOLDS.maxAccuracyGap);
    // The text prints every figure it used, with its interval and threshold.
    assert.match(v.text, /^kernel-like: K\[sgd\] vs FT \(acc, 1 seed\): gap 0\.5 \[−?\d\.\d, \d\.\d\] pts \(\|gap\| ≤ 5\), agreement 9[78] \[9\d, 9\d\] % \(≥ 80\), kernel change 0\.10 \(≤ 0\.5\), linearisation 0\.10 \(≤ 0\.5\)$/);
  });

  it('not kernel-like when the whole gap interval lies beyond 5 points, naming the figure', () => {
    const v = judge([seed({ M: 1000, ftRight: 900, kRight: 700, both: 680 })]);
    assert.equal(v.status, 'not-kernel-like');
    assert.equal(v.kernelLike, false);
    assert.match(v.reason!, /gap/);
    assert.equal(v.evidence.find((e) => e.name === 'gap')!.pass, false);
  });

  it('inconclusive when the gap interval straddles ±5 points: a small test set cannot decide', () => {
    // 40 examples: gap 5 pts with an interval of about ±10.
    const v = judge([seed({ M: 40, ftRight: 30, kRight: 28, both: 26 })]);
    assert.equal(v.status, 'inconclusive');
    assert.equal(v.kernelLike, null);
    assert.equal(v.evidence.find((e) => e.name === 'gap')!.pass, null);
    assert.match(v.reason!, /straddles its threshold: more test examples \(test_limit\) or seeds would decide/);
  });

  it('a seed whose fine-tuning did not train makes the verdict inconclusive with the remedy, never "not kernel-like"', () => {
    // The figures alone would say "not kernel-like" (gap 20 points).
    const v = judge([seed({ M: 1000, ftRight: 900, kRight: 700, both: 680, trained: false })]);
    assert.equal(v.status, 'inconclusive');
    assert.match(v.text, /^inconclusive: fine-tuning did not train/);
    assert.match(v.reason!, /seed 13: the loss did not fall .*dev curve is flat.*logits barely moved.*raise finetune\.learning_rate \(0\.0001 for sgd; a grid such as \[1e-4, 1e-3, 1e-2\]/);
  });

  it('the regime diagnostics fail on their mean over seeds and carry the spread', () => {
    const v = judge([seed({ seed: 1, M: 1000, ftRight: 850, kRight: 845, both: 830, linearization: 0.9 }), seed({ seed: 2, M: 1000, ftRight: 850, kRight: 845, both: 830, linearization: 0.7 })]);
    assert.equal(v.status, 'not-kernel-like');
    const lin = v.evidence.find((e) => e.name === 'linearisation')!;
    assert.ok(Math.abs(lin.value - 0.8) < 1e-12);
    assert.ok(Math.abs(lin.spread!.std - 0.1) < 1e-12);
    assert.match(evidenceText(lin), /^linearisation 0\.80 ± 0\.10 \(≤ 0\.5\)$/);
  });

  it('no verdict without fine-tuning', () => {
    const s = seed({ M: 10, ftRight: 5, kRight: 5, both: 5 });
    delete s.finetune;
    assert.equal(judge([s]).status, 'none');
  });
});

describe('did fine-tuning train? (report/training-check.ts)', () => {
  it('meanCrossEntropy is the float64 mean of log Σ exp − the gold logit (closed form for two classes: log(1 + e^(−margin)))', () => {
    const ce = meanCrossEntropy([0, 2, 3, 1], [1, 0], 2);
    assert.ok(Math.abs(ce - (Math.log(1 + Math.exp(-2)) + Math.log(1 + Math.exp(-2))) / 2) < 1e-15);
    assert.ok(Math.abs(meanCrossEntropy([1000, 0], [0], 2)) < 1e-12, 'stable for large logits');
  });

  it('the observed case: dev 56.25 % at every evaluation, loss flat, logits moved 0.18 in norm over 600 values → did not train', () => {
    const M = 300;
    const before = Array.from({ length: 2 * M }, (_, i) => (i % 2 ? 1 : -1) * (0.5 + (i % 7) / 10));
    const after = before.map((v, i) => v + (i % 2 ? 0.18 : -0.18) / Math.sqrt(2 * M)); // ‖Δ‖ = 0.18
    const c = checkTraining({
      trainLossStart: 0.68, trainLossEnd: 0.679,
      devCurve: Array.from({ length: 10 }, (_, i) => ({ step: 100 * (i + 1), metric: 0.5625 })), nDev: 32,
      logitsBefore: before, logitsAfter: after, numClasses: 2, optimizer: 'sgd', learningRate: 1e-4, steps: 1000,
    });
    assert.equal(c.trained, false);
    assert.equal(c.reasons.length, 3);
    assert.ok(Math.abs(c.logitMove - 0.18 / Math.sqrt(2 * M)) < 1e-12);
  });

  it('a run whose loss fell trained, even with a flat dev curve and small moves', () => {
    const c = checkTraining({
      trainLossStart: 0.7, trainLossEnd: 0.2,
      devCurve: [{ step: 50, metric: 0.5 }, { step: 100, metric: 0.5 }], nDev: 8,
      logitsBefore: [1, -1], logitsAfter: [1.001, -1.001], numClasses: 2, optimizer: 'adam', learningRate: 1e-5, steps: 100,
    });
    assert.equal(c.trained, true);
    assert.deepEqual(c.reasons, []);
  });

  it('a loss already near 0 at the start gets the remedy that says so, not "raise the learning rate"', () => {
    const c = checkTraining({
      trainLossStart: 0.001, trainLossEnd: 0.001, devCurve: [{ step: 10, metric: 1 }], nDev: 8,
      logitsBefore: [5, -5], logitsAfter: [5, -5], numClasses: 2, optimizer: 'sgd', learningRate: 0.1, steps: 10,
    });
    assert.equal(c.trained, false);
    assert.match(c.remedy!, /already 0\.0010 at the start/);
  });
});
