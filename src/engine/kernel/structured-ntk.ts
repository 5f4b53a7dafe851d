import * as tf from '@tensorflow/tfjs';
import { throwIfAborted, yieldToEventLoop } from '../util/abort';
import { defaultMaxGradients } from './empirical-ntk';
import { mmBT } from '../backend/matmul';
import { mergeSharedSites } from './shared-sites';
import {
  compactFactors, denseGradientRows, fusedStructuredProduct, mergeTrainSite, segmentMatrix, sparseGradients, structuredSiteProduct, trainRowsAsEvaluated,
  vectorGradientRows, type CompactFactors, type SparseGradient, type TrainSiteFactors,
} from './structured-features';
import type { DenseSite, Recording, RowsSite, Site, StructuredModel, VectorSite } from './structured-types';
import { checkTile, FilledPairs, PlanFingerprint, symmetrizeTrain, TileAssigner } from './tiles';
import type { EmpiricalNtk, EmpiricalNtkOptions, EvalSet, KernelBlock, KernelKind, KernelParameter, KernelResult, KernelRunOptions } from './types';

/**
 * The structured empirical NTK: the same kernels as `empiricalNtkFn` (same result layout, same options), computed
 * from batched recordings of the model instead of per-example gradients (Novak et al. 2022, "Fast Finite Width NTK").
 *
 * For a batch of B examples the model runs ONE batched forward and the backward passes of Σ_b f_c(x_b)
 * (structured-types.ts, model/recording.ts), recording per parameter site its input activations a [T, in] and output
 * cotangents δ [T, out] per example. Examples do not interact, so each example's gradient follows per site:
 *   dense W:   G = Σ_t a_t ⊗ δ_t     and   ⟨G, G'⟩ = Σ_{t,s} (δ_t·δ'_s)(a_t·a'_s)
 *   bias, LN:  Σ_t δ_t (⊙ x̂_t)
 *   tables:    only the rows of the example's tokens (and the C label-word rows of the decoder), merged by row id.
 * A weight read at several sites (ALBERT's one layer at every depth) is first merged into one site per variable whose
 * rows per example are those of all its sites (shared-sites.ts): the sum over depths of a ⊗ δ, cross-depth terms
 * included in the structured form; the flop count of the two forms then sees its L·T rows per example.
 * Dense layers use, per (layer, evaluated batch), the cheaper of the explicit form (form G_{m,c'} = A_mᵀΔ_{m,c'},
 * then one [Be·C, in·out]×[in·out, Bt·C] matMul against the held train gradients) and the structured form (Gram
 * matrices of a and δ: O(T_m·T_n·(in + C²·out)) per pair, or on wasm one fused pass of O(T_m·T_n·(in + C·out)),
 * structured-features.ts structuredSiteProduct), by flop count (`form: 'auto'`). Embedding tables are
 * vocabulary-sparse: a chunk's train gradients touch a set U of rows (its tokens, positions, label words), and only
 * rows in U can contribute, so each table becomes one dense product over U ([C·Be, |U|·W]·[C·Nc, |U|·W]ᵀ), never
 * a V×H vector.
 *
 * Sign kernels (SignGD, A-SignGD) need the sign of every coordinate of the per-example gradient, which the
 * structured identity cannot give: for them the dense sites always use the explicit G (`denseGradientRows`), and
 * the tables use the signs of their sparse rows (rows not touched are 0 and count 0). They still share the batched
 * forward/backward.
 *
 * Batching and memory: inputs are sorted by length and batched (≤ batchSize), each batch padded to its longest
 * input. The train set is processed in chunks of k = ⌊maxGradientsInMemory / C⌋ − 1 examples whose gradients are
 * held (dense and vector coordinates explicitly, tables sparsely); each evaluated batch then holds the explicit
 * gradients of one layer at a time, at most C·P coordinates (the batch size is capped at ⌊P / largest layer⌋), which
 * keeps the plain kernel's bound of (k + 1)·C gradient vectors. Every evaluated set is streamed in batches against
 * each chunk; so is the train set itself when it takes several chunks (train×train, made exactly symmetric afterwards).
 * With one chunk, train×train comes from what the chunk holds (its gradients, or in the structured form its factors).
 *
 * Per-site products are float32 on the device and summed across sites in float64 (as the plain kernel's pieces; a
 * layer holds far fewer than 2^24 coordinates, so SignGD stays exact). Progress: one event per recorded batch
 * (counted in examples); the AbortSignal is checked before each batch. All tensors are released, also on error.
 *
 * Tiles (`run.tile`, tiles.ts): every tile records the train chunks (which alone fix the batch sizes: the bytes per
 * token are measured on them) and so plans every batch as the untiled call; it records and contracts only the
 * streamed batches, and the held batches' share of train×train, assigned to it. The symmetrisation of train×train is
 * left to `mergeKernelTiles`.
 */
