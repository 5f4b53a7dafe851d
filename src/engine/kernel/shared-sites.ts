/**
 * One site per variable: the step that lets the structured eNTK (structured-ntk.ts, which keys per-site data by
 * tf.Variable) read a model whose weights are used at several places, as ALBERT's one layer at each of its L depths.
 *
 * A weight W read at sites k = 1..L (y_k = W a_k + …) has the per-example gradient
 *   ∂f_c(x_b)/∂W = Σ_k Σ_{t ∈ b} δ^k_{c,t} ⊗ a^k_t,
 * which is the gradient of ONE dense site whose rows of example b are the rows of all L sites. So the sites of one
 * variable become one site with the rows of each example concatenated, example-major:
 *   a   [B·T_k, in]      → [B, T_k, in]      → concatenated over k → [B, ΣT_k, in]      → [B·ΣT_k, in]
 *   δ   [C, B·T_k, out]  → [C, B, T_k, out]  → concatenated over k → [C, B, ΣT_k, out]  → [C, B·ΣT_k, out]
 * and rowsPerExample = ΣT_k, with `blocks` = [T_1, …, T_L]: each block is padded after the example's length (padded
 * rows have δ = 0), which the real-row logic (structured-features.ts realRowBlocks) reads. Every form then holds:
 * the explicit gradient sums all rows; the structured form's Σ_{t,s} (δ_t·δ'_s)(a_t·a'_s) runs over all pairs of
 * rows, the cross-depth terms included. Vector sites (biases, LayerNorm γ) the same, their scale x̂ as a.
 * Rows sites (embedding tables, decoder rows) are left as they are: their per-example gradients are already summed
 * by row id over every site of a table (sparseGradients).
 *
 * Tensors shared between sites stay shared: query, key and value read one input, and a bias shares its layer's δ;
 * the merged site of each is built once from the same list of tensors (memoised by tensor ids), so structured-ntk's
 * grouping by input tensor and its bias folding by δ tensor see the merged sites exactly as the unmerged ones.
 * B examples, C classes, T_k rows per example at site k, L sites of a variable.
 */
import * as tf from '@tensorflow/tfjs';
import type { DenseSite, Site, VectorSite } from './structured-types';

export interface MergedSites {
  /** The sites, one per variable for dense and vector sites, in the order of each variable's first site. */
  sites: Site[];
  /** Releases the tensors the merge created (none when no variable had several sites). */
  dispose(): void;
}

/** Row blocks of a site (structured-types.ts): its own, or the one block of rowsPerExample rows. */
const blocksOf = (s: DenseSite | VectorSite): readonly number[] => s.blocks ?? [s.rowsPerExample];

/**
 * Per-example rows of several [B·r_k, w] tensors joined example-major: [B, r_k, w] concatenated on the rows → [B·Σr_k, w].
 */
export function joinExampleRows(parts: tf.Tensor2D[], rows: number[], B: number): tf.Tensor2D {
  return tf.tidy(() => {
    const w = parts[0].shape[1];
    const joined = tf.concat(parts.map((p, k) => tf.reshape(p, [B, rows[k], w])), 1); // [B, Σr, w]
    return tf.reshape(joined, [-1, w]) as tf.Tensor2D; // [B·Σr, w]
  });
}

/** The same for cotangents [C, B·r_k, w]: [C, B, r_k, w] concatenated on the rows → [C, B·Σr_k, w]. */
export function joinExampleRowsByClass(parts: tf.Tensor3D[], rows: number[], B: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [C, , w] = parts[0].shape;
    const joined = tf.concat(parts.map((p, k) => tf.reshape(p, [C, B, rows[k], w])), 2); // [C, B, Σr, w]
    return tf.reshape(joined, [C, -1, w]) as tf.Tensor3D; // [C, B·Σr, w]
  });
}

/**
 * Merges all dense sites of one variable into one dense site, and all vector sites of one variable into one vector
 * site (see the file comment). Sites of a variable read once are returned as they are. The input sites' tensors are
 * not consumed (the recording still owns them); the caller disposes the result's own with `dispose()`.
 */
export function mergeSharedSites(sites: Site[]): MergedSites {
  const byVariable = new Map<tf.Variable, Site[]>();
  for (const s of sites) {
    const group = byVariable.get(s.variable);
    if (group) group.push(s); else byVariable.set(s.variable, [s]);
  }
  if ([...byVariable.values()].every((g) => g.length === 1 || g.every((s) => s.kind === 'rows'))) return { sites, dispose: () => {} };

  const owned: tf.Tensor[] = [];
  const memo = new Map<string, tf.Tensor>(); // merged tensor by the ids of the tensors it joins
  const once = <X extends tf.Tensor>(parts: X[], join: () => X): X => {
    const key = parts.map((p) => p.id).join(',');
    let t = memo.get(key) as X | undefined;
    if (!t) { t = join(); memo.set(key, t); owned.push(t); }
    return t;
  };
  const out: Site[] = [];
  try {
    for (const [variable, group] of byVariable) {
      if (group.length === 1 || group.every((s) => s.kind === 'rows')) { out.push(...group); continue; }
      const kind = group[0].kind;
      if (!group.every((s) => s.kind === kind)) {
        throw new Error(`kernel/shared-sites.ts: variable '${variable.name}' is recorded as ${[...new Set(group.map((s) => s.kind))].join(' and ')} sites; a variable's sites must be of one kind`);
      }
      const parts = group as (DenseSite | VectorSite)[];
      const rows = parts.map((s) => s.rowsPerExample);
      const B = parts[0].delta.shape[1] / rows[0];
      if (parts.some((s, k) => s.delta.shape[1] !== B * rows[k])) {
        throw new Error(`kernel/shared-sites.ts: the sites of variable '${variable.name}' record different batch sizes; they must come from one recording`);
      }
      const common = { variable, rowsPerExample: rows.reduce((x, y) => x + y, 0), blocks: parts.flatMap(blocksOf) };
      const delta = once(parts.map((s) => s.delta), () => joinExampleRowsByClass(parts.map((s) => s.delta), rows, B)); // [C, B·Σr, out]
      if (kind === 'dense') {
        const dense = parts as DenseSite[];
        const a = once(dense.map((s) => s.a), () => joinExampleRows(dense.map((s) => s.a), rows, B)); // [B·Σr, in]
        out.push({ kind: 'dense', ...common, a, delta });
      } else {
        const vector = parts as VectorSite[];
        const scaled = vector.filter((s) => s.scale).length;
        if (scaled !== 0 && scaled !== vector.length) {
          throw new Error(`kernel/shared-sites.ts: variable '${variable.name}' is recorded both with and without a scale; its sites must be alike`);
        }
        const scale = scaled ? once(vector.map((s) => s.scale!), () => joinExampleRows(vector.map((s) => s.scale!), rows, B)) : undefined; // [B·Σr, size]
        out.push({ kind: 'vector', ...common, delta, ...(scale ? { scale } : {}) });
      }
    }
  } catch (e) {
    tf.dispose(owned);
    throw e;
  }
  return { sites: out, dispose: () => tf.dispose(owned) };
}
