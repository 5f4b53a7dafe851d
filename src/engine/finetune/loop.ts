import * as tf from '@tensorflow/tfjs';
import { throwIfAborted, yieldToEventLoop } from '../util/abort';
import { batchOrder } from './batches';
import { clipByGlobalNormAsync } from './clip';
import { createOptimizer, type OptimizerName } from './optimizers';
import { linearWarmupDecay } from './schedule';

export interface StepInfo {
  /** 1-based number of optimizer steps taken. */
  step: number;
  loss: number;
  learningRate: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  batch: number[];
}

export interface FinetuneOptions {
  /** The trained parameters by name (names decide weight-decay exemption: biases and LayerNorm weights). */
  params: Map<string, tf.Variable>;
  /** Mean loss of the batch (training indices); `training` turns dropout on; `seed` is per step. Must read `params`. */
  lossFn: (batch: number[], ctx: { training: boolean; seed: number }) => tf.Scalar;
  nTrain: number;
  steps: number;
  batchSize: number;
  optimizer: OptimizerName;
  learningRate: number;
  warmupSteps?: number;
  weightDecay?: number;
  /** Global-norm clipping threshold (reference default 1.0; Infinity disables). */
  maxGradNorm?: number;
  /** Evaluate on dev every `evalEvery` steps and after the last step; 0 or absent: never. */
  evalEvery?: number;
  /** The dev metric (higher is better), and optionally other figures recorded with it (e.g. the eval-mode train loss). */
  evaluate?: () => Promise<{ metric: number; trainLoss?: number }>;
  seed: number;
  signal?: AbortSignal;
  onStep?: (info: StepInfo) => void | Promise<void>;
}

export interface FinetuneResult {
  lossCurve: { step: number; loss: number }[];
  devCurve: { step: number; metric: number; trainLoss?: number }[];
  /** The step whose parameters were kept (the best dev metric; the first on ties); the last step without evaluation. */
  bestStep: number;
  bestMetric: number | null;
}

/** The per-step seed handed to `lossFn` (dropout masks): a fixed function of (seed, step). */
export const stepSeed = (seed: number, step: number): number => (Math.imul(seed >>> 0, 1_000_003) + step) >>> 0;

/**
 * Fine-tuning as in the reference trainer (§5.1): mini-batches from a seeded per-epoch shuffle (batches.ts), the
 * linear warm-up/decay schedule, gradient clipping at `maxGradNorm` (before the sign of SignGD), SGD / SignGD /
 * AdamW steps, and dev evaluation every `evalEvery` steps (and after the last) with best-dev selection: a copy of the
 * best parameters is kept and restored at the end, like the reference's reload of its best checkpoint.
 *
 * Deterministic: the same inputs and seed give bitwise the same loss curve on the cpu backend.
 * The AbortSignal is checked before every step and before every evaluation; an abort throws `AbortError` and leaves
 * the parameters at the last completed step (no restore). No tensors are left behind.
 */
export async function finetune(o: FinetuneOptions): Promise<FinetuneResult> {
  const entries = [...o.params];
  const vars = entries.map(([, v]) => v);
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new Error(`finetune/loop.ts: steps = ${o.steps} must be a positive integer`);
  if (!(o.learningRate >= 0)) throw new Error(`finetune/loop.ts: learningRate = ${o.learningRate} must be ≥ 0`);
  const warmupSteps = o.warmupSteps ?? 0;
  const maxGradNorm = o.maxGradNorm ?? 1.0;
  const evalEvery = o.evaluate ? o.evalEvery ?? 0 : 0;
  const optimizer = createOptimizer(o.optimizer, entries, { weightDecay: o.weightDecay ?? 0 });
  const batches = batchOrder(o.nTrain, o.batchSize, o.seed);
  const lossCurve: FinetuneResult['lossCurve'] = [];
  const devCurve: FinetuneResult['devCurve'] = [];
  let best: tf.Tensor[] | null = null;
  let bestStep = o.steps;
  let bestMetric: number | null = null;
  try {
    for (let s = 0; s < o.steps; s++) {
      throwIfAborted(o.signal, `fine-tuning (before step ${s + 1} of ${o.steps})`);
      const batch = batches.next().value;
      const learningRate = linearWarmupDecay(s, { learningRate: o.learningRate, warmupSteps, totalSteps: o.steps });
      const { value, grads } = tf.engine().gradients(() => o.lossFn(batch, { training: true, seed: stepSeed(o.seed, s) }), vars, undefined, true);
      let gradNorm: number;
      let loss: number;
      try {
        if (value.rank !== 0) throw new Error(`finetune/loop.ts: lossFn must return a scalar, got shape [${value.shape}]`);
        loss = (await value.data())[0]; // asynchronous: the webgpu backend cannot read synchronously
        if (!Number.isFinite(loss)) {
          throw new Error(`finetune/loop.ts: the loss is ${loss} at step ${s + 1}; lower the learning rate (${o.learningRate}) or check the inputs`);
        }
        const clipped = await clipByGlobalNormAsync(grads, maxGradNorm);
        gradNorm = clipped.norm;
        try { optimizer.step(clipped.grads, learningRate); } finally { clipped.grads.forEach((g) => g?.dispose()); }
      } finally {
        value.dispose();
        grads.forEach((g) => g?.dispose());
      }
      lossCurve.push({ step: s + 1, loss });
      if (evalEvery > 0 && ((s + 1) % evalEvery === 0 || s + 1 === o.steps)) {
        throwIfAborted(o.signal, `fine-tuning (before the dev evaluation at step ${s + 1})`);
        const evaluated = await o.evaluate!();
        const { metric } = evaluated;
        devCurve.push({ step: s + 1, ...evaluated });
        if (bestMetric === null || metric > bestMetric) {
          bestMetric = metric;
          bestStep = s + 1;
          best?.forEach((t) => t.dispose());
          best = vars.map((v) => tf.clone(v)); // tensors are immutable: the copy survives later assigns
        }
      }
      await o.onStep?.({ step: s + 1, loss, learningRate, gradNorm, batch });
      await yieldToEventLoop();
    }
    if (best) vars.forEach((v, i) => v.assign(best![i]));
    return { lossCurve, devCurve, bestStep, bestMetric };
  } finally {
    best?.forEach((t) => t.dispose());
    optimizer.dispose();
  }
}