export interface StructuredNtkOptions extends EmpiricalNtkOptions {
  /** Examples per recorded batch (default 32). */
  batchSize?: number;
  /** Dense-layer contraction: the cheaper per layer and batch ('auto', default), or one form everywhere (tests). */
  form?: 'auto' | 'explicit' | 'structured';
  /**
   * Bytes one recorded batch may keep (activations and cotangents of every layer). Batches are sized from the bytes
   * per token measured on the train chunks' recordings so far (the most any kept). Default 256 MiB on wasm (its heap
   * is 4 GiB at most), 1 GiB elsewhere.
   */
  recordBudgetBytes?: number;
}

/**
 * Default budget for held gradients on tfjs-wasm: its heap is a 32-bit wasm memory (at most 4 GiB, shared with the
 * model, the activations and the device-side copies), and a failed allocation there corrupts the heap instead of
 * throwing. The free system memory is no guide to it.
 */
export const WASM_GRADIENT_BYTES = 2 ** 30;

/** The default `recordBudgetBytes` on the current backend: 256 MiB on wasm (a 4 GiB heap at most), else 1 GiB. */
export function defaultRecordBudget(): number {
  return tf.getBackend() === 'wasm' ? 256 * 2 ** 20 : 2 ** 30;
}

type Side = 'raw' | 'sign';
interface Target { kind: KernelKind; flipped: boolean; evalSide: Side; trainSide: Side }

/** What each kind contracts: train side × evaluated side (A-SignGD: K signs the train side, K' the evaluated side). */
const TARGETS: Record<KernelKind, Target[]> = {
  sgd: [{ kind: 'sgd', flipped: false, evalSide: 'raw', trainSide: 'raw' }],
  signgd: [{ kind: 'signgd', flipped: false, evalSide: 'sign', trainSide: 'sign' }],
  'asymmetric-signgd': [
    { kind: 'asymmetric-signgd', flipped: false, evalSide: 'raw', trainSide: 'sign' },
    { kind: 'asymmetric-signgd', flipped: true, evalSide: 'sign', trainSide: 'raw' },
  ],
};

/**
 * A held train batch: its examples' gradients, per dense site as columns [size, C·Bt], class-major; and, until they
 * are merged over the chunk (TrainFactors), its dense sites' structured factors over real rows.
 */
interface TrainBatch {
  indices: number[];
  dense: Map<tf.Variable, { raw?: tf.Tensor2D; sign?: tf.Tensor2D }>;
  vector?: { raw: tf.Tensor2D; sign?: tf.Tensor2D };
  factors?: Map<tf.Variable, CompactFactors>;
}

/**
 * The structured factors of a whole train chunk, per dense site, merged over its batches (one Gram product per site
 * and evaluated batch, not one per held batch), real rows only, laid out once for the backend's product
 * (TrainSiteFactors). Columns of a product: c·Nc + j for the j-th example of `indices`.
 */
interface TrainFactors {
  indices: number[];
  sites: Map<tf.Variable, SiteFactors>;
  dispose(): void;
}

/** One dense site's merged train factors (structured-features.ts TrainSiteFactors: the layout its product reads). */
type SiteFactors = TrainSiteFactors;

/**
 * The chunk's table gradients on the device, restricted to the rows some train example touches (the set U; a row
 * outside U is zero in every train gradient and adds nothing to any kernel entry, raw or sign): per table the train
 * matrix [C·Nc, |U|·W] (tableRows), and where each table row sits in it.
 */
interface HeldTables {
  indices: number[];
  tables: { table: tf.Variable; rowOf: Map<number, number>; width: number; raw: tf.Tensor2D; sign?: tf.Tensor2D }[];
}


