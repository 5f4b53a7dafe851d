import * as os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { maxBindingBytes, transpose2d } from '../backend';
import { throwIfAborted, yieldToEventLoop } from '../util/abort';
import { asymmetricSigngdKernel } from './asymmetric-signgd';
import type { ChunkPiece, EvaluatedPiece, KernelContraction } from './contraction';
import { countOutputs, examplePieces, MAX_PIECE, pieceLayout, projectedSize, type Piece } from './gradients';
import { sgdKernel } from './sgd';
import { signgdKernel } from './signgd';
import { checkTile, FilledPairs, PlanFingerprint, planTiles } from './tiles';
import type {
  EmpiricalNtk,
  EmpiricalNtkOptions,
  EvalSet,
  KernelBlock,
  KernelKind,
  KernelParameter,
  KernelResult,
  KernelRunOptions,
  OutputFn,
} from './types';

const CONTRACTIONS: Record<KernelKind, KernelContraction> = {
  sgd: sgdKernel,
  signgd: signgdKernel,
  'asymmetric-signgd': asymmetricSigngdKernel,
};

/**
 * A default for `maxGradientsInMemory`: how many per-(example, class) gradient vectors of P float32 coordinates fit
 * in half of the free memory (`os.freemem()`), or in `budgetBytes` when smaller. Sign-based kinds hold a sign copy
 * next to each gradient, doubling the bytes per vector (`signCopies`). Never below 2.
 */
export function defaultMaxGradients(
  numParameters: number,
  options: { budgetBytes?: number; signCopies?: boolean; freeFraction?: number } = {},
): number {
  const bytesPerVector = 4 * Math.max(1, numParameters) * (options.signCopies ? 2 : 1);
  const free = os.freemem() * (options.freeFraction ?? 0.5);
  const budget = Math.min(options.budgetBytes ?? Infinity, free);
  return Math.max(2, Math.floor(budget / bytesPerVector));
}

export interface EmpiricalNtkFnOptions extends EmpiricalNtkOptions {
  /** Largest contraction piece (coordinates). Default 2^24, the float32 exact-integer limit; smaller only in tests. */
  maxPieceSize?: number;
}

/**
 * The empirical NTK kernels of `outputFn` with respect to `params`, as a function of the data.
 *
 * Returns `(trainInputs, evalSets, { signal, onProgress }) → { [kind]: { train: K(train, train), [set]: K(train, set) } }`,
 * each block [N, C, M, C] in float64 (see types.ts `KernelBlock`; A-SignGD blocks also carry `flipped`).
 *
 * Procedure (bounded memory). Gradients are computed per example (C backward passes, gradients.ts) and cut into
 * pieces of ≤ 2^24 coordinates. The train set is processed in chunks of k examples, k = ⌊maxGradientsInMemory / C⌋ − 1
 * (the chunk's k·C gradient vectors plus the C of the example being streamed stay within the cap). For each chunk:
 *   1. compute and hold the chunk's gradients [k·C, P] (and their signs for sign kinds);
 *   2. train×train: stream the train examples m ≥ chunk start against the chunk and keep the pairs n ≤ m (upper
 *      triangle); the other half follows by symmetry (for A-SignGD: K[m, n] = K'[n, m]). Examples inside the chunk
 *      reuse the held gradients;
 *   3. stream every example of every evaluated set against the chunk.
 * Evaluated (and later train) examples' gradients are therefore recomputed once per chunk: with one chunk (a large
 * enough cap) every example's gradient is computed exactly once.
 * Dot products are float32 per piece (as the reference's fp32 JVPs) and summed over pieces in float64.
 *
 * Progress: one event per gradient computation; the AbortSignal is checked before each one (so an abort stops the
 * computation within one example) and surfaces as `AbortError`. All tensors are released, also on abort or error.
 *
 * Tiles (`run.tile`, tiles.ts): the work units are (chunk, one streamed train or evaluated example); a tile holds only
 * the chunks it has units against and fills only its units' pairs (train×train: both mirror images).
 */
