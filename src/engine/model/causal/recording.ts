/**
 * Every causal family (GPT-2, GPT-NeoX, the Llama layout) as a recording model for the structured eNTK
 * (kernel/structured-ntk.ts), from the family's OWN forward pass: no per-family backward is written out. Any other
 * forward built from the layer pieces records the same way (tappedRecordingModel: ModernBERT, modernbert/recording.ts,
 * read at its [MASK] row; its pads are keys no real token reads, so their cotangents are 0 as well).
 *
 * How: the parameterised layer pieces (layers/linear.ts, layer-norm.ts, rms-norm.ts, lm-head.ts, and the embedding
 * sum of each family's forward) report to a recorder (layers/recorder.ts) passed in the forward options. In recording
 * mode each piece's output goes through a "tap", an identity (tf.customGrad) whose gradient function keeps the
 * cotangent δ that reaches it; the tap also keeps what its site needs from the forward (a dense layer's input a, a
 * norm's x̂). Autodiff does the rest: attention, rotary, softmax and activations have no parameters and no sites.
 *
 * C classes from one forward and ONE backward: tfjs's tape serves one backward per forward, so the batch is
 * replicated C times along the batch axis, copy c (rows c·B..c·B+B−1) reading out class c only:
 *   L = Σ_c Σ_b f_c(x_b^(copy c)).
 * Examples (and copies) do not interact, so the cotangent on the rows of copy c is exactly that of Σ_b f_c(x_b): the
 * δ of a token-level site, [C·B·T, out] as the backward gives it, is already class-major, [C, R, out], the kernel's
 * layout (structured-types.ts). The copies are identical, so a and x̂ are read from copy 0. The backward is taken with
 * respect to a scalar zero added to the embedding sum (the recorder's `origin`), not to the weights: tfjs then never
 * forms a weight gradient (only dx = δ·W flows). The dense products, most of the work, are not replicated: the
 * recorder's dense hook runs each on copy 0's rows and repeats the output C times, with a gradient function that
 * gives every copy's input cotangent (dx = dy·W over the C·B rows). Cost: the dense products of a forward over B
 * examples and of a backward over C·B (against C·B for both before: −21 % of a gpt2 recording of 8 SST-2 prompts),
 * the rest (attention, norms, activations) over C·B; the plain kernel pays C backward passes and a forward per example.
 *
 * Sites (per-site gradients sum to the per-example gradient, structured-types.ts):
 *   dense y = x·W (+b)  DenseSite(W; a = x, δ) (+ VectorSite(b; δ): the same δ, so the kernel folds it into W's);
 *                       GPT-2's Conv1D stores W [in, out]: its site gradient δᵀa is Wᵀ's layout, which changes no
 *                       inner product and no sign (recorder.ts), so no layout flag is needed (proved by the tests);
 *                       the fused q|k|v projections (GPT-2 c_attn, NeoX query_key_value) are one site, bias included;
 *   norm  y = x̂γ (+β)   VectorSite(γ; δ, scale x̂) (LayerNorm x̂ = (x − μ)/σ, RMSNorm x̂ = x/rms) + VectorSite(β; δ);
 *   embeddings          RowsSite per table: the token rows (ids), GPT-2's position rows (0..T−1), values δ;
 *   LM head             RowsSite on the head weight (the token embeddings when tied), class-major ids: class c's row
 *                       is its label id, value δ_c·h (the objective reads column c of copy c only, so the other
 *                       columns' δ are 0); a head bias (ModernBERT's decoder.bias) a width-1 RowsSite, value δ_c;
 *   linear head         (standard mode) DenseSite(HEAD_WEIGHT; a = h, δ = e_c) + VectorSite(HEAD_BIAS).
 * Padding: batches are right-padded. A pad row is read by no real token (the causal mask puts pads after every real
 * token, and the masked probabilities are exactly 0), so its cotangent is exactly 0 at every site
 * (test/unit/engine/kernel/causal-structured.test.ts checks it); the kernel skips the pad rows of rows sites anyway.
 * B batch, T tokens (the batch's longest), R = B·T, N = C·B replicated rows, H hidden, C classes.
 */
import * as tf from '@tensorflow/tfjs';
import { mm, mmBT } from '../../backend/matmul';
import type { Recording, Site, StructuredModel } from '../../kernel/structured-types';
import type { DenseMap, LayerRecorder } from '../layers/recorder';
import type { Params } from '../weights';
import { causalFamilyOf } from './registry';
import type { CausalConfig } from './types';

/** One encoded example (structurally the classifier's EncodedExample): f is read at maskPos (the last real token). */
export interface CausalRecordInput {
  inputIds: number[];
  maskPos: number;
}