export function structuredNtkFn<I>(
  model: StructuredModel<I>,
  params: (tf.Variable | KernelParameter)[],
  options: StructuredNtkOptions,
): EmpiricalNtk<I> {
  const kparams: KernelParameter[] = params.map((p) => (p instanceof tf.Variable ? { variable: p } : p));
  const kinds = [...new Set(options.kinds)];
  if (kinds.length === 0) throw new Error('kernel/structured-ntk.ts: `kinds` is empty; ask for at least one of sgd, signgd, asymmetric-signgd');
  for (const k of kinds) if (!(k in TARGETS)) throw new Error(`kernel/structured-ntk.ts: unknown kernel kind '${k}'; use sgd, signgd or asymmetric-signgd`);
  if (kparams.length === 0) throw new Error('kernel/structured-ntk.ts: no parameters selected for the kernel; check the parameter subset');
  const projected = kparams.find((p) => p.project);
  if (projected) {
    throw new Error(`kernel/structured-ntk.ts: parameter '${projected.name ?? projected.variable.name}' has a projection (LoRA); `
      + 'the structured kernel contracts full gradients only: use the plain implementation (empiricalNtkFn) for LoRA kernels');
  }
  const selected = new Set(kparams.map((p) => p.variable));
  const targets = kinds.flatMap((k) => TARGETS[k]);
  const needsSign = targets.some((t) => t.evalSide === 'sign' || t.trainSide === 'sign');
  const form = options.form ?? 'auto';
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`kernel/structured-ntk.ts: batchSize ${batchSize} must be a positive integer`);
  const C = model.numClasses;
  const P = kparams.reduce((a, p) => a + p.variable.size, 0);

  return async (trainInputs: I[], evalSets: EvalSet<I>[], run: KernelRunOptions = {}): Promise<KernelResult> => {
    const { signal, onProgress, onOutputs } = run;
    const N = trainInputs.length;
    if (N === 0) throw new Error('kernel/structured-ntk.ts: the training set is empty');
    const names = new Set<string>();
    for (const s of evalSets) {
      if (s.name === 'train' || names.has(s.name)) {
        throw new Error(`kernel/structured-ntk.ts: evaluated set name '${s.name}' is reserved or repeated; give each set a unique name other than 'train'`);
      }
      names.add(s.name);
    }
    throwIfAborted(signal, 'kernel');
    const tile = checkTile(run.tile, 'kernel/structured-ntk.ts');
    const maxG = options.maxGradientsInMemory
      ?? Math.max(2 * C, defaultMaxGradients(P, { signCopies: needsSign, budgetBytes: tf.getBackend() === 'wasm' ? WASM_GRADIENT_BYTES : undefined }));
    if (!Number.isInteger(maxG) || maxG < 2 * C) {
      throw new Error(`kernel/structured-ntk.ts: maxGradientsInMemory = ${maxG} cannot hold one train example and one evaluated example `
        + `(2·C = ${2 * C} gradient vectors of ${P} coordinates); raise it to at least ${2 * C}`);
    }
    // Explicit train gradients that do not fit one chunk would make every evaluated example be recorded once per
    // chunk (bert-base on the 4 GiB wasm heap: one train example per chunk, 32 recordings of each). The structured
    // form holds only the train activations and cotangents (O(T·(in + out)) per example and layer), so for the SGD
    // kernel the whole train set then stays one chunk. The sign kernels need explicit gradients and keep chunking.
    // With two chunks the explicit form records each evaluated example twice, which costs less than the structured
    // form's T² contractions at LM-BFF lengths (a GPT-2 shape, 4.5 M parameters, ~46 tokens: 40 s explicit in 2
    // chunks vs 151 s structured); from three chunks on, the structured form.
    const explicitChunk = Math.min(N, Math.max(1, Math.floor(maxG / C) - 1));
    const runForm = form === 'auto' && !needsSign && Math.ceil(N / explicitChunk) > 2 ? 'structured' : form;
    const perChunk = runForm === 'structured' && !needsSign ? N : explicitChunk;

    const sets = [{ name: 'train', inputs: trainInputs }, ...evalSets];
    const result: KernelResult = {};
    for (const kind of kinds) {
      const blocks: Record<string, KernelBlock> = {};
      for (const s of sets) {
        const len = N * C * s.inputs.length * C;
        blocks[s.name] = { data: new Float64Array(len), shape: [N, C, s.inputs.length, C] };
        if (kind === 'asymmetric-signgd') blocks[s.name].flipped = new Float64Array(len);
      }
      result[kind] = blocks;
    }
    const lengthOf = (x: I) => model.length(x);
    const byLength = (inputs: I[]) => inputs.map((_, i) => i).sort((a, b) => lengthOf(inputs[a]) - lengthOf(inputs[b]) || a - b);
    const trainOrder = byLength(trainInputs);

    // One chunk (the usual k-shot case, and needed for it: the held matrices must cover every train pair): train×train
    // from the held gradients, or for the structured form from the chunk's merged factors.
    const heldTrain = perChunk >= N;
    // Recordings planned: every train chunk, and the streamed sets against each (onPlan: the whole call's; progress:
    // a tile's share, estimated).
    const streamed = sets.reduce((s, x) => s + (heldTrain && x.name === 'train' ? 0 : x.inputs.length), 0);
    let passes = 0;
    let total = 0;
    for (let a = 0; a < N; a += perChunk) {
      passes += Math.min(perChunk, N - a) + streamed;
      total += Math.min(perChunk, N - a) + (tile ? Math.ceil(streamed / tile.count) : streamed);
    }
    run.onPlan?.({ perChunk, chunks: Math.ceil(N / perChunk), passes, passesOneChunk: N + sets.reduce((s, x) => s + (x.name === 'train' ? 0 : x.inputs.length), 0) });
    // Tiles (tiles.ts): the plan below is walked whole by every tile; each work unit (a held train batch's rows of
    // train×train, or a streamed batch against one chunk) is executed by the one tile it is assigned to.
    const assigner = tile ? new TileAssigner(tile.count) : undefined;
    const mine = (weight: number) => !assigner || assigner.next(weight) === tile!.index;
    const plan = tile ? new PlanFingerprint() : undefined;
    plan?.add('structured', N, C, P, kinds.join(','), runForm, perChunk, heldTrain ? 1 : 0, batchSize, sets.map((x) => x.inputs.length));
    const filled = tile ? new FilledPairs(N, sets.map((x) => ({ name: x.name, size: x.inputs.length }))) : undefined;
    let done = 0;
    const started = Date.now();
    // Recorded batch sizes: as many examples as keep a recording under the budget, from the bytes per token the
    // recordings of the train chunks kept (a bert-base token keeps ~1.4 MB: 32 examples of 60 tokens would not fit the
    // wasm heap). Measured on the train chunks only, which every tile records, so that every tile plans the same batches.
    const recordBudget = options.recordBudgetBytes ?? defaultRecordBudget();
    let bytesPerToken = 0; // the most any train-chunk recording kept, so far
    const firstBatch = P > 2e7 ? 2 : batchSize; // a large model starts small, to measure before it fills memory
    /** How many inputs from order[start] (sorted by length) form the next batch, at most `cap`. */
    const batchFrom = (inputs: I[], order: number[], start: number, cap: number): number => {
      if (bytesPerToken === 0) return Math.min(cap, firstBatch, order.length - start);
      let n = 1;
      while (n < cap && start + n < order.length && bytesPerToken * (n + 1) * lengthOf(inputs[order[start + n]]) <= recordBudget) n++;
      return n;
    };
    const tokensOf = (inputs: I[]) => inputs.length * Math.max(...inputs.map(lengthOf));
    const recordBatch = async (inputs: I[], measure: boolean) => {
      throwIfAborted(signal, `kernel (after ${done} of ${total} examples)`);
      const bytesBefore = tf.memory().numBytes;
      const rec = oneSitePerVariable(await model.record(inputs));
      if (measure) bytesPerToken = Math.max(bytesPerToken, (tf.memory().numBytes - bytesBefore) / tokensOf(inputs));
      done += inputs.length;
      total = Math.max(total, done); // a tile's total is an estimate
      const elapsed = (Date.now() - started) / 1000;
      onProgress?.({ phase: 'kernel', done, total, etaSeconds: (elapsed / done) * (total - done) });
      await yieldToEventLoop();
      return rec;
    };

    let evalBatch = 0; // set from the first recording: min(batchSize, ⌊P / largest layer⌋)
    for (let a = 0; a < N; a += perChunk) {
      const chunkIdx = trainOrder.slice(a, a + perChunk);
      const chunk: TrainBatch[] = [];
      const heldOutputs: (Float32Array | undefined)[] = []; // f0 of the held batches (one chunk only), reported with their unit
      const sparse: SparseGradient[] = []; // the chunk's table rows, per example in chunk order
      let tables: HeldTables | undefined;
      let factors: TrainFactors | undefined;
      try {
        for (let b = 0, size = 0; b < chunkIdx.length; b += size) {
          size = batchFrom(trainInputs, chunkIdx, b, batchSize);
          const indices = chunkIdx.slice(b, b + size);
          plan?.add('chunk', a, indices);
          const rec = await recordBatch(indices.map((i) => trainInputs[i]), true);
          try {
            if (heldTrain) heldOutputs.push(rec.outputs);
            const split = splitSites(rec.sites, selected);
            try {
              if (evalBatch === 0) {
                const largest = Math.max(1, ...split.dense.map((s) => s.a.shape[1] * s.delta.shape[2]), split.vector.reduce((x, s) => x + s.variable.size, 0));
                evalBatch = Math.max(1, Math.min(batchSize, Math.floor(P / largest)));
              }
              chunk.push(holdTrainBatch(split, indices, indices.map((i) => lengthOf(trainInputs[i])), C, needsSign, runForm));
              sparse.push(...await sparseGradients(split.rows, indices.map((i) => lengthOf(trainInputs[i])), C));
            } finally {
              split.dispose();
            }
          } finally {
            rec.dispose();
          }
        }
        tables = holdTables(sparse, chunkIdx, C, needsSign);
        factors = mergeFactors(chunk, C);
        for (const set of sets) {
          if (heldTrain && set.name === 'train') {
            // Units: each held batch as the evaluated side of train×train, K[·, ·, m ∈ batch, ·] (its f0 is reported by
            // the tile that computes it).
            const rows = chunk.filter((p, i) => {
              plan?.add('held', p.indices);
              if (!mine(tokensOf(p.indices.map((j) => trainInputs[j])))) return false;
              const values = heldOutputs[i];
              if (values) onOutputs?.('train', p.indices, values);
              filled?.mark('train', trainOrder, p.indices);
              return true;
            });
            if (rows.length) await contractHeldTrain(chunk, rows, factors, tables, targets, C, result, N);
            continue;
          }
          const order = byLength(set.inputs);
          for (let b = 0, size = 0; b < order.length; b += size) {
            size = batchFrom(set.inputs, order, b, evalBatch);
            const indices = order.slice(b, b + size);
            plan?.add('batch', a, set.name, indices);
            if (!mine(tokensOf(indices.map((i) => set.inputs[i])))) continue;
            filled?.mark(set.name, chunkIdx, indices);
            const rec = await recordBatch(indices.map((i) => set.inputs[i]), false);
            try {
              if (a === 0 && rec.outputs) onOutputs?.(set.name, indices, rec.outputs);
              const lengths = indices.map((i) => lengthOf(set.inputs[i]));
              const split = splitSites(rec.sites, selected);
              try {
                await contractBatch(split, indices, lengths, chunk, factors, tables, targets, runForm, C, result, set.name, set.inputs.length);
              } finally {
                split.dispose();
              }
            } finally {
              rec.dispose();
            }
          }
        }
      } finally {
        for (const t of chunk) {
          for (const d of t.dense.values()) tf.dispose([d.raw, d.sign].filter((x): x is tf.Tensor2D => !!x));
          if (t.vector) tf.dispose([t.vector.raw, t.vector.sign].filter((x): x is tf.Tensor2D => !!x));
          disposeFactors(t);
        }
        factors?.dispose();
        for (const t of tables?.tables ?? []) tf.dispose([t.raw, t.sign].filter((x): x is tf.Tensor2D => !!x));
      }
    }
    if (tile) filled!.attach(result, tile, plan!.digest(), true); // symmetrised by mergeKernelTiles
    else symmetrizeTrain(result, N, C);
    return result;
  };
}

