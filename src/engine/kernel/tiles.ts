/**
 * Tiled kernel calls: one big kernel computed by separate processes, each a tile, then merged.
 *
 * A tiled call (`KernelRunOptions.tile = { index, count }`, both implementations) plans the whole computation
 * exactly as the untiled call does (train chunks; the recorded batches of every set, sorted by length, with the
 * batch sizes the untiled call would use; train×train) and walks that plan in its order. Every tile holds every train
 * chunk (the held gradients are needed by all work against the chunk: that is the price of tiling); the other work
 * comes in units (an evaluated batch of a set against one chunk; a streamed train batch against one chunk; a held
 * train batch's rows of train×train; for the plain kernel one example against one chunk), each assigned, in plan
 * order, to the tile with the least work so far (`planTiles`; weights: padded tokens of the batch, or 1 per example).
 * A tile executes only its units, with the same tensors and the same order of float64 sums as the untiled call, so
 * its entries are bitwise the untiled call's. Its result has the untiled layout; each block carries `tile`
 * (types.ts `KernelTileFill`): the (n, m) example pairs it filled and the plan's fingerprint.
 *
 * `mergeKernelTiles` checks that the tiles are the `count` tiles of one plan (no tile missing, none twice, no pair
 * computed twice or by none) and copies each tile's pairs; the structured kernel's train×train is then made exactly
 * symmetric as the untiled call does (`symmetrizeTrain`), which must see the whole block.
 */
import { createHash } from 'node:crypto';
import type { KernelBlock, KernelBlocks, KernelKind, KernelResult, KernelTile, KernelTileFill } from './types';

/** Checks a tile option: integers, 0 ≤ index < count. Returns it (or undefined: untiled). */
export function checkTile(tile: KernelTile | undefined, where: string): KernelTile | undefined {
  if (!tile) return undefined;
  const { index, count } = tile;
  if (!Number.isInteger(count) || count < 1 || !Number.isInteger(index) || index < 0 || index >= count) {
    throw new Error(`${where}: tile { index: ${index}, count: ${count} } is not a tile; count must be a positive integer and index an integer in 0..count−1`);
  }
  return { index, count };
}

/**
 * Assigns work units, in plan order, to `count` tiles: each unit goes to the tile with the least total weight so far
 * (ties: the lowest index). Deterministic, so every tile derives the same assignment. Returns each unit's tile.
 */
export function planTiles(weights: readonly number[], count: number): number[] {
  const assigner = new TileAssigner(count);
  return weights.map((w) => assigner.next(w));
}

/** `planTiles` one unit at a time, for plans that unfold as the computation runs (the structured kernel's batches). */
export class TileAssigner {
  readonly load: number[];
  constructor(count: number) {
    this.load = new Array<number>(count).fill(0);
  }

  /** The tile of the next unit (weight ≥ 0). */
  next(weight: number): number {
    let best = 0;
    for (let t = 1; t < this.load.length; t++) if (this.load[t] < this.load[best]) best = t;
    this.load[best] += weight;
    return best;
  }
}

/** The plan's fingerprint, built from its steps in order (sha-256, 16 hex digits). */
export class PlanFingerprint {
  private readonly hash = createHash('sha256');
  add(...parts: (string | number | readonly number[])[]): void {
    this.hash.update(parts.map((p) => (typeof p === 'object' ? p.join(',') : String(p))).join('|'));
    this.hash.update('\n');
  }

  digest(): string {
    return this.hash.digest('hex').slice(0, 16);
  }
}

/** Records, per block, the example pairs a tile fills. */
export class FilledPairs {
  readonly masks = new Map<string, { mask: Uint8Array; M: number }>();
  constructor(N: number, sets: { name: string; size: number }[]) {
    for (const s of sets) this.masks.set(s.name, { mask: new Uint8Array(N * s.size), M: s.size });
  }

  /** Marks the pairs (n, m), n ∈ rows, m ∈ cols, of block `set`. */
  mark(set: string, rows: Iterable<number>, cols: readonly number[]): void {
    const { mask, M } = this.masks.get(set)!;
    for (const n of rows) for (const m of cols) mask[n * M + m] = 1;
  }

  /** Attaches the tile's fill to every block of `result`. */
  attach(result: KernelResult, tile: KernelTile, plan: string, symmetrizeTrain: boolean): void {
    for (const blocks of Object.values(result)) {
      for (const [name, blk] of Object.entries(blocks!)) {
        blk.tile = { index: tile.index, count: tile.count, filled: this.masks.get(name)!.mask, plan };
        if (symmetrizeTrain && name === 'train') blk.tile.symmetrize = true;
      }
    }
  }
}

/**
 * train×train was computed for every ordered pair; make it exactly symmetric from the pairs (n, c) ≤ (m, c') (row-major
 * index i = n·C + c ≤ j = m·C + c'), as the plain kernel: K[j, i] = K[i, j], and for A-SignGD K[j, i] = K'[i, j],
 * K'[j, i] = K[i, j]. (The structured kernel's last step; for tiles, done at merge.)
 */
export function symmetrizeTrain(result: KernelResult, N: number, C: number): void {
  const D = N * C;
  for (const blocks of Object.values(result)) {
    const blk = blocks!.train;
    for (let i = 0; i < D; i++) {
      for (let j = i + 1; j < D; j++) {
        if (blk.flipped) {
          blk.data[j * D + i] = blk.flipped[i * D + j];
          blk.flipped[j * D + i] = blk.data[i * D + j];
        } else {
          blk.data[j * D + i] = blk.data[i * D + j];
        }
      }
    }
  }
}

const WHERE = 'kernel/tiles.ts mergeKernelTiles';

