/**
 * Per-example gradient features of one recorded batch (structured-types.ts), in the forms the structured eNTK
 * contracts. B examples, C classes, R = B·rowsPerExample rows, n_b = real rows of example b. Per-example rows are
 * class-major (row c·B + b), the layout the recording keeps its cotangents in, so no transposes are needed.
 *
 * - Explicit dense gradients: G_{b,c} = Δ_{b,c}ᵀ A_b [out, in] per (example, class), one batched matMul, flattened to
 *   rows [C·B, out·in]. Needed by the sign kernels (sign of a coordinate)
 *   and by the SGD kernel where it is cheaper than the structured form.
 * - Structured dense factors: A [n, in] and Δ [C·n, out] over the n real rows (Novak et al. 2022): ⟨G_{b,c}, G_{b',c'}⟩ =
 *   Σ_{t,s} (δ_{c,t}·δ'_{c',s})(a_t·a'_s), never forming G. On wasm one fused pass per site (structuredSiteProduct:
 *   C products per token pair); elsewhere tf ops (C² per token pair, per-example sums by a segment matrix).
 * - Vector sites (biases, LayerNorm γ/β): Σ_t δ ⊙ u, rows [C·B, size].
 * - Rows sites (embedding tables, gathered decoder rows and bias): per example and table, the touched rows only,
 *   merged by row id across sites that share a table (a tied decoder adds its label rows to the word embeddings).
 */
import * as tf from '@tensorflow/tfjs';
import { wasmStructuredProduct } from '../backend/wasm-kernels';
import type { DenseSite, RowsSite, VectorSite } from './structured-types';

/** Real rows of example b at a site: min(rowsPerExample, length); rows past the length are padding (δ = 0). */
export function realRows(rowsPerExample: number, length: number): number {
  return Math.min(rowsPerExample, length);
}

/**
 * The real rows of an example at a site whose rows may be laid out in blocks (structured-types.ts `blocks`): per
 * block, [offset in the example's rows, count], count = min(block size, length): each block is padded after the
 * example's length. One block [[0, min(rowsPerExample, length)]] for a site without blocks.
 */
export function realRowBlocks(site: { rowsPerExample: number; blocks?: readonly number[] }, length: number): [number, number][] {
  const blocks = site.blocks ?? [site.rowsPerExample];
  let offset = 0;
  return blocks.map((size) => {
    const block: [number, number] = [offset, realRows(size, length)];
    offset += size;
    return block;
  });
}

/**
 * Explicit per-(example, class) gradients of a dense site, class-major: row c·B + b holds G_{b,c} = Δ_{b,c}ᵀ A_b
 * [out, in] (the weight's own layout) flattened: [C·B, out·in]. One batched matMul straight from the recorded
 * layouts, δ [C, B, T, out] (transposed inside the product) against a [B, T, in] shared by the C classes, over the
 * batch's padded rows (padded rows have δ = 0 and add nothing).
 */
export function denseGradientRows(site: DenseSite, B: number, C: number): tf.Tensor2D {
  const rpe = site.rowsPerExample;
  const inner = site.a.shape[1];
  const out = site.delta.shape[2];
  return tf.tidy(() => {
    const d = tf.reshape(site.delta, [C, B, rpe, out]); // [C, B, rpe, out]
    const a = tf.reshape(site.a, [B, rpe, inner]); // [B, rpe, in]
    return tf.reshape(tf.matMul(d, a, true, false), [C * B, out * inner]) as tf.Tensor2D; // [C, B, out, in] → [C·B, out·in]
  });
}