/** The recording with one dense or vector site per variable (shared-sites.ts); disposing it releases both. */
function oneSitePerVariable(rec: Recording): Recording {
  let merged;
  try {
    merged = mergeSharedSites(rec.sites);
  } catch (e) {
    rec.dispose();
    throw e;
  }
  const release = merged.dispose;
  return { sites: merged.sites, outputs: rec.outputs, dispose: () => { release(); rec.dispose(); } };
}

interface SplitSites { dense: DenseSite[]; vector: VectorSite[]; rows: RowsSite[]; dispose(): void }

/**
 * The selected sites by kind. Dense sites that share one input tensor (query, key, value) are merged into one site
 * whose δ is their concatenation along the outputs: its gradient is the stacked [Σout, in] block, and for the
 * structured form Σ_sites (δ·δ')(a·a') = (δ_cat·δ'_cat)(a·a'). Fewer, larger products.
 * A bias that shares its dense layer's δ (y = W a + b) is folded into it: the input gets a column of ones, so the
 * layer's gradient δᵀ[a, 1] = [∂W, ∂b] carries the bias too, and (a·a' + 1) adds its structured term. The same
 * coordinates, one product instead of a separate per-token sum and contraction.
 */
function splitSites(sites: Site[], selected: Set<tf.Variable>): SplitSites {
  const out: SplitSites = { dense: [], vector: [], rows: [], dispose: () => tf.dispose(owned) };
  const owned: tf.Tensor[] = [];
  const byInput = new Map<tf.Tensor, DenseSite[]>();
  const biasOf = new Map<tf.Tensor, VectorSite>(); // a bias site (no scale) by its δ tensor
  for (const s of sites) {
    if (!selected.has(s.variable)) continue;
    if (s.kind === 'dense') {
      const group = byInput.get(s.a);
      if (group) group.push(s); else byInput.set(s.a, [s]);
    } else if (s.kind === 'vector') {
      if (!s.scale) biasOf.set(s.delta, s);
      out.vector.push(s);
    } else out.rows.push(s);
  }
  const folded = new Set<VectorSite>();
  for (const group of byInput.values()) {
    const biases = group.map((d) => biasOf.get(d.delta));
    const fold = biases.every((x) => x !== undefined);
    const delta = group.length === 1 ? group[0].delta : tf.concat(group.map((d) => d.delta), 2) as tf.Tensor3D; // [C, R, Σout]
    if (group.length > 1) owned.push(delta);
    if (!fold) { out.dense.push({ ...group[0], delta }); continue; }
    biases.forEach((x) => folded.add(x!));
    const a = tf.tidy(() => tf.concat([group[0].a, tf.ones([group[0].a.shape[0], 1])], 1) as tf.Tensor2D); // [R, in + 1]
    owned.push(a);
    out.dense.push({ ...group[0], a, delta });
  }
  out.vector = out.vector.filter((v) => !folded.has(v));
  return out;
}