export function empiricalNtkFn<I>(
  outputFn: OutputFn<I>,
  params: (tf.Variable | KernelParameter)[],
  options: EmpiricalNtkFnOptions,
): EmpiricalNtk<I> {
  const kparams: KernelParameter[] = params.map((p) => (p instanceof tf.Variable ? { variable: p } : p));
  const kinds = [...new Set(options.kinds)];
  if (kinds.length === 0) throw new Error('kernel/empirical-ntk.ts: `kinds` is empty; ask for at least one of sgd, signgd, asymmetric-signgd');
  for (const k of kinds) {
    if (!(k in CONTRACTIONS)) throw new Error(`kernel/empirical-ntk.ts: unknown kernel kind '${k}'; use sgd, signgd or asymmetric-signgd`);
  }
  if (kparams.length === 0) throw new Error('kernel/empirical-ntk.ts: no parameters selected for the kernel; check the parameter subset');
  const contractions = kinds.map((k) => CONTRACTIONS[k]);
  const needsSign = contractions.some((c) => c.needsSign);

  return async (trainInputs: I[], evalSets: EvalSet<I>[], run: KernelRunOptions = {}): Promise<KernelResult> => {
    const { signal, onProgress } = run;
    const N = trainInputs.length;
    if (N === 0) throw new Error('kernel/empirical-ntk.ts: the training set is empty');
    const names = new Set<string>();
    for (const s of evalSets) {
      if (s.name === 'train' || names.has(s.name)) {
        throw new Error(`kernel/empirical-ntk.ts: evaluated set name '${s.name}' is reserved or repeated; give each set a unique name other than 'train'`);
      }
      names.add(s.name);
    }
    throwIfAborted(signal, 'kernel');

    const C = countOutputs(outputFn, trainInputs[0]);
    const sizes = kparams.map(projectedSize);
    const P = sizes.reduce((a, b) => a + b, 0);
    const maxG = options.maxGradientsInMemory ?? defaultMaxGradients(P, { signCopies: needsSign });
    if (!Number.isInteger(maxG) || maxG < 2 * C) {
      throw new Error(
        `kernel/empirical-ntk.ts: maxGradientsInMemory = ${maxG} cannot hold one train example and one evaluated example ` +
          `(2·C = ${2 * C} gradient vectors of ${P} coordinates); raise it to at least ${2 * C}`,
      );
    }
    const perChunk = Math.min(N, Math.max(1, Math.floor(maxG / C) - 1));
    // webgpu binds each held piece [k·C, length] whole, up to maxStorageBufferBindingSize (128 MiB on Mesa's
    // software drivers, tfjs-backends.md §3.4 item 3): pieces shrink so that one fits. Infinity elsewhere.
    const bindingPiece = Math.floor(maxBindingBytes() / (4 * perChunk * C));
    const layout = pieceLayout(sizes, Math.max(1, Math.min(options.maxPieceSize ?? MAX_PIECE, bindingPiece)));

    // Result blocks, zero-initialised.
    const result: KernelResult = {};
    for (const c of contractions) {
      const blocks: Record<string, KernelBlock> = {};
      for (const set of [{ name: 'train', size: N }, ...evalSets.map((s) => ({ name: s.name, size: s.inputs.length }))]) {
        const len = N * C * set.size * C;
        blocks[set.name] = { data: new Float64Array(len), shape: [N, C, set.size, C] };
        if (c.hasFlipped) blocks[set.name].flipped = new Float64Array(len);
      }
      result[c.kind] = blocks;
    }

    // Work units in plan order: per chunk [a, b), the train examples m ∈ [a, N) (train×train pairs n ≤ m), then every
    // evaluated example of every set. Untiled, every unit is this call's; tiled (tiles.ts), each is one tile's.
    const tile = checkTile(run.tile, 'kernel/empirical-ntk.ts');
    const chunkStarts: number[] = [];
    for (let a = 0; a < N; a += perChunk) chunkStarts.push(a);
    const evalTotal = evalSets.reduce((a, s) => a + s.inputs.length, 0);
    const unitsPerChunk = (a: number) => N - a + evalTotal;
    const owner = tile ? planTiles(chunkStarts.flatMap((a) => new Array<number>(unitsPerChunk(a)).fill(1)), tile.count) : undefined;
    const mine = (u: number) => !owner || owner[u] === tile!.index;
    // Progress: gradient computations planned (a tile: the chunks it needs, and its units that compute one).
    let total = 0;
    for (let a = 0, u = 0; a < N; u += unitsPerChunk(a), a += perChunk) {
      const b = Math.min(N, a + perChunk);
      let needed = 0;
      let owned = false;
      for (let k = 0; k < unitsPerChunk(a); k++) {
        if (!mine(u + k)) continue;
        owned = true;
        if (k >= b - a) needed++; // m ≥ b or an evaluated example: a gradient computation
      }
      if (owned) total += b - a + needed;
    }
    const passes = chunkStarts.reduce((s, a) => s + unitsPerChunk(a), 0); // the whole call's, tiled or not
    run.onPlan?.({ perChunk, chunks: chunkStarts.length, passes, passesOneChunk: N + evalTotal });
    let done = 0;
    const started = Date.now();
    const gradientsOf = async (input: I): Promise<(tf.Tensor2D | null)[]> => {
      throwIfAborted(signal, `kernel (after ${done} of ${total} example gradients)`);
      const pieces = examplePieces(outputFn, kparams, input, C, layout);
      done++;
      const elapsed = (Date.now() - started) / 1000;
      onProgress?.({ phase: 'kernel', done, total, etaSeconds: (elapsed / done) * (total - done) });
      await yieldToEventLoop();
      return pieces;
    };
    const filled = tile ? new FilledPairs(N, [{ name: 'train', size: N }, ...evalSets.map((s) => ({ name: s.name, size: s.inputs.length }))]) : undefined;

    let u = 0; // the next unit
    for (const a of chunkStarts) {
      const b = Math.min(N, a + perChunk);
      const u0 = u;
      u += unitsPerChunk(a);
      let owned = false;
      for (let k = u0; k < u && !owned; k++) owned = mine(k);
      if (!owned) continue; // a tile with no unit against this chunk need not hold it
      const chunk = await buildChunk(trainInputs.slice(a, b), gradientsOf, layout, C, needsSign);
      let v = u0;
      try {
        // Train × train: pairs n ≤ m, n ∈ [a, b), m ∈ [a, N).
        for (let m = a; m < N; m++) {
          if (!mine(v++)) continue;
          const evaluated = m < b ? evaluatedFromChunk(chunk, (m - a) * C, C, needsSign) : evaluatedFrom(await gradientsOf(trainInputs[m]), needsSign);
          const products = await contractAll(contractions, chunk, evaluated, (b - a) * C, C);
          disposeEvaluated(evaluated);
          fillTrain(result, contractions, products, a, Math.min(b, m + 1), m, N, C);
          if (filled) {
            const rows = Array.from({ length: Math.min(b, m + 1) - a }, (_, i) => a + i);
            filled.mark('train', rows, [m]);
            filled.mark('train', [m], rows);
          }
        }
        // Train × each evaluated set.
        for (const set of evalSets) {
          const M = set.inputs.length;
          for (let m = 0; m < M; m++) {
            if (!mine(v++)) continue;
            const evaluated = evaluatedFrom(await gradientsOf(set.inputs[m]), needsSign);
            const products = await contractAll(contractions, chunk, evaluated, (b - a) * C, C);
            disposeEvaluated(evaluated);
            fillEvaluated(result, contractions, products, set.name, a, b, m, M, C);
            filled?.mark(set.name, Array.from({ length: b - a }, (_, i) => a + i), [m]);
          }
        }
      } finally {
        for (const p of chunk) if (p) { p.raw.dispose(); p.sign?.dispose(); }
      }
    }
    if (tile) {
      const plan = new PlanFingerprint();
      plan.add('plain', N, C, P, perChunk, kinds.join(','));
      plan.add('pieces', layout.map((p) => p.length));
      for (const s of evalSets) plan.add('set', s.name, s.inputs.length);
      filled!.attach(result, tile, plan.digest(), false);
    }
    return result;
  };
}