/** Per-(example, class) gradients of vector sites, class-major rows c·B + b, coordinates concatenated: [C·B, Σ size]. */
export function vectorGradientRows(sites: VectorSite[], B: number, C: number): tf.Tensor2D {
  return tf.tidy(() => {
    const parts = sites.map((s) => {
      const size = s.delta.shape[2];
      const terms = s.scale ? tf.mul(s.delta, s.scale) : s.delta; // [C, R, size]
      return tf.reshape(tf.sum(tf.reshape(terms, [C * B, s.rowsPerExample, size]), 1), [C * B, size]) as tf.Tensor2D; // [C·B, size]
    });
    return (parts.length === 1 ? parts[0] : tf.concat(parts, 1)) as tf.Tensor2D;
  });
}

/** A dense site's structured factors over the REAL rows of a batch (padded rows dropped): a [n, in], δ [C·n, out] class-major. */
export interface CompactFactors {
  a: tf.Tensor2D;
  delta: tf.Tensor2D;
  /** Real rows of each example, in batch order (Σ = n). */
  counts: number[];
}

/**
 * The factors of a dense site without the batch's padded rows (they add nothing, but the Gram products would pay
 * for them: a train batch of 8 padded to its longest prompt is ~15 % padding). `compact: false` keeps every row
 * (a padded row has δ = 0 and counts for its example in the segment matrix): the evaluated batches are sorted by
 * length among many, so their padding is small and cutting it would cost more than it saves. A site in blocks
 * (a shared weight's merged site: L blocks of T rows per example) keeps the real rows of each block, in order, so
 * an example's kept rows stay contiguous in the result. Caller disposes.
 */
export function compactFactors(site: DenseSite, lengths: number[], C: number, compact = true): CompactFactors {
  const rpe = site.rowsPerExample;
  const kept = lengths.map((len) => (compact ? realRowBlocks(site, len) : [[0, rpe] as [number, number]])); // per example: [offset, count] per block
  const counts = kept.map((blocks) => blocks.reduce((s, [, k]) => s + k, 0));
  const out = site.delta.shape[2];
  const n = counts.reduce((x, y) => x + y, 0);
  if (n === lengths.length * rpe) {
    return { a: tf.clone(site.a), delta: tf.reshape(site.delta, [C * n, out]) as tf.Tensor2D, counts };
  }
  // Each block's real rows are contiguous: one slice per (example, block) (tfjs-wasm's GatherV2 is ~20× slower).
  const slices = kept.flatMap((blocks, b) => blocks.filter(([, k]) => k > 0).map(([o, k]) => [b * rpe + o, k] as const));
  return tf.tidy(() => ({
    a: tf.concat(slices.map(([r, k]) => tf.slice(site.a, [r, 0], [k, -1])), 0) as tf.Tensor2D, // [n, in]
    delta: tf.reshape(tf.concat(slices.map(([r, k]) => tf.slice(site.delta, [0, r, 0], [-1, k, -1])), 1), [C * n, out]) as tf.Tensor2D, // [C, n, out] → [C·n, out]
    counts,
  }));
}

/**
 * The class-major segment matrix of compacted rows: [C·B, C·n] with a 1 at (c·B + b, c·n + s) for each real row s of
 * example b. Left-multiplying sums a [C·n, …] row block per (class, example).
 */
export function segmentMatrix(counts: number[], C: number): tf.Tensor2D {
  const B = counts.length;
  const n = counts.reduce((x, y) => x + y, 0);
  const m = new Float32Array(C * B * C * n);
  for (let c = 0; c < C; c++) {
    let s = 0;
    counts.forEach((k, b) => { for (let t = 0; t < k; t++, s++) m[(c * B + b) * C * n + c * n + s] = 1; });
  }
  return tf.tensor2d(m, [C * B, C * n]);
}

/**
 * The structured dense contribution ⟨G_{e,c'}, G_{n,c}⟩ for every evaluated (e, c') and train (n, c), class-major:
 * rows c'·Be + e, columns c·Nt + n: [C·Be, C·Nt]. Evaluated side over its nE rows (real rows, or all rows with
 * each padded one counted to its example: δ = 0 there): aE [nE, in], dE [C·nE, out], segE = segmentMatrix (its [C·Be, C·nE]); train side transposed once and merged over the whole chunk: aTT [in, nT],
 * dTT [out, C·nT], segTT = its segment matrix transposed [C·nT, C·Nt].
 *   K = segE · (δGram ⊙ aGram in every class block) · segTᵀ,  aGram = aE·aTT (a_s·a'_t), δGram = dE·dTT (δ_{c',s}·δ'_{c,t}).
 */