function holdTrainBatch(split: SplitSites, indices: number[], lengths: number[], C: number, needsSign: boolean, form: string): TrainBatch {
  const batch: TrainBatch = { indices, dense: new Map() };
  const B = indices.length;
  for (const site of split.dense) {
    const held: { raw?: tf.Tensor2D; sign?: tf.Tensor2D } = {};
    batch.dense.set(site.variable, held);
    if (form !== 'structured' || needsSign) {
      held.raw = tf.tidy(() => tf.transpose(denseGradientRows(site, B, C)) as tf.Tensor2D); // [out·in, C·B]
      if (needsSign) held.sign = tf.sign(held.raw);
    }
    if (form !== 'explicit') {
      batch.factors ??= new Map();
      batch.factors.set(site.variable, compactFactors(site, lengths, C));
    }
  }
  if (split.vector.length) {
    const raw = tf.tidy(() => tf.transpose(vectorGradientRows(split.vector, B, C)) as tf.Tensor2D); // [Pv, C·B]
    batch.vector = { raw, sign: needsSign ? tf.sign(raw) : undefined };
  }
  return batch;
}

function disposeFactors(t: TrainBatch): void {
  for (const f of t.factors?.values() ?? []) tf.dispose([f.a, f.delta]);
  t.factors = undefined;
}

