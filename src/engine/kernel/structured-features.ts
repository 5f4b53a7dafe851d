/**
 * Per-example gradient features of one recorded batch (structured-types.ts), in the forms the structured eNTK
 * contracts. B examples, C classes, R = B·rowsPerExample rows, n_b = real rows of example b. Per-example rows are
 * class-major (row c·B + b), the layout the recording keeps its cotangents in, so no transposes are needed.
 *
 * - Explicit dense gradients: G_{b,c} = Δ_{b,c}ᵀ A_b [out, in] per (example, class), one batched matMul, flattened to
 *   rows [C·B, out·in]. Needed by the sign kernels (sign of a coordinate)
 *   and by the SGD kernel where it is cheaper than the structured form.
 * - Structured dense factors: A [R, in] and Δ [C·R, out] as recorded (Novak et al. 2022): ⟨G_{b,c}, G_{b',c'}⟩ =
 *   Σ_{t,s} (δ_{c,t}·δ'_{c',s})(a_t·a'_s), never forming G.
 * - Vector sites (biases, LayerNorm γ/β): Σ_t δ ⊙ u, rows [C·B, size].
 * - Rows sites (embedding tables, gathered decoder rows and bias): per example and table, the touched rows only,
 *   merged by row id across sites that share a table (a tied decoder adds its label rows to the word embeddings).
 */
import * as tf from '@tensorflow/tfjs';
import type { DenseSite, RowsSite, VectorSite } from './structured-types';

/** Real rows of example b at a site: min(rowsPerExample, length); rows past the length are padding (δ = 0). */
export function realRows(rowsPerExample: number, length: number): number {
  return Math.min(rowsPerExample, length);
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

/**
 * The structured dense contribution ⟨G_{e,c'}, G_{n,c}⟩ for every evaluated (e, c') and train (n, c), class-major:
 * rows c'·Be + e, columns c·Bt + n: [C·Be, C·Bt]. aE [Be·Te, in], dE [C·Be·Te, out] (as recorded); aTT [in, Bt·Tt], dTT [out, C·Bt·Tt]
 * (the train side, transposed once).
 */
export function structuredDenseProduct(
  aE: tf.Tensor2D, dE: tf.Tensor2D, Be: number, aTT: tf.Tensor2D, dTT: tf.Tensor2D, Bt: number, C: number,
): tf.Tensor2D {
  return tf.tidy(() => {
    const Te = aE.shape[0] / Be;
    const Tt = aTT.shape[1] / Bt;
    const aGram = tf.matMul(aE, aTT); // [Be·Te, Bt·Tt]   a_s · a'_t
    const dGram = tf.matMul(dE, dTT); // [C·Be·Te, C·Bt·Tt]   δ_{c',s} · δ'_{c,t}
    const terms = tf.mul(dGram, tf.tile(aGram, [C, C])); // [C·Be·Te, C·Bt·Tt]
    return tf.sum(tf.reshape(terms, [C * Be, Te, C * Bt, Tt]), [1, 3]) as tf.Tensor2D; // [C·Be, C·Bt]  rows (c', e), cols (c, n)
  });
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