/** The tile fill every block of one part shares (index, count, plan), checked. */
function tileOf(part: KernelResult, k: number): KernelTileFill {
  let first: KernelTileFill | undefined;
  for (const [kind, blocks] of Object.entries(part)) {
    for (const [name, blk] of Object.entries(blocks!)) {
      const t = blk.tile;
      if (!t) throw new Error(`${WHERE}: part ${k} (${kind}/${name}) is not a tiled result; compute each part with the run option \`tile: { index, count }\``);
      first ??= t;
      if (t.index !== first.index || t.count !== first.count || t.plan !== first.plan) {
        throw new Error(`${WHERE}: part ${k} mixes blocks of different tiles (${kind}/${name} is tile ${t.index} of ${t.count}, another block tile ${first.index} of ${first.count}); pass whole results`);
      }
    }
  }
  if (!first) throw new Error(`${WHERE}: part ${k} has no kernel blocks`);
  return first;
}

/**
 * Merges the `count` results of one tiled kernel call (any order) into exactly the untiled call's result: the same
 * kinds and blocks, bitwise the same entries, without `tile`. Throws, naming the tiles, when a tile is missing or
 * given twice, when the parts disagree on the tile count, on the plan (different inputs or options: a different
 * `maxGradientsInMemory`, `recordBudgetBytes`, `batchSize`, backend…) or on the blocks, and when two tiles filled the
 * same entry or none filled one.
 */
export function mergeKernelTiles(parts: KernelResult[]): KernelResult {
  if (parts.length === 0) throw new Error(`${WHERE}: no tiles to merge`);
  const tiles = parts.map(tileOf);
  const { count, plan } = tiles[0];
  tiles.forEach((t, k) => {
    if (t.count !== count) {
      throw new Error(`${WHERE}: tile counts disagree: part 0 is tile ${tiles[0].index} of ${count}, part ${k} tile ${t.index} of ${t.count}; merge the tiles of one tiling`);
    }
    if (t.plan !== plan) {
      throw new Error(`${WHERE}: part ${k} (tile ${t.index} of ${count}) ran a different plan than part 0 (tile ${tiles[0].index}): plan ${t.plan} ≠ ${plan}. `
        + 'Every tile must make the same kernel call: the same inputs, kinds, parameters and options (pass maxGradientsInMemory and recordBudgetBytes '
        + 'explicitly: their defaults depend on the free memory and the backend)');
    }
  });
  const partOf = new Map<number, number>();
  tiles.forEach((t, k) => {
    const before = partOf.get(t.index);
    if (before !== undefined) throw new Error(`${WHERE}: tile ${t.index} of ${count} is given twice (parts ${before} and ${k}); pass each tile once`);
    partOf.set(t.index, k);
  });
  const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !partOf.has(i));
  if (missing.length) {
    throw new Error(`${WHERE}: ${missing.length === 1 ? 'tile' : 'tiles'} ${missing.join(', ')} of ${count} (indices 0..${count - 1}) missing; `
      + `their entries are not computed: run ${missing.length === 1 ? 'it' : 'them'} and merge all ${count}`);
  }

  const merged: KernelResult = {};
  let symmetrize: { N: number; C: number } | undefined;
  for (const [kind, blocks0] of Object.entries(parts[0]) as [KernelKind, KernelBlocks][]) {
    const out: KernelBlocks = {};
    for (const [name, blk0] of Object.entries(blocks0)) {
      const [N, C, M, C2] = blk0.shape;
      const block: KernelBlock = { data: new Float64Array(blk0.data.length), shape: [N, C, M, C2] };
      if (blk0.flipped) block.flipped = new Float64Array(blk0.data.length);
      const owner = new Int32Array(N * M).fill(-1);
      parts.forEach((part, k) => {
        const blk = part[kind]?.[name];
        if (!blk || blk.shape.join() !== blk0.shape.join() || !blk.flipped !== !blk0.flipped) {
          throw new Error(`${WHERE}: part ${k} (tile ${tiles[k].index}) has no ${kind}/${name} block of shape [${blk0.shape}] as part 0; merge the tiles of one call`);
        }
        const { filled, index } = blk.tile!;
        if (filled.length !== N * M) throw new Error(`${WHERE}: tile ${index}'s ${kind}/${name} marks ${filled.length} example pairs, not N·M = ${N * M}`);
        for (let n = 0; n < N; n++) {
          for (let m = 0; m < M; m++) {
            if (!filled[n * M + m]) continue;
            const o = owner[n * M + m];
            if (o >= 0) throw new Error(`${WHERE}: tiles ${o} and ${index} of ${count} both computed ${kind}/${name} pair (${n}, ${m}); the tiles overlap`);
            owner[n * M + m] = index;
            for (let c = 0; c < C; c++) {
              const i0 = ((n * C + c) * M + m) * C;
              block.data.set(blk.data.subarray(i0, i0 + C), i0);
              block.flipped?.set(blk.flipped!.subarray(i0, i0 + C), i0);
            }
          }
        }
        if (name === 'train' && blk.tile!.symmetrize) symmetrize = { N, C };
      });
      const gap = owner.indexOf(-1);
      if (gap >= 0) {
        throw new Error(`${WHERE}: ${kind}/${name} pair (${Math.floor(gap / M)}, ${gap % M}) was computed by no tile of ${count}; the tiles do not cover the plan`);
      }
      out[name] = block;
    }
    merged[kind] = out;
  }
  for (const [k, part] of parts.entries()) {
    const kinds = Object.keys(part).sort().join();
    if (kinds !== Object.keys(merged).sort().join()) throw new Error(`${WHERE}: part ${k} (tile ${tiles[k].index}) has kinds ${kinds}, part 0 ${Object.keys(merged).sort().join()}`);
  }
  if (symmetrize) symmetrizeTrain(merged, symmetrize.N, symmetrize.C);
  return merged;
}
