/**
 * The engine's one seeded PRNG and shuffle, shared by k-shot sampling (data/sample.ts) and mini-batch order
 * (finetune/batches.ts), so "seed 13" means the same stream everywhere.
 *
 * mulberry32: a 32-bit state, one `Math.imul`-based mixing step per draw; uniform in [0, 1) with 2^-32 resolution.
 * Fisher–Yates (Durstenfeld): i from n−1 down to 1, swap with j = ⌊u·(i+1)⌋.
 */

/** mulberry32 PRNG: returns a function giving uniform numbers in [0, 1), fully determined by the 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A shuffled copy (Fisher–Yates) of `items`, using `rand` for the draws. */
export function shuffledCopy<T>(items: readonly T[], rand: () => number): T[] {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const tmp = out[i];
    out[i] = out[j];
    out[j] = tmp;
  }
  return out;
}