/** The chunk's structured factors merged over its batches (TrainFactors); the batches' own are released. */
function mergeFactors(chunk: TrainBatch[], C: number): TrainFactors | undefined {
  if (!chunk.length || !chunk[0].factors) return undefined;
  const indices = chunk.flatMap((t) => t.indices);
  const sites: TrainFactors['sites'] = new Map();
  const segs = new Map<string, tf.Tensor2D>(); // by rows per example: token-level sites share one
  const owned: tf.Tensor[] = [];
  try {
    for (const variable of [...chunk[0].factors.keys()]) {
      const parts = chunk.map((t) => t.factors!.get(variable)!);
      const key = parts.flatMap((f) => f.counts).join(',');
      const site = mergeTrainSite(parts, C, () => {
        let segT = segs.get(key);
        if (!segT) {
          segT = tf.tidy(() => tf.transpose(segmentMatrix(parts.flatMap((f) => f.counts), C)) as tf.Tensor2D); // [C·nT, C·Nc]
          segs.set(key, segT);
          owned.push(segT);
        }
        return segT;
      });
      owned.push(site.aT, site.rows ?? site.cols!.dT);
      sites.set(variable, site);
      // Release the batches' copies site by site: both at once would double the chunk's factors at the peak (~0.7 GB
      // for a GPT-2-small chunk of 32 SST-2 prompts, ~1.3 GB for SmolLM2-135M, inside wasm's 4 GiB heap).
      for (const t of chunk) {
        const f = t.factors!.get(variable)!;
        tf.dispose([f.a, f.delta]);
        t.factors!.delete(variable);
      }
    }
  } catch (e) {
    tf.dispose(owned);
    throw e;
  } finally {
    chunk.forEach(disposeFactors);
  }
  return { indices, sites, dispose: () => tf.dispose(owned) };
}

/** Flops of the two dense forms for one site, evaluated batch (nE rows) against the whole chunk. */
function denseCosts(site: DenseSite, nE: number, Be: number, Nc: number, factors: TrainFactors | undefined, C: number): { explicit: number; structured: number } {
  const [Re, inner] = site.a.shape;
  const out = site.delta.shape[2];
  const explicit = 2 * Re * inner * out * C + 2 * Be * C * inner * out * Nc * C;
  const nT = factors?.sites.get(site.variable)?.aT.shape[1];
  // the fused wasm product: C products per token pair (and one read of δ per output); the tf-op form: C², then the
  // class-block Hadamard and the two segment products
  const structured = nT === undefined ? Infinity
    : fusedStructuredProduct() ? 2 * nE * nT * inner + 2 * C * nE * nT * out + 2 * C * C * nE * out * Nc
      : 2 * nE * nT * inner + 2 * C * C * nE * nT * out + 2 * C * C * nE * nT * (1 + Be + Nc);
  return { explicit, structured };
}

/** A device product [C·|rows|, C·|cols|] (rows c'·|rows| + e, columns c·|cols| + j) of one site kind and target. */
interface Product { tensor: tf.Tensor2D; rows: number[]; batch: { indices: number[] }; target: Target }

