/**
 * The masked LM (BERT, RoBERTa, XLM-RoBERTa, DistilBERT, ELECTRA generator, ALBERT) as a recording model for the structured
 * eNTK (kernel/structured-ntk.ts): one batched forward pass in evaluation mode that keeps, per parameter site, the input activations (dense layers), the
 * normalised x̂ (LayerNorms) and the token ids (embeddings), then one hand-written backward pass that carries the
 * cotangents of all C classes at once and yields the output cotangent δ of every site.
 *
 * Why by hand: the kernel needs C backward passes from ONE forward, which tfjs's tape cannot give (a tape serves one
 * backward). Written out, the backward of every block is linear in its output cotangent, so the C cotangents travel
 * together as rows [C·n, w] (class-major) against activations [n, w] saved once: the forward runs over B examples,
 * not C·B, and no weight gradient is ever formed (a dense layer only propagates dX = δ·W). Formulas, per block
 * (y the output, dy its cotangent, all per class c):
 *   dense     y = x Wᵀ + b                 dx = dy W                        (sites: W with a = x, b; δ = dy)
 *   LayerNorm y = x̂ γ + β, x̂ = (x − μ) r   dx = r (g − mean(g) − x̂ mean(g x̂)), g = dy γ   (sites: γ scale x̂, β)
 *   GELU      y = x Φ(x)                  dx = dy (Φ(x) + x φ(x))     (tanh form and ReLU: their derivatives)
 *   attention P = softmax(q kᵀ/√hs + mask), ctx = P v:
 *             dP = dctx vᵀ, dv = Pᵀ dctx, dS = P (dP − Σ_j dP P), dq = dS k/√hs, dk = dSᵀ q/√hs
 *   read-out  h = x[mask row]            dx = dh scattered to the mask rows
 *   MLM head  z_c = t·E[label_c] + bias  dt = E[label_c]  (sites: decoder rows t, bias rows 1)
 * test/unit/engine/kernel/structured-ntk.test.ts checks the kernel this yields against per-example autodiff of the
 * real model (bert.ts), for BERT and RoBERTa, tied and untied decoders, both heads and every activation;
 * test/unit/engine/kernel/structured-ntk-families.test.ts for XLM-RoBERTa, DistilBERT (no token-type rows) and the
 * ELECTRA generator (E-wide embeddings, the embeddings_project dense site, an H → E head) and ALBERT (the same, plus
 * one layer's variables at every depth: each depth records its own sites of the shared variables, and the kernel
 * merges the sites of a variable into one, kernel/shared-sites.ts).
 * B batch, T tokens, R = B·T rows, H hidden, E embedding width (= H but for ELECTRA and ALBERT), I intermediate, nh heads,
 * hs head size, C classes.
 */
import * as tf from '@tensorflow/tfjs';
import type { DenseSite, Recording, RowsSite, Site, StructuredModel, VectorSite } from '../kernel/structured-types';
import { mmBT } from '../backend/matmul';
import { attentionBias } from './attention';
import { positionIdsOnHost } from './embeddings';
import { headActivation, type EncoderConfig, type HiddenAct } from './config';
import { geluWithGrad, param, tanhGeluWithGrad } from './layer-ops';
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

/** The activation y(u) and its derivative y'(u), from one evaluation of the shared pieces (erf, tanh). */
function activationWithGrad(kind: HiddenAct, u: tf.Tensor2D): { y: tf.Tensor2D; dy: tf.Tensor2D } {
  switch (kind) {
    case 'gelu': { // layer-ops.ts's exact GELU, y and y' in one pass on wasm (gelu.c)
      const { y, dy } = geluWithGrad(u);
      return { y: y as tf.Tensor2D, dy: dy as tf.Tensor2D };
    }
    case 'gelu_new':
    case 'gelu_pytorch_tanh': { // layer-ops.ts's formula, y and y' on the same tanh
      const { y, dy } = tanhGeluWithGrad(u);
      return { y: y as tf.Tensor2D, dy: dy as tf.Tensor2D };
    }
    case 'relu':
      return { y: tf.relu(u), dy: tf.cast(tf.greater(u, 0), 'float32') as tf.Tensor2D };
  }
}

/** What a LayerNorm's backward needs: x̂ [n, H] and r = 1/√(var + eps) [n, 1]. */
interface NormSaved { xhat: tf.Tensor2D; rstd: tf.Tensor2D; gamma: tf.Tensor }

/** a [n, w] against class-major rows [C·n, w]: the broadcast view [1, n, w] and the rows as [C, n, w]. */
const byClass = (x: tf.Tensor, C: number): tf.Tensor3D => tf.reshape(x, [C, -1, x.shape[x.rank - 1]]) as tf.Tensor3D;

