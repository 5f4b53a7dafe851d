/**
 * kernel/shared-sites.ts mergeSharedSites: the sites of a variable read at several places become one site whose
 * per-example gradient is the sum of theirs. Checked against per-example gradients computed here in float64 from the
 * raw arrays (Σ over sites and real rows of δ ⊗ a), in the explicit form (denseGradientRows, vectorGradientRows) and
 * in the structured form over compacted real rows (compactFactors with padding inside every block of an example).
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { mergeSharedSites } from '../../../../src/engine/kernel/shared-sites';
import {
  compactFactors, denseGradientRows, realRowBlocks, segmentMatrix, structuredDenseProduct, vectorGradientRows,
} from '../../../../src/engine/kernel/structured-features';
import type { DenseSite, Site, VectorSite } from '../../../../src/engine/kernel/structured-types';
import { prng } from '../../../support/tiny-checkpoint';

const B = 3; // examples
const C = 2; // classes
const IN = 3;
const OUT = 4;
const LENGTHS = [3, 1, 2]; // real tokens per example: padding inside every block for examples 1 and 2

/** A site's raw float64 arrays, as a recording lays them out: a [B·r, w], δ [C, B·r, out] with δ = 0 on padded rows. */
interface Raw { rows: number; a: Float64Array; delta: Float64Array }

function rawSite(rows: number, inner: number, out: number, rand: () => number): Raw {
  const a = Float64Array.from({ length: B * rows * inner }, () => Math.fround(rand() * 2 - 1)); // padded rows too: a model computes them
  const delta = new Float64Array(C * B * rows * out);
  for (let c = 0; c < C; c++) {
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < Math.min(rows, LENGTHS[b]); t++) { // padded rows keep δ = 0
        for (let o = 0; o < out; o++) delta[((c * B + b) * rows + t) * out + o] = Math.fround(rand() * 2 - 1);
      }
    }
  }
  return { rows, a, delta };
}

/** G_{b,c} = Σ_sites Σ_t δ_{c,t} ⊗ a_t [out, in] flattened, per (c, b): the gradient a shared weight has. */
function expectedDense(raws: Raw[], inner: number, out: number): Float64Array[][] {
  const G = Array.from({ length: C }, () => Array.from({ length: B }, () => new Float64Array(out * inner)));
  for (const { rows, a, delta } of raws) {
    for (let c = 0; c < C; c++) {
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < rows; t++) {
          for (let o = 0; o < out; o++) {
            const d = delta[((c * B + b) * rows + t) * out + o];
            for (let i = 0; i < inner; i++) G[c][b][o * inner + i] += d * a[(b * rows + t) * inner + i];
          }
        }
      }
    }
  }
  return G;
}

/** A variable of zeros (its initial tensor released: the variable holds its own copy). */
function zeroVariable(shape: number[]): tf.Variable {
  const t = tf.zeros(shape);
  const v = tf.variable(t);
  t.dispose();
  return v;
}

/** float32 copies for tfjs (the values are float32 already: Math.fround). */
const f32 = (x: Float64Array): Float32Array => Float32Array.from(x);
const dot = (x: Float64Array, y: Float64Array): number => x.reduce((s, v, i) => s + v * y[i], 0);

function denseSite(variable: tf.Variable, raw: Raw, a?: tf.Tensor2D, delta?: tf.Tensor3D): DenseSite {
  return {
    kind: 'dense', variable, rowsPerExample: raw.rows,
    a: a ?? tf.tensor2d(f32(raw.a), [B * raw.rows, IN]), delta: delta ?? tf.tensor3d(f32(raw.delta), [C, B * raw.rows, OUT]),
  };
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  assert.ok(scale > 0.1, `${what}: the expected values should not be ~0`);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= 1e-5 * scale, `${what}[${i}]: ${got[i]} vs ${want[i]}`);
  }
}