/** Reads all products back at once and adds them into the result blocks of `setName` (float64 sums over sites). */
async function addProducts(products: Product[], C: number, result: KernelResult, setName: string, M: number): Promise<void> {
  if (!products.length) return;
  const flat = tf.tidy(() => tf.concat(products.map((p) => tf.reshape(p.tensor, [-1])))); // all products, one read-back
  const values = await flat.data() as Float32Array; // asynchronous: webgpu cannot read synchronously
  flat.dispose();
  let o = 0;
  for (const { rows, batch, target } of products) {
    const blk = result[target.kind]![setName];
    const dst = target.flipped ? blk.flipped! : blk.data;
    const Be = rows.length;
    const Bt = batch.indices.length;
    for (let e = 0; e < Be; e++) {
      for (let c2 = 0; c2 < C; c2++) {
        for (let j = 0; j < Bt; j++) {
          for (let c = 0; c < C; c++) dst[((batch.indices[j] * C + c) * M + rows[e]) * C + c2] += values[o + (c2 * Be + e) * C * Bt + c * Bt + j];
        }
      }
    }
    o += Be * C * Bt * C;
  }
}

/** The raw or the sign form of a gradient matrix, as one side of a target asks. */
const side = (h: { raw?: tf.Tensor2D; sign?: tf.Tensor2D }, s: Side): tf.Tensor2D => (s === 'raw' ? h.raw! : h.sign!);

/**
 * train×train when the whole training set is one chunk: straight from the held gradients (dense, vector and table
 * matrices, [size, C·B] each), K = Gᵀ G per site, or for dense sites held only in structured form from the chunk's
 * merged factors (a held batch's rows of them against all), without recording the training set a second time.
 * `rows`: the held batches taken as the evaluated side (all of `chunk` untiled; a tile's own); the table products are
 * whole-chunk products either way (so that every entry is the same float32 product as untiled).
 */
async function contractHeldTrain(chunk: TrainBatch[], rows: TrainBatch[], factors: TrainFactors | undefined, tables: HeldTables, targets: Target[], C: number, result: KernelResult, N: number): Promise<void> {
  const products: Product[] = [];
  try {
    for (const p of rows) {
      const start = chunk.slice(0, chunk.indexOf(p)).reduce((s, t) => s + t.indices.length, 0); // p's first example in the chunk
      for (const [variable, hp] of p.dense) {
        if (hp.raw) continue;
        const train = factors!.sites.get(variable)!;
        for (const target of targets) products.push({ tensor: heldRowsProduct(train, start, p.indices.length, C), rows: p.indices, batch: factors!, target });
      }
      for (const q of chunk) {
        for (const [variable, hp] of p.dense) {
          if (!hp.raw) continue;
          const hq = q.dense.get(variable)!;
          for (const target of targets) {
            products.push({ tensor: tf.matMul(side(hp, target.evalSide), side(hq, target.trainSide), true, false) as tf.Tensor2D, rows: p.indices, batch: q, target });
          }
        }
        if (p.vector && q.vector) {
          for (const target of targets) {
            products.push({ tensor: tf.matMul(side(p.vector, target.evalSide), side(q.vector, target.trainSide), true, false) as tf.Tensor2D, rows: p.indices, batch: q, target });
          }
        }
      }
    }
    for (const t of tables.tables) {
      for (const target of targets) {
        products.push({ tensor: mmBT(side(t, target.evalSide), side(t, target.trainSide)), rows: tables.indices, batch: tables, target });
      }
    }
    await addProducts(products, C, result, 'train', N);
  } finally {
    tf.dispose(products.map((p) => p.tensor));
  }
}

/**
 * The structured product of examples [start, start + B) of a chunk (as the evaluated side, their rows cut from the
 * merged factors) against the whole chunk: [C·B, C·Nc].
 */
function heldRowsProduct(train: SiteFactors, start: number, B: number, C: number): tf.Tensor2D {
  const e = trainRowsAsEvaluated(train, start, B, C);
  try {
    return structuredSiteProduct(e.a, e.delta, e.counts, train, C);
  } finally {
    tf.dispose([e.a, e.delta]);
  }
}

/**
 * Table rows of n examples laid out over U (the rows `rowOf` places; other rows are dropped): [C·n, |U|·W], row
 * c·n + e holding example e's class-c values of every row in U. Both sides of a table product are built with it.
 */
function tableRows(perExample: SparseGradient[], table: tf.Variable, rowOf: Map<number, number>, W: number, C: number): Float32Array {
  const n = perExample.length;
  const UW = rowOf.size * W;
  const out = new Float32Array(C * n * UW);
  perExample.forEach((g, e) => {
    for (const [id, v] of g.get(table) ?? []) {
      const u = rowOf.get(id);
      if (u === undefined) continue;
      for (let c = 0; c < C; c++) out.set(v.subarray(c * W, (c + 1) * W), (c * n + e) * UW + u * W);
    }
  });
  return out;
}