async function record(params: Params, config: EncoderConfig, padId: number, head: RecordHead, C: number, inputs: RecordInput[]): Promise<Recording> {
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
  const readRows = new Int32Array(B); // row of each example's read-out in the [R] token rows
  const scatterRows = new Int32Array(C * B); // the same rows in the class-major [C·R] cotangent rows
  inputs.forEach((x, b) => {
    ids.set(x.inputIds, b * T);
    types.set(x.tokenTypeIds, b * T);
    mask.fill(1, b * T, b * T + x.inputIds.length);
    readRows[b] = b * T + Math.max(0, x.maskPos);
    for (let c = 0; c < C; c++) scatterRows[c * B + b] = c * R + readRows[b];
  });
  const posIdsHost = positionIdsOnHost(config, ids, B, T); // no device read

  const sites: Site[] = [];
  const kept: tf.Tensor[] = [];
  let logitsKept: tf.Tensor | undefined;
  try {
    tf.tidy(() => {
      const keep = <X extends tf.Tensor>(t: X): X => { kept.push(tf.keep(t)); return t; };
      const emb = embeddingNames(config);
      const bias = attentionBias(tf.tensor2d(mask, [B, T], 'int32')); // [B, 1, 1, T]
      const W = (names: DenseNames) => param(params, names.weight) as tf.Tensor as tf.Tensor2D;

      // ---- Forward over the B examples, saving what the backward and the sites need.
      const linear = (names: DenseNames, x: tf.Tensor2D): tf.Tensor2D => tf.add(mmBT(x, W(names)), param(params, names.bias)); // x·Wᵀ + b
      const norm = (names: NormNames, x: tf.Tensor2D): { y: tf.Tensor2D; saved: NormSaved } => {
        const { mean, variance } = tf.moments(x, -1, true); // [n, 1]
        const rstd = tf.rsqrt(tf.add(variance, eps)) as tf.Tensor2D;
        const xhat = keep(tf.mul(tf.sub(x, mean), rstd) as tf.Tensor2D); // kept: the γ site's scale
        const gamma = param(params, names.weight);
        return { y: tf.add(tf.mul(xhat, gamma), param(params, names.bias)), saved: { xhat, rstd, gamma } };
      };
      const splitHeads = (x: tf.Tensor2D, n: number) => tf.transpose(tf.reshape(x, [n, T, nh, hs]), [0, 2, 1, 3]) as tf.Tensor4D; // [n, nh, T, hs]
      const mergeHeads = (x: tf.Tensor4D, n: number) => tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [n * T, H]) as tf.Tensor2D; // [n·T, H]

      let e = tf.add(
        tf.gather(param(params, emb.word), tf.tensor1d(ids, 'int32')),
        tf.gather(param(params, emb.position), tf.tensor1d(posIdsHost, 'int32'))) as tf.Tensor2D; // [R, E]
      if (emb.tokenType) e = tf.add(e, tf.gather(param(params, emb.tokenType), tf.tensor1d(types, 'int32'))); // [R, E]
      const n0 = norm(emb.norm, e);
      // ELECTRA (E ≠ H), ALBERT: the projection dense layer maps the normalised embeddings to H.
      const projectIn = emb.project ? keep(n0.y) : undefined; // [R, E]
      let x = emb.project ? linear(emb.project, projectIn!) : n0.y; // [R, H]
      interface LayerSaved { l: ReturnType<typeof layerNames>; xIn: tf.Tensor2D; q: tf.Tensor4D; k: tf.Tensor4D; v: tf.Tensor4D; probs: tf.Tensor4D; merged: tf.Tensor2D; n1: NormSaved; x1: tf.Tensor2D; dact: tf.Tensor2D; g: tf.Tensor2D; n2: NormSaved }
      const layers: LayerSaved[] = [];
      for (let i = 0; i < config.numLayers; i++) {
        const l = layerNames(config, i); // ALBERT: the same variables at every depth
        const xIn = keep(x); // the input of query, key and value: one tensor, so the kernel merges the three sites
        const q = splitHeads(linear(l.query, xIn), B);
        const k = splitHeads(linear(l.key, xIn), B);
        const v = splitHeads(linear(l.value, xIn), B);
        const probs = tf.softmax(tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(hs)), bias), -1) as tf.Tensor4D; // [B, nh, T, T]
        const merged = keep(mergeHeads(tf.matMul(probs, v) as tf.Tensor4D, B)); // [R, H]
        const a1 = norm(l.attentionNorm, tf.add(linear(l.attentionOutput, merged), xIn) as tf.Tensor2D);
        const x1 = keep(a1.y);
        const act = activationWithGrad(config.hiddenAct, linear(l.intermediate, x1)); // [R, I]
        const g = keep(act.y);
        const a2 = norm(l.outputNorm, tf.add(linear(l.output, g), x1) as tf.Tensor2D);
        layers.push({ l, xIn, q, k, v, probs, merged, n1: a1.saved, x1, dact: act.dy, g, n2: a2.saved }); // the backward needs only y'(u)
        x = a2.y;
      }
      const h = keep(tf.gather(x, tf.tensor1d(readRows, 'int32')) as tf.Tensor2D); // [B, H]

      // ---- Helpers of the backward: rows are class-major [C·n, w].
      const push = (s: Site) => { sites.push(s); return s; };
      const denseSites = (names: DenseNames, a: tf.Tensor2D, dy: tf.Tensor2D, rpe: number): void => {
        const delta = keep(byClass(dy, C)); // [C, n, out]
        push({ kind: 'dense', variable: param(params, names.weight), rowsPerExample: rpe, a, delta } as DenseSite);
        push({ kind: 'vector', variable: param(params, names.bias), rowsPerExample: rpe, delta } as VectorSite);
      };
      const normBack = (names: NormNames, saved: NormSaved, dy: tf.Tensor2D, rpe: number): tf.Tensor2D => {
        const delta = keep(byClass(dy, C)); // [C, n, H]
        push({ kind: 'vector', variable: param(params, names.weight), rowsPerExample: rpe, delta, scale: saved.xhat } as VectorSite);
        push({ kind: 'vector', variable: param(params, names.bias), rowsPerExample: rpe, delta } as VectorSite);
        const g = tf.mul(delta, saved.gamma); // [C, n, H]
        const xhat = tf.expandDims(saved.xhat, 0); // [1, n, H]
        const dx = tf.mul(tf.expandDims(saved.rstd, 0), tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(xhat, tf.mean(tf.mul(g, xhat), -1, true))));
        return tf.reshape(dx, [-1, dy.shape[1]]) as tf.Tensor2D; // [C·n, w] (w = H, or E for the embeddings and ELECTRA's head)
      };
      const actBack = (dydu: tf.Tensor2D, dy: tf.Tensor2D): tf.Tensor2D =>
        tf.reshape(tf.mul(byClass(dy, C), dydu), [-1, dydu.shape[1]]) as tf.Tensor2D; // dy ⊙ y'(u), y' broadcast over classes
      const rep = <X extends tf.Tensor>(t: X): X => (C === 1 ? t : tf.concat(Array.from({ length: C }, () => t), 0) as X); // C copies on axis 0

      // ---- The head: logits [B, C] and the cotangent at h, dh [C·B, H] (class c: ∂z_c/∂h).
      let logits: tf.Tensor2D;
      let dh: tf.Tensor2D;
      if (head.kind === 'linear') {
        // ∂z_c/∂W_head = e_c ⊗ h (a dense site with δ = e_c), ∂z_c/∂b = e_c; ∂z_c/∂h = W_head[c].
        const delta = keep(tf.tile(tf.reshape(tf.eye(C), [C, 1, C]), [1, B, 1]) as tf.Tensor3D); // [C, B, C]
        push({ kind: 'dense', variable: head.weight, rowsPerExample: 1, a: h, delta });
        push({ kind: 'vector', variable: head.bias, rowsPerExample: 1, delta });
        logits = tf.add(tf.matMul(h, tf.transpose(head.weight)), head.bias) as tf.Tensor2D;
        dh = tf.reshape(tf.tile(tf.reshape(head.weight, [C, 1, H]), [1, B, 1]), [C * B, H]) as tf.Tensor2D;
      } else {
        const hn = headNames(config);
        const acth = activationWithGrad(headActivation(config), linear(hn.transform, h)); // [B, E]
        const nh0 = norm(hn.norm, acth.y);
        const t = keep(nh0.y); // [B, E]
        const E = t.shape[1];
        const labelIds = tf.tensor1d(head.labelIds, 'int32');
        const Ec = tf.gather(decoderWeight(params, config), labelIds); // [C, E]
        logits = tf.add(tf.matMul(t, tf.transpose(Ec)), tf.gather(param(params, hn.bias), labelIds)) as tf.Tensor2D;
        // Decoder rows: ∂z_c/∂E[label_c] = t (vocabulary-sparse), ∂z_c/∂bias[label_c] = 1; ∂z_c/∂t = E[label_c].
        const rowIds = new Int32Array(C * B);
        for (let c = 0; c < C; c++) rowIds.fill(head.labelIds[c], c * B, (c + 1) * B);
        push({ kind: 'rows', variable: decoderWeight(params, config), rowsPerExample: 1, ids: rowIds, values: keep(tf.reshape(rep(t), [C, B, E]) as tf.Tensor3D) });
        push({ kind: 'rows', variable: param(params, hn.bias), rowsPerExample: 1, ids: rowIds, values: keep(tf.ones([C, B, 1]) as tf.Tensor3D) });
        const dt = tf.reshape(tf.tile(tf.reshape(Ec, [C, 1, E]), [1, B, 1]), [C * B, E]) as tf.Tensor2D;
        const dgh = normBack(hn.norm, nh0.saved, dt, 1);
        const duh = actBack(acth.dy, dgh);
        denseSites(hn.transform, h, duh, 1);
        dh = tf.matMul(duh, W(hn.transform)) as tf.Tensor2D; // [C·B, H]
      }
      logitsKept = tf.keep(logits); // read after the pass, asynchronously (webgpu cannot read synchronously)

      // ---- Back through the encoder.
      let dx = tf.scatterND(tf.tensor2d(scatterRows, [C * B, 1], 'int32'), dh, [C * R, H]) as tf.Tensor2D; // [C·R, H]
      for (let i = config.numLayers - 1; i >= 0; i--) {
        const dOut = dx;
        dx = tf.tidy(() => layerBack(layers[i], dOut)); // frees each layer's temporaries as it goes
      }
      function layerBack(s: LayerSaved, dx: tf.Tensor2D): tf.Tensor2D {
        const { l } = s;
        const ds2 = normBack(l.outputNorm, s.n2, dx, T);
        denseSites(l.output, s.g, ds2, T);
        const du = actBack(s.dact, tf.matMul(ds2, W(l.output)) as tf.Tensor2D); // [C·R, I]
        denseSites(l.intermediate, s.x1, du, T);
        const ds1 = normBack(l.attentionNorm, s.n1, tf.add(ds2, tf.matMul(du, W(l.intermediate))) as tf.Tensor2D, T);
        denseSites(l.attentionOutput, s.merged, ds1, T);
        // Cotangents [C, B, nh, T, ·] against the saved P, q, k, v [B, nh, T, ·]: products and elementwise ops
        // broadcast over the leading class axis, so nothing is copied C times.
        const byHeads = (t: tf.Tensor) => tf.reshape(t, [C * B, nh, T, t.shape[t.rank - 1]]) as tf.Tensor4D;
        const dctx = tf.reshape(splitHeads(tf.matMul(ds1, W(l.attentionOutput)) as tf.Tensor2D, C * B), [C, B, nh, T, hs]);
        const P = s.probs; // [B, nh, T, T]
        const dP = tf.matMul(dctx, s.v, false, true); // [C, B, nh, T, T]
        const dv = tf.matMul(P, dctx, true, false); // [C, B, nh, T, hs]
        const dS = tf.mul(tf.mul(P, tf.sub(dP, tf.sum(tf.mul(dP, P), -1, true))), 1 / Math.sqrt(hs)); // [C, B, nh, T, T]
        const dq = mergeHeads(byHeads(tf.matMul(dS, s.k)), C * B); // [C·R, H]
        const dk = mergeHeads(byHeads(tf.matMul(dS, s.q, true, false)), C * B);
        const dvm = mergeHeads(byHeads(dv), C * B);
        denseSites(l.query, s.xIn, dq, T);
        denseSites(l.key, s.xIn, dk, T);
        denseSites(l.value, s.xIn, dvm, T);
        return tf.addN([ds1, tf.matMul(dq, W(l.query)), tf.matMul(dk, W(l.key)), tf.matMul(dvm, W(l.value))]) as tf.Tensor2D;
      }
      // ELECTRA's and ALBERT's projection (sites W, b with a = the normalised embeddings), then back to E wide.
      if (emb.project) {
        denseSites(emb.project, projectIn!, dx, T);
        dx = tf.matMul(dx, W(emb.project)) as tf.Tensor2D; // [C·R, E]
      }
      // Embeddings: the LayerNorm, then the tables (rows: word, position and, where the model has them, type ids).
      const de = keep(byClass(normBack(emb.norm, n0.saved, dx, T), C)); // [C, R, E]
      const tables: [string, Int32Array][] = [[emb.word, ids], [emb.position, posIdsHost]];
      if (emb.tokenType) tables.push([emb.tokenType, types]);
      for (const [name, rowIds] of tables) {
        push({ kind: 'rows', variable: param(params, name), rowsPerExample: T, ids: rowIds, values: de });
      }
    });
  } catch (err) {
    tf.dispose(kept);
    logitsKept?.dispose();
    throw err;
  }
  const outputs = Float32Array.from(await logitsKept!.data()); // [B·C]: f_c(x_b)
  logitsKept!.dispose();
  return { sites, outputs, dispose: () => tf.dispose(kept) };
}