export function structuredDenseProduct(
  aE: tf.Tensor2D, dE: tf.Tensor2D, segE: tf.Tensor2D, aTT: tf.Tensor2D, dTT: tf.Tensor2D, segTT: tf.Tensor2D, C: number,
): tf.Tensor2D {
  return tf.tidy(() => {
    const aGram = tf.matMul(aE, aTT); // [nE, nT]
    const dGram = tf.matMul(dE, dTT); // [C·nE, C·nT]
    const nE = aE.shape[0];
    const nT = aTT.shape[1];
    // aGram broadcast over the class blocks (tfjs-wasm's Tile copies element by element: 20× slower than this mul)
    const terms = tf.reshape(tf.mul(tf.reshape(dGram, [C, nE, C, nT]), tf.reshape(aGram, [1, nE, 1, nT])), [C * nE, C * nT]);
    return tf.matMul(tf.matMul(segE, terms), segTT) as tf.Tensor2D; // [C·Be, C·Nt]
  });
}

/**
 * A dense site's structured factors merged over a train chunk (real rows only), in the layout its product reads:
 * aT [in, nT]; on wasm δ as rows [C·nT, out] class-major (`rows`, for wasm-kernels/structured_product.c), elsewhere
 * transposed, dT [out, C·nT], with the transposed segment matrix segT [C·nT, C·Nt] (`cols`, structuredDenseProduct).
 * counts: real rows per train example, in chunk order (Σ = nT).
 */
export interface TrainSiteFactors {
  aT: tf.Tensor2D;
  counts: number[];
  rows?: tf.Tensor2D;
  cols?: { dT: tf.Tensor2D; segT: tf.Tensor2D };
}

/** Whether the structured product runs as one fused wasm pass (then train factors hold δ as rows). */
export const fusedStructuredProduct = (): boolean => tf.getBackend() === 'wasm';

/**
 * Train factors of one site merged over a chunk from its batches' compact factors, in the backend's layout
 * (TrainSiteFactors). `segT` is the transposed segment matrix of `counts` for the tf-op form (shared by sites with the
 * same rows per example; made by the caller); unused with the fused product. Caller disposes aT, rows or cols.dT.
 */
export function mergeTrainSite(parts: CompactFactors[], C: number, segT: () => tf.Tensor2D): TrainSiteFactors {
  const counts = parts.flatMap((f) => f.counts);
  const fused = fusedStructuredProduct();
  const merged = tf.tidy(() => {
    const aT = tf.transpose(parts.length === 1 ? parts[0].a : tf.concat(parts.map((f) => f.a), 0)) as tf.Tensor2D; // [in, nT]
    // δ class-major per batch [C·n_b, out] → [C, n_b, out], joined along the rows → [C·nT, out]
    const out = parts[0].delta.shape[1];
    const d = parts.length === 1 ? tf.clone(parts[0].delta)
      : tf.reshape(tf.concat(parts.map((f) => tf.reshape(f.delta, [C, -1, out])), 1), [-1, out]) as tf.Tensor2D;
    return { aT, d: fused ? d : tf.transpose(d) as tf.Tensor2D };
  });
  return fused ? { aT: merged.aT, counts, rows: merged.d } : { aT: merged.aT, counts, cols: { dT: merged.d, segT: segT() } };
}

/**
 * Examples [start, start + B) of a chunk's train factors as an evaluated side (train×train from the held factors):
 * a [n, in] and δ [C·n, out] class-major over their real rows, and their counts.
 */
