/**
 * The masked LM (BERT / RoBERTa) as a recording model for the structured eNTK (kernel/structured-ntk.ts): one batched
 * forward pass in evaluation mode that keeps, per parameter site, the input activations (dense layers), the
 * normalised x̂ (LayerNorms) and the token ids (embeddings), then ONE backward pass that yields the output cotangent
 * δ of every site for all C classes at once.
 *
 * How the C backward passes share one tape: the batch is replicated C times along the rows ([C·B, T]); replica c
 * receives the cotangent e_c at its output (y = Σ_{c,b} f_c(x_b) of replica c), so the cotangents of replica c are
 * those of Σ_b f_c(x_b). The cotangents are read at "taps", tensors made before the pass that enter each site's output
 * additively: the embedding sum, and each layer's bias (β) as one row per token (∂y/∂tap = δ). So the
 * backward pass never forms a weight gradient: each dense layer only propagates dX = δ·W (a plain matMul).
 * Cost: the forward over C·B rows plus one backward over C·B rows without weight products.
 *
 * The composition mirrors bert.ts / attention.ts / feed-forward.ts / embeddings.ts / mlm-head.ts (same leaf helpers);
 * test/unit/engine/kernel/structured-ntk.test.ts checks the kernel it yields against per-example autodiff of the
 * real model. B batch, T tokens, R = B·T rows, H hidden, I intermediate, nh heads, hs head size, C classes.
 */
import * as tf from '@tensorflow/tfjs';
import type { DenseSite, Recording, RowsSite, Site, StructuredModel, VectorSite } from '../kernel/structured-types';
import { attentionBias } from './attention';
import type { EncoderConfig } from './config';
import { positionIds } from './embeddings';
import { activation, param } from './layer-ops';
import { decoderWeight } from './mlm-head';
import { embeddingNames, headNames, layerNames, type DenseNames, type NormNames } from './param-names';
import type { Params } from './weights';

/** One encoded example (structurally the classifier's EncodedExample). maskPos −1: read out the first token. */
export interface RecordInput {
  inputIds: number[];
  tokenTypeIds: number[];
  maskPos: number;
}

/** The output head: MLM logits of the label words (prompt mode) or a linear head W h + b (standard mode). */
export type RecordHead =
  | { kind: 'mlm'; labelIds: number[] }
  | { kind: 'linear'; weight: tf.Variable /* [C, H] */; bias: tf.Variable /* [C] */ };

/** C copies of x stacked along the first axis (tf.tile is slow on wasm; concat copies). */
function replicate(x: tf.Tensor, C: number): tf.Tensor {
  return C === 1 ? x.clone() : tf.concat(Array.from({ length: C }, () => x), 0);
}

/** Placeholder for a cotangent filled in after the backward pass. */
const PENDING = null as unknown as tf.Tensor3D;

