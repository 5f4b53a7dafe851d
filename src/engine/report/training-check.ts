/**
 * Did fine-tuning train at all?
 *
 * A fine-tuning run that did not move (learning rate too small for the optimizer, too few steps) makes every
 * comparison with the kernel meaningless: "FT accuracy" is then the starting point's, and the linearisation ratio
 * divides by almost nothing. Observed: SGD at lr 1e-4 on SST-2 in standard mode, dev accuracy 56.25 % at all ten
 * evaluations, test logits moved by 0.18 in norm over 600 values. Such a seed gets the verdict "inconclusive:
 * fine-tuning did not train", with the remedy, never "not kernel-like".
 *
 * The three signs, all of which must hold (one alone happens in runs that trained: a small dev set can stay flat
 * while the loss falls; the loss can stay put at an optimum the run reached early):
 *  - the loss did not fall: the cross-entropy over the whole train set in eval mode at the last evaluation is above
 *    95 % of the one at θ0 (deterministic: mini-batch losses vary by batch and dropout mask, too much to compare);
 *  - the dev curve is flat: its range is below one dev example's worth (1 / nDev) — or there is no dev curve;
 *  - the logits barely moved: RMS(f_FT − f_0) over test examples × classes is below 2 % of the RMS of the initial
 *    logits centred per example (what decides the prediction), and below 0.05 logit units in any case.
 */
import type { TrainingCheck } from './types';

export const TRAINING_CHECK = {
  /** lossEnd / lossStart above this: the loss did not fall. */
  maxLossRatio: 0.95,
  /** RMS logit move below this share of the centred initial logits' RMS: the logits barely moved. */
  minRelativeMove: 0.02,
  /** ... and below this many logit units. */
  minAbsoluteMove: 0.05,
  /** A starting loss below this (nats) means there was almost nothing left to fit. */
  lowLoss: 0.05,
} as const;

export interface TrainingCheckInput {
  /** Train-set cross-entropy in eval mode at θ0 and at the last evaluation. */
  trainLossStart: number;
  trainLossEnd: number;
  devCurve: { step: number; metric: number }[];
  nDev: number;
  /** Test logits before and after fine-tuning, row-major [M·C]. */
  logitsBefore: ArrayLike<number>;
  logitsAfter: ArrayLike<number>;
  numClasses: number;
  /** For the remedy. */
  optimizer: 'sgd' | 'adam';
  learningRate: number;
  steps: number;
}

export function checkTraining(o: TrainingCheckInput): TrainingCheck {
  const T = TRAINING_CHECK;
  const lossStart = o.trainLossStart;
  const lossEnd = o.trainLossEnd;
  const devs = o.devCurve.map((p) => p.metric);
  const devRange = devs.length ? Math.max(...devs) - Math.min(...devs) : 0;
  const C = o.numClasses;
  const M = o.logitsBefore.length / C;
  let move = 0;
  let spread = 0;
  for (let m = 0; m < M; m++) {
    let mean = 0;
    for (let c = 0; c < C; c++) mean += o.logitsBefore[m * C + c] / C;
    for (let c = 0; c < C; c++) {
      move += (o.logitsAfter[m * C + c] - o.logitsBefore[m * C + c]) ** 2;
      spread += (o.logitsBefore[m * C + c] - mean) ** 2;
    }
  }
  const logitMove = Math.sqrt(move / Math.max(1, M * C));
  const logitSpread = Math.sqrt(spread / Math.max(1, M * C));

  const lossFlat = !(lossEnd <= T.maxLossRatio * lossStart);
  const devFlat = devRange < 1 / Math.max(1, o.nDev);
  const logitsStill = logitMove < Math.min(T.minAbsoluteMove, T.minRelativeMove * logitSpread) || logitMove === 0;
  const trained = !(lossFlat && devFlat && logitsStill);
  if (trained) return { trained, reasons: [], lossStart, lossEnd, devRange, logitMove };

  const reasons = [
    `the loss did not fall (train-set cross-entropy ${lossStart.toFixed(4)} at the start, ${lossEnd.toFixed(4)} at the end)`,
    devs.length ? `the dev curve is flat (${(100 * Math.min(...devs)).toFixed(2)}–${(100 * Math.max(...devs)).toFixed(2)} % over ${devs.length} evaluations)` : 'there was no dev evaluation',
    `the test logits barely moved (RMS change ${logitMove.toPrecision(2)}, ${(100 * logitMove / Math.max(logitSpread, 1e-12)).toPrecision(2)} % of their spread)`,
  ];
  const remedy = lossStart < T.lowLoss
    ? `the training loss was already ${lossStart.toFixed(4)} at the start, so there was little to fit: use a harder task or more shots, or compare in prompt mode`
    : `raise finetune.learning_rate (${o.learningRate} for ${o.optimizer}; a grid such as ${suggestGrid(o.learningRate)} picks the best on dev) or finetune.steps (${o.steps})`;
  return { trained, reasons, remedy, lossStart, lossEnd, devRange, logitMove };
}

/** Mean cross-entropy of row-major logits [N·C] against class ids, in float64 (log-sum-exp stabilised). */
export function meanCrossEntropy(logits: ArrayLike<number>, gold: number[], C: number): number {
  let sum = 0;
  for (let n = 0; n < gold.length; n++) {
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, logits[n * C + c]);
    let z = 0;
    for (let c = 0; c < C; c++) z += Math.exp(logits[n * C + c] - max);
    sum += max + Math.log(z) - logits[n * C + gold[n]];
  }
  return sum / Math.max(1, gold.length);
}

/** `lr`, 10·lr and 100·lr in the experiment file's list syntax. */
function suggestGrid(lr: number): string {
  return `[${[lr, 10 * lr, 100 * lr].map((x) => x.toExponential(0)).join(', ')}]`;
}
