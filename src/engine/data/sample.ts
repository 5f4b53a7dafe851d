/**
 * Seeded k-shot sampling, grouped by label as LM-BFF's `tools/generate_k_shot_data.py` does (docs §8.3):
 * shuffle the pool with the seed, group the rows by label in order of first appearance, and take for each label its
 * first k rows for train and the next k for dev. So |train| = |dev| = k × #classes, train and dev are disjoint, and
 * the files are grouped by label.
 *
 * The PRNG is mulberry32 (a 32-bit state, one multiply-xorshift step per draw) and the shuffle is Fisher–Yates
 * (Durstenfeld: i from n−1 down to 1, swap with j = ⌊u·(i+1)⌋). LM-BFF uses numpy's MT19937, so a split sampled
 * here for seed 13 is NOT LM-BFF's official 16-13 split: use the shipped `k-shot/` folders where they exist.
 */
import { DataError, Example } from './example';
import { mulberry32, shuffledCopy } from '../util/random';

export { mulberry32 };

/** A shuffled copy (Fisher–Yates) of `items`, using `rand` for the draws. */
export const shuffled = shuffledCopy;

export interface KShotSample {
  /** k examples per label, grouped by label in `labelOrder`. */
  train: Example[];
  /** Another k examples per label (disjoint from train), same grouping. */
  dev: Example[];
  /** Labels in order of first appearance in the shuffled pool (the order of the groups). */
  labelOrder: string[];
}

/**
 * Samples k examples per label for train and another k per label for dev from `pool`, seeded by `seed`.
 * With `labels`, every one of them must occur in the pool (and no other). A label with fewer than 2k examples
 * is an error naming the pool file.
 */
export function sampleKShot(pool: readonly Example[], k: number, seed: number, opts: { labels?: readonly string[] } = {}): KShotSample {
  if (!Number.isInteger(k) || k < 1) throw new Error(`sampleKShot: k must be a positive integer, got ${k}.`);
  const where = pool.length > 0 ? pool[0].source.file : '<empty pool>';
  const byLabel = new Map<string, Example[]>();
  for (const ex of shuffled(pool, mulberry32(seed))) {
    const group = byLabel.get(ex.label);
    if (group) group.push(ex);
    else byLabel.set(ex.label, [ex]);
  }
  if (opts.labels) {
    const missing = opts.labels.filter((l) => !byLabel.has(l));
    const extra = [...byLabel.keys()].filter((l) => !opts.labels?.includes(l));
    if (missing.length > 0 || extra.length > 0) {
      throw new DataError(`${where}: the pool's labels do not match the task's${missing.length ? `; missing: ${missing.join(', ')}` : ''}${extra.length ? `; unexpected: ${extra.join(', ')}` : ''}.`, where);
    }
  }
  const short = [...byLabel].filter(([, g]) => g.length < 2 * k).map(([l, g]) => `'${l}' has ${g.length}`);
  if (short.length > 0) {
    throw new DataError(`${where}: too few examples to sample ${k}-shot train and dev (${2 * k} per label needed): ${short.join(', ')}. Use fewer shots or a larger pool.`, where);
  }
  const labelOrder = [...byLabel.keys()];
  return {
    train: labelOrder.flatMap((l) => (byLabel.get(l) as Example[]).slice(0, k)),
    dev: labelOrder.flatMap((l) => (byLabel.get(l) as Example[]).slice(k, 2 * k)),
    labelOrder,
  };
}