describe('kernel/shared-sites: one site per variable for weights read at several places', () => {
  before(async () => { await tf.setBackend('cpu'); });

  it('realRowBlocks: every block keeps its first min(size, length) rows', () => {
    assert.deepEqual(realRowBlocks({ rowsPerExample: 5 }, 3), [[0, 3]]);
    assert.deepEqual(realRowBlocks({ rowsPerExample: 12, blocks: [4, 4, 4] }, 2), [[0, 2], [4, 2], [8, 2]]);
    assert.deepEqual(realRowBlocks({ rowsPerExample: 7, blocks: [4, 3] }, 4), [[0, 4], [4, 3]]);
  });

  it('two or three dense sites of one variable (blocks of 3 and 2 rows, padding inside each block) = the summed per-example gradients, explicit and structured', () => {
    for (const rows of [[3, 3], [3, 2, 3]]) {
      const before = tf.memory().numTensors;
      const rand = prng(rows.length * 17);
      const raws = rows.map((r) => rawSite(r, IN, OUT, rand));
      const W = zeroVariable([OUT, IN]);
      const sites: Site[] = raws.map((r) => denseSite(W, r));
      const merged = mergeSharedSites(sites);
      try {
        assert.equal(merged.sites.length, 1);
        const site = merged.sites[0] as DenseSite;
        assert.equal(site.rowsPerExample, rows.reduce((x, y) => x + y, 0));
        assert.deepEqual(site.blocks, rows);
        const G = expectedDense(raws, IN, OUT);

        // Explicit: row c·B + b of denseGradientRows is G_{b,c}.
        const explicit = tf.tidy(() => denseGradientRows(site, B, C).arraySync());
        for (let c = 0; c < C; c++) for (let b = 0; b < B; b++) assertClose(explicit[c * B + b], G[c][b], `${rows} explicit G[${c}][${b}]`);

        // Structured: the real rows of every block (compactFactors), then ⟨G_{e,c'}, G_{n,c}⟩ for all pairs.
        const f = compactFactors(site, LENGTHS, C);
        const want = LENGTHS.map((len) => rows.reduce((s, r) => s + Math.min(r, len), 0));
        assert.deepEqual(f.counts, want, 'real rows per example: Σ over blocks of min(block, length)');
        const K = tf.tidy(() => {
          const seg = segmentMatrix(f.counts, C);
          return structuredDenseProduct(f.a, f.delta, seg, tf.transpose(f.a) as tf.Tensor2D, tf.transpose(f.delta) as tf.Tensor2D, tf.transpose(seg) as tf.Tensor2D, C).arraySync();
        });
        tf.dispose([f.a, f.delta]);
        const gram: number[] = [];
        const got: number[] = [];
        for (let c2 = 0; c2 < C; c2++) {
          for (let e = 0; e < B; e++) {
            for (let c = 0; c < C; c++) {
              for (let n = 0; n < B; n++) { gram.push(dot(G[c2][e], G[c][n])); got.push(K[c2 * B + e][c * B + n]); }
            }
          }
        }
        assertClose(got, gram, `${rows} structured ⟨G, G'⟩`);
      } finally {
        merged.dispose();
        for (const s of sites) tf.dispose([(s as DenseSite).a, (s as DenseSite).delta]);
        W.dispose();
      }
      assert.equal(tf.memory().numTensors, before, 'tensors leaked');
    }
  });

  it('vector sites of one variable (LayerNorm γ with its scale x̂) = Σ over sites and rows of δ ⊙ u', () => {
    const rand = prng(5);
    const raws = [3, 3].map((r) => rawSite(r, OUT, OUT, rand)); // a plays the scale u [B·r, size]
    const g = zeroVariable([OUT]);
    const sites: VectorSite[] = raws.map((r) => ({
      kind: 'vector', variable: g, rowsPerExample: r.rows,
      delta: tf.tensor3d(f32(r.delta), [C, B * r.rows, OUT]), scale: tf.tensor2d(f32(r.a), [B * r.rows, OUT]),
    }));
    const merged = mergeSharedSites(sites);
    try {
      assert.equal(merged.sites.length, 1);
      const rowsOut = tf.tidy(() => vectorGradientRows(merged.sites as VectorSite[], B, C).arraySync());
      for (let c = 0; c < C; c++) {
        for (let b = 0; b < B; b++) {
          const want = new Float64Array(OUT);
          for (const { rows, a, delta } of raws) {
            for (let t = 0; t < rows; t++) for (let o = 0; o < OUT; o++) want[o] += delta[((c * B + b) * rows + t) * OUT + o] * a[(b * rows + t) * OUT + o];
          }
          assertClose(rowsOut[c * B + b], want, `vector [${c}][${b}]`);
        }
      }
    } finally {
      merged.dispose();
      for (const s of sites) tf.dispose([s.delta, s.scale!]);
      g.dispose();
    }
  });

  it('tensors shared between sites stay shared after the merge (query/key input, a bias and its layer\'s δ)', () => {
    const rand = prng(9);
    const raws = [3, 3].map((r) => rawSite(r, IN, OUT, rand));
    const [Wq, Wk, bq] = [zeroVariable([OUT, IN]), zeroVariable([OUT, IN]), zeroVariable([OUT])];
    const owned: tf.Tensor[] = [];
    const sites: Site[] = [];
    for (const r of raws) { // one depth: query and key read one input; the query bias shares the query's δ
      const a = tf.tensor2d(f32(r.a), [B * r.rows, IN]);
      const dq = tf.tensor3d(f32(r.delta), [C, B * r.rows, OUT]);
      const dk = tf.neg(dq) as tf.Tensor3D;
      owned.push(a, dq, dk);
      sites.push(denseSite(Wq, r, a, dq), { kind: 'vector', variable: bq, rowsPerExample: r.rows, delta: dq }, denseSite(Wk, r, a, dk));
    }
    const merged = mergeSharedSites(sites);
    try {
      assert.deepEqual(merged.sites.map((s) => s.variable), [Wq, bq, Wk], 'one site per variable, in first-read order');
      const [q, b, k] = merged.sites as [DenseSite, VectorSite, DenseSite];
      assert.equal(q.a, k.a, 'query and key keep one input tensor (structured-ntk merges their sites by it)');
      assert.equal(b.delta, q.delta, 'the bias keeps its layer\'s δ tensor (structured-ntk folds it in by it)');
      assert.notEqual(k.delta, q.delta);
    } finally {
      merged.dispose();
      tf.dispose(owned);
      [Wq, Wk, bq].forEach((v) => v.dispose());
    }
  });

  it('a recording without shared variables is returned as it is, creating nothing; mixed kinds of one variable are refused', () => {
    const rand = prng(3);
    const raw = rawSite(3, IN, OUT, rand);
    const [W, E] = [zeroVariable([OUT, IN]), zeroVariable([10, OUT])];
    const s = denseSite(W, raw);
    const rows = (ids: number[]): Site => ({ kind: 'rows', variable: E, rowsPerExample: 3, ids: Int32Array.from(ids), values: s.delta });
    const sites: Site[] = [s, rows([1, 2, 3, 4, 5, 6, 7, 8, 9]), rows([0, 0, 0, 1, 1, 1, 2, 2, 2])]; // a tied table read twice: rows sites stay
    const before = tf.memory().numTensors;
    const same = mergeSharedSites(sites);
    assert.equal(same.sites, sites);
    assert.equal(tf.memory().numTensors, before);
    assert.throws(() => mergeSharedSites([s, { kind: 'vector', variable: W, rowsPerExample: 3, delta: s.delta }]),
      /variable '.*' is recorded as dense and vector sites; a variable's sites must be of one kind/);
    assert.equal(tf.memory().numTensors, before, 'nothing left behind by the refusal');
    tf.dispose([s.a, s.delta]);
    [W, E].forEach((v) => v.dispose());
  });
});