/** The chunk's table rows as device matrices [C·Nc, |U|·W] (float32, as the dense sites). */
function holdTables(sparse: SparseGradient[], chunkIdx: number[], C: number, needsSign: boolean): HeldTables {
  const idsOf = new Map<tf.Variable, { ids: Set<number>; W: number }>();
  for (const g of sparse) {
    for (const [table, rows] of g) {
      for (const [id, v] of rows) {
        const t = idsOf.get(table) ?? { ids: new Set<number>(), W: v.length / C };
        idsOf.set(table, t);
        t.ids.add(id);
      }
    }
  }
  const tables: HeldTables['tables'] = [];
  for (const [table, { ids, W }] of idsOf) {
    const rowOf = new Map([...ids].sort((x, y) => x - y).map((id, u) => [id, u]));
    const raw = tf.tensor2d(tableRows(sparse, table, rowOf, W, C), [C * chunkIdx.length, rowOf.size * W]);
    tables.push({ table, rowOf, width: W, raw, sign: needsSign ? tf.sign(raw) : undefined });
  }
  return { indices: chunkIdx, tables };
}

/** Contracts one recorded evaluated batch with every held train batch of the chunk and adds it into `result`. */
async function contractBatch(
  split: SplitSites, evalIdx: number[], lengths: number[], chunk: TrainBatch[], factors: TrainFactors | undefined, tables: HeldTables,
  targets: Target[], form: string, C: number, result: KernelResult, setName: string, M: number,
): Promise<void> {
  const Be = evalIdx.length;
  const Nc = chunk.reduce((s, t) => s + t.indices.length, 0);
  // Device products: each [C·Be, C·Bt] (rows c'·Be + e, columns c·Bt + j); read back once, summed across sites in float64.
  const products: Omit<Product, 'rows'>[] = [];
  try {
    for (const site of split.dense) {
      const nE = site.a.shape[0];
      const { explicit, structured } = denseCosts(site, nE, Be, Nc, factors, C);
      const structuredForSgd = form === 'structured' || (form === 'auto' && structured < explicit);
      const needExplicit = targets.some((t) => t.evalSide === 'sign' || t.trainSide === 'sign' || !structuredForSgd);
      const raw = needExplicit ? denseGradientRows(site, Be, C) : undefined; // [C·Be, out·in]
      const sign = raw && targets.some((t) => t.evalSide === 'sign') ? tf.sign(raw) : undefined;
      try {
        for (const target of targets) {
          if (target.evalSide === 'raw' && target.trainSide === 'raw' && structuredForSgd) {
            const train = factors!.sites.get(site.variable)!;
            const f = compactFactors(site, lengths, C, false); // every row: sorted batches have little padding
            try {
              products.push({ tensor: structuredSiteProduct(f.a, f.delta, f.counts, train, C), batch: factors!, target });
            } finally {
              tf.dispose([f.a, f.delta]);
            }
            continue;
          }
          for (const batch of chunk) {
            const held = batch.dense.get(site.variable)!;
            products.push({ tensor: tf.matMul(side({ raw, sign }, target.evalSide), side(held, target.trainSide)) as tf.Tensor2D, batch, target });
          }
        }
      } finally {
        tf.dispose([raw, sign].filter((x): x is tf.Tensor2D => !!x));
      }
    }
    if (split.vector.length) {
      const raw = vectorGradientRows(split.vector, Be, C); // [C·Be, Pv]
      const sign = targets.some((t) => t.evalSide === 'sign') ? tf.sign(raw) : undefined;
      for (const batch of chunk) {
        for (const target of targets) {
          const tensor = tf.matMul(side({ raw, sign }, target.evalSide), side(batch.vector!, target.trainSide)) as tf.Tensor2D;
          products.push({ tensor, batch, target });
        }
      }
      tf.dispose([raw, sign].filter((x): x is tf.Tensor2D => !!x));
    }
    // Tables: the evaluated examples' touched rows that lie in the chunk's U, laid out as the held train matrix.
    const perExample = await sparseGradients(split.rows, lengths, C);
    for (const t of tables.tables) {
      const raw = tf.tensor2d(tableRows(perExample, t.table, t.rowOf, t.width, C), [C * Be, t.rowOf.size * t.width]);
      const sign = targets.some((x) => x.evalSide === 'sign') ? tf.sign(raw) : undefined;
      for (const target of targets) {
        products.push({ tensor: mmBT(side({ raw, sign }, target.evalSide), side(t, target.trainSide)), batch: tables, target });
      }
      tf.dispose([raw, sign].filter((x): x is tf.Tensor2D => !!x));
    }
    await addProducts(products.map((p) => ({ ...p, rows: evalIdx })), C, result, setName, M);
  } finally {
    tf.dispose(products.map((p) => p.tensor));
  }
}