/** The output head: next-token logits of the label words (prompt mode) or a linear head W h + b (standard mode). */
export type CausalRecordHead =
  | { kind: 'lm'; labelIds: number[] }
  | { kind: 'linear'; weight: tf.Variable /* [C, H] */; bias: tf.Variable /* [C] */ };

/**
 * What the recording needs of a model built from the layer pieces: its hidden states and its label-word logits, each
 * computed with the recorder passed through (every causal family; ModernBERT, modernbert/forward.ts, whose readout is
 * its [MASK] row: maskPos).
 */
export interface TappedForward {
  hiddenSize: number;
  /** Last hidden states [N, T, H] of the (replicated) batch, every parameterised piece reporting to `rec`. */
  hidden(batch: { inputIds: tf.Tensor2D; attentionMask: tf.Tensor2D }, rec: LayerRecorder): tf.Tensor3D;
  /** h [N, H] → [N, C] for the label ids, the head's pieces reporting to `rec`. */
  lmLogits(h: tf.Tensor2D, vocabIds: number[], rec: LayerRecorder): tf.Tensor2D;
}

export function causalRecordingModel(params: Params, config: CausalConfig, padId: number, head: CausalRecordHead): StructuredModel<CausalRecordInput> {
  const family = causalFamilyOf(config);
  return tappedRecordingModel({
    hiddenSize: config.hiddenSize,
    hidden: (batch, rec) => family.hidden(params, config, batch, { training: false, recorder: rec }),
    lmLogits: (h, vocabIds, rec) => family.lmLogits(params, config, h, vocabIds, rec),
  }, padId, head);
}

/** The recording of any forward that passes a recorder through its layer pieces (see the file's comment). */
export function tappedRecordingModel(forward: TappedForward, padId: number, head: CausalRecordHead): StructuredModel<CausalRecordInput> {
  const C = head.kind === 'lm' ? head.labelIds.length : head.weight.shape[0];
  return {
    numClasses: C,
    length: (x) => x.inputIds.length,
    record: (inputs) => record(forward, padId, head, C, inputs),
  };
}

/** One tap: the sites it yields once its cotangent δ [C, rows, width] is known. */
interface Tap { rows: number; width: number; delta?: tf.Tensor3D; sites: (delta: tf.Tensor3D) => Site[] }

const variableOf = (v: tf.Tensor, what: string): tf.Variable => {
  if (!(v instanceof tf.Variable)) {
    throw new Error(`model/causal/recording.ts: the ${what} is not a tf.Variable; the structured recording reads the model's own variables (LoRA views use the plain kernel)`);
  }
  return v;
};

/** The recorder of one recording (layers/recorder.ts): taps, and the sites they yield after the backward. */
class TapRecorder implements LayerRecorder {
  /** The scalar zero added to the embedding sum: the backward is taken with respect to it. */
  origin?: tf.Tensor;
  readonly sites: Site[] = [];
  private readonly taps: Tap[] = [];
  /** What the recording keeps (a, x̂, δ, rows values): released by Recording.dispose. */
  private readonly kept: tf.Tensor[] = [];
  /** Forward tensors a gradient function still reads (the LM head's h): released after the backward. */
  private readonly temps: tf.Tensor[] = [];
  /** Copy 0 of each dense input, so that the sites reading one input (q, k, v; gate, up) share their `a` (merged by the kernel). */
  private readonly firstCopies = new Map<tf.Tensor, tf.Tensor2D>();

  constructor(private readonly C: number, private readonly B: number, private readonly tokenIds: Int32Array, private readonly positionIds: Int32Array) {}

  private keep<X extends tf.Tensor>(t: X): X {
    this.kept.push(tf.keep(t));
    return t;
  }

  /** Rows of one copy that belong to one example: T at token level, 1 at the read-out. */
  private rowsPerExample(y: tf.Tensor2D): number {
    return y.shape[0] / (this.C * this.B);
  }

  private firstCopy(x: tf.Tensor2D): tf.Tensor2D {
    let a = this.firstCopies.get(x);
    if (!a) {
      a = this.keep(tf.slice(x, [0, 0], [x.shape[0] / this.C, x.shape[1]]) as tf.Tensor2D); // [rows of copy 0, width]
      this.firstCopies.set(x, a);
    }
    return a;
  }