export function trainRowsAsEvaluated(train: TrainSiteFactors, start: number, B: number, C: number): { a: tf.Tensor2D; delta: tf.Tensor2D; counts: number[] } {
  const counts = train.counts.slice(start, start + B);
  const off = train.counts.slice(0, start).reduce((x, y) => x + y, 0);
  const n = counts.reduce((x, y) => x + y, 0);
  const nT = train.aT.shape[1];
  return tf.tidy(() => ({
    a: tf.transpose(tf.slice(train.aT, [0, off], [-1, n])) as tf.Tensor2D, // [n, in]
    delta: (train.rows
      ? tf.concat(Array.from({ length: C }, (_, c) => tf.slice(train.rows!, [c * nT + off, 0], [n, -1])), 0)
      : tf.transpose(tf.concat(Array.from({ length: C }, (_, c) => tf.slice(train.cols!.dT, [0, c * nT + off], [-1, n])), 1))) as tf.Tensor2D, // [C·n, out]
    counts,
  }));
}

/**
 * ⟨G_{e,c'}, G_{n,c}⟩ of one dense site for every evaluated (e, c') and train (n, c): [C·Be, C·Nt], rows c'·Be + e,
 * columns c·Nt + n. Evaluated side aE [nE, in], dE [C·nE, out] class-major, eCounts rows per example (padded rows
 * count for their example: δ = 0 there). On wasm the fused product (A = a_t·a_s once, then C products per token
 * pair); elsewhere structuredDenseProduct. The evaluated side should be the smaller: the fused pass streams the
 * train side once per evaluated example and class.
 */
export function structuredSiteProduct(aE: tf.Tensor2D, dE: tf.Tensor2D, eCounts: number[], train: TrainSiteFactors, C: number): tf.Tensor2D {
  if (train.rows) {
    return tf.tidy(() => {
      const At = tf.matMul(train.aT, aE, true, true) as tf.Tensor2D; // [nT, nE]: a_t·a_s
      const K = wasmStructuredProduct(At, dE, train.rows!, eCounts, train.counts, C);
      if (!K) throw new Error('kernel/structured-features.ts: train factors were laid out for the wasm product, but the backend is now ' + tf.getBackend());
      return K;
    });
  }
  return tf.tidy(() => structuredDenseProduct(aE, dE, segmentMatrix(eCounts, C), train.aT, train.cols!.dT, train.cols!.segT, C));
}

/** One example's vocabulary-sparse gradients: per table, row id → [C·W] (class c at c·W). */
export type SparseGradient = Map<tf.Variable, Map<number, Float64Array>>;

/** Per example of the batch, the touched rows of every table (values summed per row id, float64). */
export async function sparseGradients(sites: RowsSite[], lengths: number[], C: number): Promise<SparseGradient[]> {
  const out: SparseGradient[] = lengths.map(() => new Map());
  for (const s of sites) {
    const [, R, W] = s.values.shape;
    const vals = await s.values.data(); // [C, R, W]; asynchronous (webgpu cannot read synchronously)
    const perClassIds = s.ids.length === C * R;
    if (!perClassIds && s.ids.length !== R) {
      throw new Error(`kernel/structured-features.ts: a rows site has ${s.ids.length} ids for ${R} rows and ${C} classes; the recording must give R or C·R ids`);
    }
    lengths.forEach((len, b) => {
      let table = out[b].get(s.variable);
      if (!table) { table = new Map(); out[b].set(s.variable, table); }
      const n = realRows(s.rowsPerExample, len);
      for (let r = 0; r < n; r++) {
        const row = b * s.rowsPerExample + r;
        for (let c = 0; c < C; c++) {
          const id = perClassIds ? s.ids[c * R + row] : s.ids[row];
          let v = table.get(id);
          if (!v) { v = new Float64Array(C * W); table.set(id, v); }
          const src = (c * R + row) * W;
          for (let w = 0; w < W; w++) v[c * W + w] += vals[src + w];
        }
      }
    });
  }
  return out;
}