/** Holds the chunk's gradients: per piece [k·C, length] (+ sign), or null where every gradient is absent. */
async function buildChunk<I>(
  inputs: I[],
  gradientsOf: (input: I) => Promise<(tf.Tensor2D | null)[]>,
  layout: Piece[],
  C: number,
  needsSign: boolean,
): Promise<(ChunkPiece | null)[]> {
  const perExample: (tf.Tensor2D | null)[][] = [];
  const built: (ChunkPiece | null)[] = [];
  try {
    for (const input of inputs) perExample.push(await gradientsOf(input));
    layout.forEach((piece, j) => {
      const parts = perExample.map((e) => e[j]);
      if (parts.every((p) => p == null)) { built.push(null); return; }
      const raw = tf.tidy(() => tf.concat(parts.map((p) => p ?? tf.zeros([C, piece.length])), 0) as tf.Tensor2D); // [k·C, len]
      for (const p of parts) p?.dispose(); // keep the peak at the chunk plus one piece
      built.push({ raw, sign: needsSign ? tf.sign(raw) : undefined });
    });
    return built;
  } catch (e) {
    for (const ex of perExample) for (const t of ex) if (t && !t.isDisposed) t.dispose();
    for (const p of built) if (p) { p.raw.dispose(); p.sign?.dispose(); }
    throw e;
  }
}

/**
 * An evaluated example's pieces, transposed to [length, C]; consumes (disposes) `pieces`. (transpose2d: on webgpu
 * a plain transpose of [C, length] throws for length > 16·65 535, tfjs-backends.md §3.4 item 4.)
 */
function evaluatedFrom(pieces: (tf.Tensor2D | null)[], needsSign: boolean): (EvaluatedPiece | null)[] {
  return pieces.map((p) => {
    if (!p) return null;
    const rawT = transpose2d(p); // [len, C]
    p.dispose();
    return { rawT, signT: needsSign ? tf.sign(rawT) : undefined };
  });
}