  /** y unchanged, with a gradient function that keeps its cotangent as [C, rows, width] (class-major copies). */
  private tap(y: tf.Tensor2D, sites: (delta: tf.Tensor3D) => Site[]): tf.Tensor2D {
    const [n, width] = y.shape;
    const tap: Tap = { rows: n / this.C, width, sites };
    this.taps.push(tap);
    const identity = tf.customGrad(((x: tf.Tensor) => ({
      value: tf.clone(x),
      gradFunc: (dy: tf.Tensor) => {
        tap.delta = this.keep(tf.reshape(dy, [this.C, tap.rows, width]) as tf.Tensor3D);
        return tf.clone(dy);
      },
    })) as unknown as Parameters<typeof tf.customGrad>[0]);
    return identity(y) as tf.Tensor2D;
  }

  /**
   * The copies are identical in the forward, so the product runs on copy 0's rows only and its output is repeated C
   * times (half the forward's matrix products for C = 2); the gradient function gives the input cotangent of every
   * copy, dx = inputGrad(dy) over all C·B rows, and keeps dy as the site's δ. y [C·rows, out].
   */
  dense(x: tf.Tensor2D, map: DenseMap): tf.Tensor2D {
    const a = this.firstCopy(x); // [rows, in]
    const C = this.C;
    const rows = a.shape[0];
    const rowsPerExample = rows / this.B;
    const w = variableOf(map.weight, 'dense weight');
    const b = map.bias && variableOf(map.bias, 'dense bias');
    const tap: Tap = { rows, width: 0, sites: (d) => [
      { kind: 'dense', variable: w, rowsPerExample, a, delta: d },
      ...(b ? [{ kind: 'vector' as const, variable: b, rowsPerExample, delta: d }] : []),
    ] };
    this.taps.push(tap);
    const once = tf.customGrad(((_x: tf.Tensor) => { // x's copies are identical: copy 0 (a) is computed on
      const y0 = map.apply(a); // [rows, out]: copy 0
      tap.width = y0.shape[1];
      return {
        value: C === 1 ? y0 : tf.concat(Array.from({ length: C }, () => y0), 0), // [C·rows, out]
        gradFunc: (dy: tf.Tensor) => {
          tap.delta = this.keep(tf.reshape(dy, [C, rows, tap.width]) as tf.Tensor3D);
          return map.inputGrad(dy as tf.Tensor2D); // [C·rows, in]
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0]);
    return once(x) as tf.Tensor2D;
  }

  norm(y: tf.Tensor2D, normed: tf.Tensor2D, weight: tf.Variable, bias?: tf.Variable): tf.Tensor2D {
    const scale = this.firstCopy(normed);
    const rowsPerExample = this.rowsPerExample(y);
    const g = variableOf(weight, 'norm weight');
    const b = bias && variableOf(bias, 'norm bias');
    return this.tap(y, (delta) => [
      { kind: 'vector', variable: g, rowsPerExample, delta, scale },
      ...(b ? [{ kind: 'vector' as const, variable: b, rowsPerExample, delta }] : []),
    ]);
  }

  embeddings(x: tf.Tensor2D, tables: { table: tf.Variable; rows: 'tokens' | 'positions' }[]): tf.Tensor2D {
    if (!this.origin) throw new Error('model/causal/recording.ts: embeddings recorded outside a recording');
    const rowsPerExample = this.rowsPerExample(x);
    const sites = tables.map(({ table, rows }) => ({ variable: variableOf(table, 'embedding table'), ids: rows === 'tokens' ? this.tokenIds : this.positionIds }));
    // The origin goes in before the tap, so that the tap lies on the path the backward follows.
    return this.tap(tf.add(x, this.origin) as tf.Tensor2D, (delta) => sites.map(({ variable, ids }) => ({ kind: 'rows' as const, variable, rowsPerExample, ids, values: delta })));
  }

  lmHead(logits: tf.Tensor2D, h: tf.Tensor2D, weight: tf.Variable, vocabIds: number[], bias?: tf.Variable): tf.Tensor2D {
    const { C, B } = this;
    if (vocabIds.length !== C || logits.shape[0] !== C * B) {
      throw new Error(`model/causal/recording.ts: the LM head was recorded with ${vocabIds.length} ids on ${logits.shape[0]} rows; expected ${C} label ids on ${C}·${B} rows`);
    }
    const table = variableOf(weight, 'LM head weight');
    const hByClass = tf.keep(tf.reshape(h, [C, B, h.shape[1]]) as tf.Tensor3D); // [C, B, H]: copy c's read-out states
    this.temps.push(hByClass);
    const ids = new Int32Array(C * B); // class-major: class c's rows hold label c's id
    for (let c = 0; c < C; c++) ids.fill(vocabIds[c], c * B, (c + 1) * B);
    return this.tap(logits, (delta) => {
      // ∂f_c/∂W[label_c] = δ[c, b, c]·h_b; the other columns of copy c have δ = 0 (the objective reads column c only).
      const own = this.keep(tf.tidy(() => tf.sum(tf.mul(delta, tf.reshape(tf.eye(C), [C, 1, C])), -1, true)) as tf.Tensor3D); // [C, B, 1]: δ[c, b, c]
      const values = this.keep(tf.mul(own, hByClass) as tf.Tensor3D); // [C, B, H]
      return [
        { kind: 'rows', variable: table, rowsPerExample: 1, ids, values },
        ...(bias ? [{ kind: 'rows' as const, variable: variableOf(bias, 'LM head bias'), rowsPerExample: 1, ids, values: own }] : []), // ∂f_c/∂b[label_c] = δ[c, b, c]
      ];
    });
  }

  /** After the backward: every tap's sites, in forward order; a tap no cotangent reached has δ = 0. */
  finish(): void {
    for (const tap of this.taps) {
      const delta = tap.delta ?? this.keep(tf.zeros([this.C, tap.rows, tap.width]) as tf.Tensor3D);
      this.sites.push(...tap.sites(delta));
    }
  }

  releaseTemps(): void {
    tf.dispose(this.temps.splice(0));
  }

  dispose(): void {
    this.releaseTemps();
    tf.dispose(this.kept.splice(0));
  }
}

async function record(forward: TappedForward, padId: number, head: CausalRecordHead, C: number, inputs: CausalRecordInput[]): Promise<Recording> {
  const B = inputs.length;
  if (B === 0) throw new Error('model/causal/recording.ts: record() needs at least one input');
  if (inputs.some((x) => x.inputIds.length === 0)) throw new Error('model/causal/recording.ts: an input has no tokens');
  const T = Math.max(...inputs.map((x) => x.inputIds.length));
  const R = B * T;
  const N = C * B;
  const H = forward.hiddenSize;

  // Host-side: C class-major copies of the right-padded batch (as classifier/batch.ts makeBatch), the read-out rows,
  // and the selector of the objective (copy c reads class c).
  const ids = new Int32Array(N * T).fill(padId);
  const mask = new Int32Array(N * T);
  const readRows = new Int32Array(N);
  const selector = new Float32Array(N * C);
  for (let c = 0; c < C; c++) {
    inputs.forEach((x, b) => {
      const row = c * B + b;
      ids.set(x.inputIds, row * T);
      mask.fill(1, row * T, row * T + x.inputIds.length);
      readRows[row] = row * T + Math.max(0, x.maskPos);
      selector[row * C + c] = 1;
    });
  }
  const positionIds = new Int32Array(R);
  for (let r = 0; r < R; r++) positionIds[r] = r % T;

  const rec = new TapRecorder(C, B, ids.slice(0, R), positionIds);
  let outputs: tf.Tensor | undefined;
  try {
    tf.tidy(() => {
      const batch = { inputIds: tf.tensor2d(ids, [N, T], 'int32'), attentionMask: tf.tensor2d(mask, [N, T], 'int32') };
      const readIndex = tf.tensor1d(readRows, 'int32');
      const select = tf.tensor2d(selector, [N, C]);
      tf.valueAndGrads((origin: tf.Tensor) => {
        rec.origin = origin;
        const hidden = forward.hidden(batch, rec); // [N, T, H]
        const h = tf.gather(tf.reshape(hidden, [N * T, H]), readIndex) as tf.Tensor2D; // [N, H]
        const logits = head.kind === 'lm'
          ? forward.lmLogits(h, head.labelIds, rec) // [N, C]
          : rec.dense(h, { // as standardClassifier: W h + b
            weight: head.weight, bias: head.bias,
            apply: (z) => tf.add(mmBT(z, head.weight), head.bias) as tf.Tensor2D,
            inputGrad: (dy) => mm(dy, head.weight),
          });
        outputs = tf.keep(tf.slice(logits, [0, 0], [B, C])); // copy 0: f_c(x_b) for every c
        return tf.sum(tf.mul(logits, select)) as tf.Scalar; // Σ_c Σ_b f_c(x_b^(copy c))
      })([tf.scalar(0)]);
      rec.finish();
    });
  } catch (err) {
    rec.dispose();
    outputs?.dispose();
    throw err;
  } finally {
    rec.releaseTemps();
  }
  const values = Float32Array.from(await outputs!.data()); // [B·C]; asynchronous (webgpu cannot read synchronously)
  outputs!.dispose();
  return { sites: rec.sites, outputs: values, dispose: () => rec.dispose() };
}
