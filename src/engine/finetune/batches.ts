/**
 * Mini-batch order: a seeded shuffle of the training set per epoch.
 *
 * PRNG: mulberry32 (a 32-bit state, one `Math.imul`-based mixing step per draw; uniform in [0, 1) with 2^-32
 * resolution), seeded once with `seed`; every epoch draws a fresh Fisher–Yates permutation of 0..n−1 from the same
 * stream, so the order depends only on (n, batchSize, seed). Batches follow the permutation in slices of
 * `batchSize`; the last batch of an epoch may be smaller (like PyTorch's RandomSampler + DataLoader, drop_last =
 * False), and steps continue into the next epoch.
 */

import { mulberry32, shuffledCopy } from '../util/random';

export { mulberry32 };

/** A uniformly random permutation of 0..n−1 (Fisher–Yates) drawn from `rand`. */
export function shuffled(n: number, rand: () => number): number[] {
  return shuffledCopy(Array.from({ length: n }, (_, i) => i), rand);
}

/** An endless sequence of mini-batches of training indices, reshuffled every epoch. */
export function* batchOrder(nTrain: number, batchSize: number, seed: number): Generator<number[], never, void> {
  if (!Number.isInteger(nTrain) || nTrain < 1) throw new Error(`finetune/batches.ts: nTrain = ${nTrain}; the training set must hold at least one example`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`finetune/batches.ts: batchSize = ${batchSize} must be a positive integer`);
  const rand = mulberry32(seed);
  for (;;) {
    const order = shuffled(nTrain, rand);
    for (let i = 0; i < nTrain; i += batchSize) yield order.slice(i, i + batchSize);
  }
}

/** The first `steps` batches of `batchOrder` (what fine-tuning and the linearised dynamics both use). */
export function batchSchedule(nTrain: number, batchSize: number, seed: number, steps: number): number[][] {
  const it = batchOrder(nTrain, batchSize, seed);
  return Array.from({ length: steps }, () => it.next().value);
}