/** A train example already held in the chunk (rows row0 .. row0+C−1), as an evaluated example. */
function evaluatedFromChunk(chunk: (ChunkPiece | null)[], row0: number, C: number, needsSign: boolean): (EvaluatedPiece | null)[] {
  return chunk.map((p) => {
    if (!p) return null;
    // gather, not slice: tfjs-wasm's slice copies its whole source to JS first ([k·C, len] per call: seconds per
    // chunk), while gather runs in wasm and touches only the C rows it returns.
    const rawT = tf.tidy(() => transpose2d(tf.gather(p.raw, tf.range(row0, row0 + C, 1, 'int32')))); // [len, C]
    return { rawT, signT: needsSign ? tf.sign(rawT) : undefined };
  });
}

function disposeEvaluated(e: (EvaluatedPiece | null)[]): void {
  for (const p of e) if (p) { p.rawT.dispose(); p.signT?.dispose(); }
}

/** Per contraction: main (and flipped) products [rows·C] summed over pieces in float64. */
interface Products {
  main: Float64Array;
  flipped?: Float64Array;
}

async function contractAll(
  contractions: KernelContraction[],
  chunk: (ChunkPiece | null)[],
  evaluated: (EvaluatedPiece | null)[],
  rows: number,
  C: number,
): Promise<Products[]> {
  const out: Products[] = contractions.map((c) => ({
    main: new Float64Array(rows * C),
    flipped: c.hasFlipped ? new Float64Array(rows * C) : undefined,
  }));
  const targets: Float64Array[] = [];
  const stacked: tf.Tensor | undefined = tf.tidy(() => {
    const parts: tf.Tensor2D[] = [];
    chunk.forEach((cp, j) => {
      const ep = evaluated[j];
      if (!cp || !ep) return; // a zero gradient on either side contributes 0
      contractions.forEach((c, k) => {
        const r = c.contract(cp, ep);
        parts.push(r.main);
        targets.push(out[k].main);
        if (r.flipped) { parts.push(r.flipped); targets.push(out[k].flipped!); }
      });
    });
    return parts.length ? tf.stack(parts) : undefined; // [L, rows, C]
  }) as tf.Tensor | undefined;
  // An asynchronous read: the webgpu backend cannot read synchronously in Node (backend/webgpu-setup.ts).
  let values: Float32Array = new Float32Array(0);
  if (stacked) {
    try {
      values = (await stacked.data()) as Float32Array;
    } finally {
      stacked.dispose();
    }
  }
  const size = rows * C;
  targets.forEach((t, l) => {
    for (let i = 0; i < size; i++) t[i] += values[l * size + i];
  });
  return out;
}

const at = (n: number, c: number, m: number, c2: number, C: number, M: number) => ((n * C + c) * M + m) * C + c2;

/** Train×train pairs n ∈ [a, nEnd) with n ≤ m, and their mirror images (n, c) ↔ (m, c'). */
function fillTrain(result: KernelResult, contractions: KernelContraction[], products: Products[], a: number, nEnd: number, m: number, N: number, C: number): void {
  contractions.forEach((con, k) => {
    const block = result[con.kind]!.train;
    const { main, flipped } = products[k];
    for (let n = a; n < nEnd; n++) {
      for (let c = 0; c < C; c++) {
        for (let c2 = 0; c2 < C; c2++) {
          const i = ((n - a) * C + c) * C + c2;
          block.data[at(n, c, m, c2, C, N)] = main[i];
          if (con.hasFlipped) {
            // K[m, c', n, c] = ⟨sign g_{m,c'}, g_{n,c}⟩ = K'[n, c, m, c'], and K'[m, c', n, c] = K[n, c, m, c'].
            block.flipped![at(n, c, m, c2, C, N)] = flipped![i];
            block.data[at(m, c2, n, c, C, N)] = flipped![i];
            block.flipped![at(m, c2, n, c, C, N)] = main[i];
          } else {
            block.data[at(m, c2, n, c, C, N)] = main[i];
          }
        }
      }
    }
  });
}

function fillEvaluated(result: KernelResult, contractions: KernelContraction[], products: Products[], name: string, a: number, b: number, m: number, M: number, C: number): void {
  contractions.forEach((con, k) => {
    const block = result[con.kind]![name];
    const { main, flipped } = products[k];
    for (let n = a; n < b; n++) {
      for (let c = 0; c < C; c++) {
        for (let c2 = 0; c2 < C; c2++) {
          const i = ((n - a) * C + c) * C + c2;
          block.data[at(n, c, m, c2, C, M)] = main[i];
          if (flipped) block.flipped![at(n, c, m, c2, C, M)] = flipped[i];
        }
      }
    }
  });
}