/** dense with a gradient for its input only: x [N, in] → x·Wᵀ [N, out] (W, Wt = Wᵀ fixed during the pass). */
function inputOnlyDense(W: tf.Tensor2D, Wt: tf.Tensor2D): (x: tf.Tensor2D) => tf.Tensor2D {
  const f = tf.customGrad(((x: tf.Tensor) => ({
    value: tf.matMul(x as tf.Tensor2D, Wt), // [N, in]·[in, out]
    gradFunc: (dy: tf.Tensor) => tf.matMul(dy as tf.Tensor2D, W), // dX = dY·W   [N, out]·[out, in]
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (x) => f(x) as tf.Tensor2D;
}

export function recordingModel(params: Params, config: EncoderConfig, padId: number, head: RecordHead): StructuredModel<RecordInput> {
  const C = head.kind === 'mlm' ? head.labelIds.length : head.weight.shape[0];
  if (head.kind === 'mlm') {
    const bad = head.labelIds.find((id) => !Number.isInteger(id) || id < 0 || id >= config.vocabSize);
    if (bad !== undefined) throw new Error(`model/recording.ts: label word id ${bad} is outside [0, ${config.vocabSize}); check the label words`);
  }
  return {
    numClasses: C,
    length: (x) => x.inputIds.length,
    record: (inputs) => record(params, config, padId, head, C, inputs),
  };
}

function record(params: Params, config: EncoderConfig, padId: number, head: RecordHead, C: number, inputs: RecordInput[]): Recording {
  const B = inputs.length;
  if (B === 0) throw new Error('model/recording.ts: record() needs at least one input');
  const T = Math.max(...inputs.map((x) => x.inputIds.length));
  const R = B * T;
  const H = config.hiddenSize;
  const nh = config.numHeads;
  const hs = H / nh;
  const eps = config.layerNormEps;
  if (T - 1 + config.positionOffset >= config.maxPositions) {
    throw new Error(`model/recording.ts: ${T} tokens exceed max_position_embeddings ${config.maxPositions}; truncate the inputs`);
  }

  // Host-side ids: [B·T], padded with padId (as classifier/batch.ts makeBatch).
  const ids = new Int32Array(R).fill(padId);
  const types = new Int32Array(R);
  const mask = new Int32Array(R);
  const read = new Int32Array(C * B); // row of each (replica c, example b) read-out in the [C·R] hidden states
  inputs.forEach((x, b) => {
    ids.set(x.inputIds, b * T);
    types.set(x.tokenTypeIds, b * T);
    mask.fill(1, b * T, b * T + x.inputIds.length);
    for (let c = 0; c < C; c++) read[c * B + b] = c * R + b * T + Math.max(0, x.maskPos);
  });

  const sites: Site[] = [];
  const kept: tf.Tensor[] = [];
  const keep = <T extends tf.Tensor>(t: T): T => { kept.push(tf.keep(t)); return t; };
  const taps: tf.Tensor2D[] = [];
  const scratch: tf.Tensor[] = []; // released when the pass ends, also on error
  const tapSites: { sites: Site[]; rows: number }[] = []; // tapSites[i]: the sites whose cotangent is taps[i]
  let outputs: Float32Array | undefined;
  try {
    const idsT = tf.tensor2d(ids, [B, T], 'int32');
    const posT = positionIds(config, idsT); // [B, T]
    const posIdsHost = Int32Array.from(posT.dataSync());
    const emb = embeddingNames(config);
    // Word + position + type embeddings [R, H], replicated per class → [C·R, H]. Constant for the taps.
    const e0 = tf.tidy(() => {
      const flat = (t: tf.Tensor2D) => tf.cast(tf.reshape(t, [R]), 'int32') as tf.Tensor1D; // [R]
      const sum = tf.add(tf.add(
        tf.gather(param(params, emb.word), flat(idsT)),
        tf.gather(param(params, emb.position), flat(posT))),
      tf.gather(param(params, emb.tokenType), tf.tensor1d(types, 'int32'))) as tf.Tensor2D; // [R, H]
      return replicate(sum, C) as tf.Tensor2D; // [C·R, H]
    });
    tf.dispose([idsT, posT]);
    const bias = tf.tidy(() => replicate(attentionBias(tf.tensor2d(mask, [B, T], 'int32')), C) as tf.Tensor4D); // [C·B, 1, 1, T]
    const readIdx = tf.tensor1d(read, 'int32');
    scratch.push(bias, readIdx);
    // Transposed weights of the pass: the forward is x·Wᵀ with a plain matMul.
    const weightsT = new Map<string, tf.Tensor2D>();
    const denseOf = (names: DenseNames) => {
      const W = param(params, names.weight) as tf.Tensor as tf.Tensor2D;
      if (!weightsT.has(names.weight)) {
        const Wt = tf.transpose(W);
        weightsT.set(names.weight, Wt);
        scratch.push(Wt);
      }
      return inputOnlyDense(W, weightsT.get(names.weight)!);
    };
    // The taps: tensors created before the pass whose cotangent is a site's output cotangent δ. The embedding sum e0
    // is the first; every dense layer and LayerNorm adds its bias (β) as rows [C·n, out], so ∂y/∂(bias rows) = δ.
    const biasOrder: { bias: string; rows: number }[] = [{ bias: emb.norm.bias, rows: R }];
    for (let i = 0; i < config.numLayers; i++) {
      const l = layerNames(config, i);
      for (const d of [l.query, l.key, l.value, l.attentionOutput, l.attentionNorm, l.intermediate, l.output, l.outputNorm]) biasOrder.push({ bias: d.bias, rows: R });
    }
    if (head.kind === 'mlm') for (const d of [headNames(config).transform, headNames(config).norm]) biasOrder.push({ bias: d.bias, rows: B });
    taps.push(e0);
    for (const { bias: name, rows } of biasOrder) {
      const b = param(params, name);
      taps.push(tf.tidy(() => tf.matMul(tf.ones([C * rows, 1]), tf.reshape(b, [1, b.shape[0]])))); // [C·rows, out], rows of b
    }
    let nextTap = 1;
    const tapFor = (rows: number, tapped: Site[]): tf.Tensor2D => {
      tapSites.push({ sites: tapped, rows });
      return taps[nextTap++];
    };

    const rowsSites: RowsSite[] = []; // embedding tables: values are the embedding tap's cotangent
    for (const [name, rowIds] of [[emb.word, ids], [emb.position, posIdsHost], [emb.tokenType, types]] as const) {
      rowsSites.push({ kind: 'rows', variable: param(params, name), rowsPerExample: T, ids: rowIds, values: PENDING });
    }
    tapSites.push({ sites: rowsSites, rows: R });

    let outputsT: tf.Tensor | undefined; // replica 0's logits [B, C]: f_c(x_b), read after the pass
    const f = (): tf.Scalar => {
      // x [C·N, in] (N = R or B): records a (replica 0 rows) and taps the output.
      // Replica 0's rows of x [C·n, w] → [n, w], a contiguous prefix; one copy per x.
      const firstRows = new Map<tf.Tensor, tf.Tensor2D>();
      const replica0 = (x: tf.Tensor2D, n: number): tf.Tensor2D => {
        let r = firstRows.get(x);
        if (!r) { r = keep(tf.slice(x, [0, 0], [n, -1])); firstRows.set(x, r); }
        return r;
      };
      const dense = (names: DenseNames, x: tf.Tensor2D, n: number, rpe: number): tf.Tensor2D => {
        const W = param(params, names.weight);
        // Query, key and value share one recorded input tensor (the structured kernel merges such sites).
        const w: DenseSite = { kind: 'dense', variable: W, rowsPerExample: rpe, a: replica0(x, n), delta: PENDING };
        const b: VectorSite = { kind: 'vector', variable: param(params, names.bias), rowsPerExample: rpe, delta: PENDING };
        sites.push(w, b);
        return tf.add(denseOf(names)(x), tapFor(n, [w, b])); // x·Wᵀ + bias rows
      };
      const layerNorm = (names: NormNames, x: tf.Tensor2D, n: number, rpe: number): tf.Tensor2D => {
        const { mean, variance } = tf.moments(x, -1, true); // [C·n, 1]
        const xhat = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))) as tf.Tensor2D; // [C·n, H]
        const scale = replica0(xhat, n);
        const g: VectorSite = { kind: 'vector', variable: param(params, names.weight), rowsPerExample: rpe, delta: PENDING, scale };
        const bt: VectorSite = { kind: 'vector', variable: param(params, names.bias), rowsPerExample: rpe, delta: PENDING };
        sites.push(g, bt);
        return tf.add(tf.mul(xhat, param(params, names.weight)), tapFor(n, [g, bt])); // x̂·γ + β rows
      };
      const splitHeads = (x: tf.Tensor2D) => tf.transpose(tf.reshape(x, [C * B, T, nh, hs]), [0, 2, 1, 3]); // [C·B, nh, T, hs]

      let x = layerNorm(emb.norm, e0, R, T); // [C·R, H]
      for (let i = 0; i < config.numLayers; i++) {
        const l = layerNames(config, i);
        const q = splitHeads(dense(l.query, x, R, T));
        const k = splitHeads(dense(l.key, x, R, T));
        const v = splitHeads(dense(l.value, x, R, T));
        const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hs)), bias); // [C·B, nh, T, T]
        const context = tf.matMul(tf.softmax(scores, -1), v); // [C·B, nh, T, hs]
        const merged = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [C * R, H]) as tf.Tensor2D;
        const attended = layerNorm(l.attentionNorm, tf.add(dense(l.attentionOutput, merged, R, T), x), R, T);
        const inner = activation(config.hiddenAct, dense(l.intermediate, attended, R, T)); // [C·R, I]
        x = layerNorm(l.outputNorm, tf.add(dense(l.output, inner, R, T), attended), R, T);
      }
      const h = tf.gather(x, readIdx) as tf.Tensor2D; // [C·B, H]
      let logits: tf.Tensor2D; // [C·B, C]
      if (head.kind === 'linear') {
        // Linear head: ∂f_c/∂W_head = e_c ⊗ h (a dense site with δ = e_c), ∂f_c/∂b = e_c.
        const a = replica0(h, B); // [B, H]
        const delta = keep(tf.tidy(() => tf.tile(tf.reshape(tf.eye(C), [C, 1, C]), [1, B, 1])) as tf.Tensor3D); // [C, B, C]
        sites.push({ kind: 'dense', variable: head.weight, rowsPerExample: 1, a, delta });
        sites.push({ kind: 'vector', variable: head.bias, rowsPerExample: 1, delta });
        logits = tf.add(tf.matMul(h, tf.transpose(head.weight)), head.bias);
      } else {
        const hn = headNames(config);
        const t = layerNorm(hn.norm, activation(config.hiddenAct, dense(hn.transform, h, B, 1)), B, 1); // [C·B, H]
        const labelIds = tf.tensor1d(head.labelIds, 'int32');
        const rowIds = new Int32Array(C * B);
        for (let c = 0; c < C; c++) rowIds.fill(head.labelIds[c], c * B, (c + 1) * B);
        // Decoder rows: ∂f_c/∂E[label_c] = t (gathered, vocabulary-sparse), and ∂f_c/∂bias[label_c] = 1.
        const t0 = replica0(t, B); // [B, H]
        sites.push({ kind: 'rows', variable: decoderWeight(params, config), rowsPerExample: 1, ids: rowIds, values: keep(tf.reshape(replicate(t0, C), [C, B, H]) as tf.Tensor3D) });
        sites.push({ kind: 'rows', variable: param(params, hn.bias), rowsPerExample: 1, ids: rowIds, values: keep(tf.ones([C, B, 1]) as tf.Tensor3D) });
        const Wc = tf.gather(decoderWeight(params, config), labelIds); // [C, H]
        logits = tf.add(tf.matMul(t, tf.transpose(Wc)), tf.gather(param(params, hn.bias), labelIds)) as tf.Tensor2D;
      }
      outputsT = tf.keep(tf.slice(logits, [0, 0], [B, C]));
      // Replica c selects class c: y = Σ_{c,b} logits[c·B + b, c].
      const select = tf.tile(tf.reshape(tf.eye(C), [C, 1, C]), [1, B, 1]).reshape([C * B, C]);
      return tf.sum(tf.mul(logits, select)) as tf.Scalar;
    };

    const { value, grads } = tf.engine().gradients(f, taps, undefined, true);
    value.dispose();
    outputs = Float32Array.from(outputsT!.dataSync());
    outputsT!.dispose();
    if (nextTap !== taps.length) throw new Error(`model/recording.ts: the pass used ${nextTap} of ${taps.length} taps; the tap order no longer matches the layers`);
    sites.unshift(...rowsSites);
    // grads[i] is the cotangent at taps[i]: [C·rows, width] → [C, rows, width].
    grads.forEach((g, i) => {
      const { sites: tapped, rows } = tapSites[i];
      const d = tf.reshape(g, [C, rows, g.shape[1] as number]) as tf.Tensor3D; // [C, rows, width]
      g.dispose();
      kept.push(d);
      for (const s of tapped) {
        if (s.kind === 'rows') s.values = d;
        else s.delta = d;
      }
    });
  } catch (e) {
    tf.dispose(kept);
    throw e;
  } finally {
    tf.dispose([...taps, ...scratch]);
  }
  return { sites, outputs, dispose: () => tf.dispose(kept) };
}
