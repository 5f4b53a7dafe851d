/**
 * The storage format of a seed's kernels at θ0 in the results store's stage cache (report/store.ts writeStage /
 * readStage): the 'theta0' stage (every kernel block and f0, reused when an interrupted run finished it) and the
 * kernel tiles' stages `theta0-tile<i>of<n>` (a tile's blocks with the example pairs it filled, its plan's
 * fingerprint, and the f0 rows it computed). The procedure that writes and reads them is run/seed-run.ts.
 */
import type { EncodedExample } from '../classifier/batch';
import type { KernelResult as KernelBlocks } from '../kernel';
import type { NpyArray } from '../report/npy';
import type { KernelKind } from '../report/types';

/** What the 'theta0' stage of a seed keeps besides its arrays. */
export interface Theta0Meta {
  kinds: KernelKind[];
  kernelSeconds: number;
}

export const SPLITS = ['train', 'dev', 'test'] as const;
export type F0Values = Record<'train' | 'dev' | 'test', Float64Array>;

/** f0 being collected: values [M·C] per split and which rows have one. */
export interface F0 {
  values: F0Values;
  seen: Record<'train' | 'dev' | 'test', Uint8Array>;
  /** Rows `indices` of `set` from float32 outputs [rows·C] (other sets are ignored). */
  add(set: string, indices: number[], values: Float32Array): void;
  /** The rows another collection has (a tile's stored f0). */
  merge(set: 'train' | 'dev' | 'test', values: Float64Array, seen: Int32Array): void;
}

export function newF0(data: Record<'train' | 'dev' | 'test', EncodedExample[]>, C: number): F0 {
  const values = { train: new Float64Array(data.train.length * C), dev: new Float64Array(data.dev.length * C), test: new Float64Array(data.test.length * C) };
  const seen = { train: new Uint8Array(data.train.length), dev: new Uint8Array(data.dev.length), test: new Uint8Array(data.test.length) };
  return {
    values,
    seen,
    add(set, indices, v) {
      if (!(set in values)) return;
      const key = set as keyof F0Values;
      indices.forEach((i, r) => { seen[key][i] = 1; for (let c = 0; c < C; c++) values[key][i * C + c] = v[r * C + c]; });
    },
    merge(set, v, s) {
      s.forEach((has, i) => { if (has) { seen[set][i] = 1; for (let c = 0; c < C; c++) values[set][i * C + c] = v[i * C + c]; } });
    },
  };
}

/** A tile's stage: `theta0-tile<i>of<n>` (store stage names are [A-Za-z0-9_-]). */
export const tileStageName = (index: number, count: number): string => `theta0-tile${index}of${count}`;

/** What a tile's stage keeps besides its arrays: the kinds, and per block the tile's plan and symmetrisation flag. */
export interface TileMeta {
  kinds: KernelKind[];
  index: number;
  count: number;
  blocks: Record<string, { plan: string; symmetrize?: boolean }>;
}

export function tileMeta(blocks: KernelBlocks, kinds: KernelKind[]): TileMeta {
  const meta: TileMeta = { kinds, index: -1, count: 0, blocks: {} };
  for (const [kind, sets] of Object.entries(blocks)) {
    for (const [split, b] of Object.entries(sets!)) {
      const t = b.tile!;
      meta.index = t.index;
      meta.count = t.count;
      meta.blocks[`${kind}-${split}`] = { plan: t.plan, ...(t.symmetrize ? { symmetrize: true } : {}) };
    }
  }
  return meta;
}

/** A tile's blocks (with their filled pairs) and its f0 rows as named arrays. */
export function tileArrays(blocks: KernelBlocks, f0: F0): Record<string, NpyArray> {
  const out = stageArrays(blocks, f0.values);
  for (const [kind, sets] of Object.entries(blocks)) {
    for (const [split, b] of Object.entries(sets!)) out[`${kind}-${split}-filled`] = { data: Int32Array.from(b.tile!.filled), shape: [b.tile!.filled.length] };
  }
  for (const key of SPLITS) out[`f0seen-${key}`] = { data: Int32Array.from(f0.seen[key]), shape: [f0.seen[key].length] };
  return out;
}

export function tileFromArrays(arrays: Record<string, NpyArray>, meta: TileMeta): KernelBlocks {
  const blocks = blocksFromStage(arrays, meta.kinds);
  for (const [kind, sets] of Object.entries(blocks)) {
    for (const [split, b] of Object.entries(sets!)) {
      const m = meta.blocks[`${kind}-${split}`];
      b.tile = { index: meta.index, count: meta.count, plan: m.plan, filled: Uint8Array.from(arrays[`${kind}-${split}-filled`].data), ...(m.symmetrize ? { symmetrize: true } : {}) };
    }
  }
  return blocks;
}

export const sameKinds = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((k) => b.includes(k));

/** The θ0 kernels and f0 as named float64 arrays for the store's stage cache. */
export function stageArrays(blocks: KernelBlocks, f0: Record<'train' | 'dev' | 'test', Float64Array>): Record<string, NpyArray> {
  const out: Record<string, NpyArray> = {};
  for (const [kind, sets] of Object.entries(blocks)) {
    for (const [split, b] of Object.entries(sets!)) {
      out[`${kind}-${split}`] = { data: b.data, shape: [...b.shape] };
      if (b.flipped) out[`${kind}-${split}-flipped`] = { data: b.flipped, shape: [...b.shape] };
    }
  }
  for (const key of ['train', 'dev', 'test'] as const) out[`f0-${key}`] = { data: f0[key], shape: [f0[key].length] };
  return out;
}

export function blocksFromStage(arrays: Record<string, NpyArray>, kinds: KernelKind[]): KernelBlocks {
  const out: KernelBlocks = {};
  for (const kind of kinds) {
    out[kind] = {};
    for (const split of ['train', 'dev', 'test']) {
      const a = arrays[`${kind}-${split}`];
      const flipped = arrays[`${kind}-${split}-flipped`];
      out[kind]![split] = { data: a.data as Float64Array, shape: a.shape as [number, number, number, number], ...(flipped ? { flipped: flipped.data as Float64Array } : {}) };
    }
  }
  return out;
}
