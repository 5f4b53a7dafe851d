/**
 * An independent float64 implementation of ModernBertForMaskedLM inference (transformers modeling_modernbert.py /
 * modular_modernbert.py, eager / sdpa path, eval mode), with no tfjs and no code from src/, to check the engine's tfjs
 * ModernBERT against:
 *
 * - Embeddings: LayerNorm(tok_embeddings[id]) (`model.embeddings.norm`); no position embeddings.
 * - Pre-norm layers h += Wo(attn(attn_norm h)); h += mlp(mlp_norm h), where layer 0's attn_norm is nn.Identity (no
 *   tensor). Every LayerNorm has a bias only with `norm_bias`.
 * - Attention: fused Wqkv [3H, H] viewed as [3, nh, hs] (q = outputs 0..H−1, k = H..2H−1, v = 2H..3H−1, head n at
 *   n·hs), rotary (rotate_half, whole head, position = token index) with `global_rope_theta` on global layers and
 *   `local_rope_theta` (null → global) on local ones, scores q·k/√hs, bidirectional. Layer i is global iff
 *   i % global_attn_every_n_layers == 0 (or, where config.json has v5's `layer_types`, iff it is "full_attention"); a
 *   local layer lets query i read key j only if |i − j| ≤ ⌊local_attention / 2⌋ (masking_utils'
 *   sliding_window_bidirectional_overlay with config.sliding_window = local_attention // 2, as v4's
 *   `distance <= local_attention // 2`). v5's `rope_parameters.{full,sliding}_attention.rope_theta` wins over the
 *   v4 keys where present; only rope_type "default" is implemented. Biases on Wqkv / Wo iff `attention_bias`.
 * - MLP (GeGLU): [inp | gate] = Wi x (chunk(2) on the output), Wo(act(inp) ⊙ gate), act = `hidden_activation`,
 *   biases iff `mlp_bias`.
 * - final_norm, then the MLM head: head.norm(classifier_activation(head.dense h)) (dense bias iff classifier_bias),
 *   decoder = tok_embeddings when tie_word_embeddings (default) else `decoder.weight`, + `decoder.bias` iff
 *   decoder_bias.
 *
 * Padding: keys whose attention-mask entry is 0 are left out of the softmax entirely; positions stay 0..T−1 (no
 * unpadding). A pad query with no visible key at all (only possible on a local layer) gets a zero context; transformers
 * leaves such rows implementation-dependent, so compare real tokens only. Plain arrays and loops; tiny models only.
 */
import { refAct, refAttentionWhere, refInvFreq, refRotate } from './reference-causal';

export type ModernBertRefConfig = Record<string, unknown> & { model_type: string };
export type ModernBertRefWeights = Map<string, { shape: number[]; values: Float64Array }>;
type Tensor = { shape: number[]; values: Float64Array };
type Mat = number[][];

/** config.json read with ModernBertConfig's defaults. */
export interface ModernBertRefParsed {
  V: number; H: number; I: number; L: number; nh: number; hs: number; eps: number;
  act: string; clsAct: string; normBias: boolean; attnBias: boolean; mlpBias: boolean; clsBias: boolean;
  decoderBias: boolean; tied: boolean;
  /** Per layer: true = global (full) attention. */
  global: boolean[];
  globalTheta: number; localTheta: number;
  /** Half window: a local layer's query i reads key j iff |i − j| ≤ halfWindow. */
  halfWindow: number;
}

function num(cfg: ModernBertRefConfig, key: string, dflt: number): number {
  const v = cfg[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number') throw new Error(`reference-modernbert: config ${key} is not a number`);
  return v;
}

function bool(cfg: ModernBertRefConfig, key: string, dflt: boolean): boolean {
  const v = cfg[key];
  return v === undefined || v === null ? dflt : Boolean(v);
}

function ropeTheta(cfg: ModernBertRefConfig, kind: 'full_attention' | 'sliding_attention'): number | undefined {
  const rp = cfg.rope_parameters as Record<string, Record<string, unknown> | undefined> | null | undefined;
  const p = rp?.[kind];
  if (!p) return undefined;
  const type = String(p.rope_type ?? p.type ?? 'default');
  if (type !== 'default') throw new Error(`reference-modernbert: rope_type ${type} not implemented`);
  return typeof p.rope_theta === 'number' ? p.rope_theta : undefined;
}

export function parseModernBertRefConfig(cfg: ModernBertRefConfig): ModernBertRefParsed {
  if (cfg.model_type !== 'modernbert') throw new Error(`reference-modernbert: model_type ${cfg.model_type}`);
  if (cfg.rope_scaling) throw new Error('reference-modernbert: rope_scaling not implemented');
  const H = num(cfg, 'hidden_size', 768);
  const nh = num(cfg, 'num_attention_heads', 12);
  const L = num(cfg, 'num_hidden_layers', 22);
  if (H % nh !== 0) throw new Error('reference-modernbert: hidden_size not a multiple of num_attention_heads');
  const every = num(cfg, 'global_attn_every_n_layers', 3);
  const types = cfg.layer_types as string[] | null | undefined;
  if (types && types.length !== L) throw new Error('reference-modernbert: layer_types length ≠ num_hidden_layers');
  const global = Array.from({ length: L }, (_, i) => (types ? types[i] === 'full_attention' : i % every === 0));
  const globalTheta = ropeTheta(cfg, 'full_attention') ?? num(cfg, 'global_rope_theta', 160000);
  const localRaw = cfg.local_rope_theta === undefined ? 10000 : (cfg.local_rope_theta as number | null);
  const localTheta = ropeTheta(cfg, 'sliding_attention') ?? localRaw ?? globalTheta;
  return {
    V: num(cfg, 'vocab_size', 50368), H, I: num(cfg, 'intermediate_size', 1152), L, nh, hs: H / nh,
    eps: num(cfg, 'norm_eps', 1e-5), act: String(cfg.hidden_activation ?? 'gelu'),
    clsAct: String(cfg.classifier_activation ?? 'gelu'), normBias: bool(cfg, 'norm_bias', false),
    attnBias: bool(cfg, 'attention_bias', false), mlpBias: bool(cfg, 'mlp_bias', false),
    clsBias: bool(cfg, 'classifier_bias', false), decoderBias: bool(cfg, 'decoder_bias', true),
    tied: bool(cfg, 'tie_word_embeddings', true), global, globalTheta, localTheta,
    halfWindow: Math.floor(num(cfg, 'local_attention', 128) / 2),
  };
}

/** Every tensor the ModernBertForMaskedLM checkpoint holds, canonical name → shape. */
export function modernBertRefShapes(cfg: ModernBertRefConfig): [string, number[]][] {
  const p = parseModernBertRefConfig(cfg);
  const { V, H, I } = p;
  const out: [string, number[]][] = [];
  const norm = (name: string): void => {
    out.push([`${name}.weight`, [H]]);
    if (p.normBias) out.push([`${name}.bias`, [H]]);
  };
  const lin = (name: string, o: number, i: number, bias: boolean): void => {
    out.push([`${name}.weight`, [o, i]]);
    if (bias) out.push([`${name}.bias`, [o]]);
  };
  out.push(['model.embeddings.tok_embeddings.weight', [V, H]]);
  norm('model.embeddings.norm');
  for (let l = 0; l < p.L; l++) {
    const b = `model.layers.${l}.`;
    if (l > 0) norm(`${b}attn_norm`);
    lin(`${b}attn.Wqkv`, 3 * H, H, p.attnBias);
    lin(`${b}attn.Wo`, H, H, p.attnBias);
    norm(`${b}mlp_norm`);
    lin(`${b}mlp.Wi`, 2 * I, H, p.mlpBias);
    lin(`${b}mlp.Wo`, H, I, p.mlpBias);
  }
  norm('model.final_norm');
  lin('head.dense', H, H, p.clsBias);
  norm('head.norm');
  if (p.decoderBias) out.push(['decoder.bias', [V]]);
  if (!p.tied) out.push(['decoder.weight', [V, H]]);
  return out;
}

function w(weights: ModernBertRefWeights, name: string, shape?: number[]): Tensor {
  const t = weights.get(name);
  if (!t) throw new Error(`reference-modernbert: no weight ${name}`);
  if (shape && (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))) {
    throw new Error(`reference-modernbert: ${name} has shape [${t.shape}], expected [${shape}]`);
  }
  return t;
}

const opt = (weights: ModernBertRefWeights, name: string, present: boolean): Tensor | undefined =>
  (present ? w(weights, name) : undefined);

/** nn.Linear: x [N][in] · Wᵀ (+ b), W stored [out, in]. */
function linear(x: Mat, W: Tensor, b?: Tensor): Mat {
  const [out, inp] = W.shape;
  return x.map((row) => {
    if (row.length !== inp) throw new Error(`reference-modernbert: linear input ${row.length} ≠ ${inp}`);
    const y = new Array<number>(out);
    for (let o = 0; o < out; o++) {
      let s = b ? b.values[o] : 0;
      for (let i = 0; i < inp; i++) s += row[i] * W.values[o * inp + i];
      y[o] = s;
    }
    return y;
  });
}

/** nn.LayerNorm(H, eps, bias=norm_bias): (x − mean) / sqrt(biased var + eps) · γ (+ β). */
function layerNorm(x: Mat, W: ModernBertRefWeights, name: string, p: ModernBertRefParsed): Mat {
  const g = w(W, `${name}.weight`, [p.H]);
  const b = opt(W, `${name}.bias`, p.normBias);
  return x.map((row) => {
    const n = row.length;
    const mean = row.reduce((s, v) => s + v, 0) / n;
    const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
    const inv = 1 / Math.sqrt(variance + p.eps);
    return row.map((v, i) => (v - mean) * inv * g.values[i] + (b ? b.values[i] : 0));
  });
}

const add = (a: Mat, b: Mat): Mat => a.map((row, i) => row.map((v, j) => v + b[i][j]));


/** Final-norm hidden states [T][H] of one sequence; attentionMask (1 real, 0 pad) defaults to all ones. */
export function referenceModernBertHidden(
  cfg: ModernBertRefConfig, weights: ModernBertRefWeights, ids: number[], attentionMask?: number[],
): Mat {
  const p = parseModernBertRefConfig(cfg);
  const { H, I, nh, hs } = p;
  const T = ids.length;
  if (T === 0) throw new Error('reference-modernbert: empty sequence');
  const mask = attentionMask ?? new Array<number>(T).fill(1);
  if (mask.length !== T) throw new Error('reference-modernbert: attention mask length ≠ sequence length');
  const emb = w(weights, 'model.embeddings.tok_embeddings.weight', [p.V, H]);
  let x: Mat = ids.map((id) => {
    if (!Number.isInteger(id) || id < 0 || id >= p.V) throw new Error(`reference-modernbert: token ${id} outside vocab`);
    return Array.from(emb.values.subarray(id * H, (id + 1) * H));
  });
  x = layerNorm(x, weights, 'model.embeddings.norm', p);
  const invGlobal = refInvFreq(hs, p.globalTheta);
  const invLocal = refInvFreq(hs, p.localTheta);
  for (let l = 0; l < p.L; l++) {
    const b = `model.layers.${l}.`;
    const a = l === 0 ? x : layerNorm(x, weights, `${b}attn_norm`, p);
    const qkv = linear(a, w(weights, `${b}attn.Wqkv.weight`, [3 * H, H]), opt(weights, `${b}attn.Wqkv.bias`, p.attnBias));
    const inv = p.global[l] ? invGlobal : invLocal;
    const part = (which: number, rotate: boolean): number[][][] => qkv.map((row, t) => Array.from({ length: nh }, (_, n) => {
      const vec = row.slice(which * H + n * hs, which * H + (n + 1) * hs);
      return rotate ? refRotate(vec, t, inv, hs) : vec;
    }));
    const visible = p.global[l]
      ? (_i: number, j: number) => mask[j] !== 0
      : (i: number, j: number) => mask[j] !== 0 && Math.abs(i - j) <= p.halfWindow;
    const ctx = refAttentionWhere(part(0, true), part(1, true), part(2, false), 1 / Math.sqrt(hs), visible);
    x = add(x, linear(ctx, w(weights, `${b}attn.Wo.weight`, [H, H]), opt(weights, `${b}attn.Wo.bias`, p.attnBias)));
    const m = layerNorm(x, weights, `${b}mlp_norm`, p);
    const wi = linear(m, w(weights, `${b}mlp.Wi.weight`, [2 * I, H]), opt(weights, `${b}mlp.Wi.bias`, p.mlpBias));
    const inner = wi.map((r) => Array.from({ length: I }, (_, i) => refAct(p.act, r[i]) * r[I + i]));
    x = add(x, linear(inner, w(weights, `${b}mlp.Wo.weight`, [H, I]), opt(weights, `${b}mlp.Wo.bias`, p.mlpBias)));
  }
  return layerNorm(x, weights, 'model.final_norm', p);
}

/** The decoder weight [V, H] the config uses (tok_embeddings when tied). */
export function modernBertRefDecoderWeight(cfg: ModernBertRefConfig, weights: ModernBertRefWeights): Tensor {
  const p = parseModernBertRefConfig(cfg);
  return w(weights, p.tied ? 'model.embeddings.tok_embeddings.weight' : 'decoder.weight', [p.V, p.H]);
}

/** MLM logits [T][V] at every position of one sequence. */
export function referenceModernBertLogits(
  cfg: ModernBertRefConfig, weights: ModernBertRefWeights, ids: number[], attentionMask?: number[],
): Mat {
  const p = parseModernBertRefConfig(cfg);
  const h = referenceModernBertHidden(cfg, weights, ids, attentionMask);
  const dense = linear(h, w(weights, 'head.dense.weight', [p.H, p.H]), opt(weights, 'head.dense.bias', p.clsBias));
  const z = layerNorm(dense.map((r) => r.map((u) => refAct(p.clsAct, u))), weights, 'head.norm', p);
  return linear(z, modernBertRefDecoderWeight(cfg, weights), opt(weights, 'decoder.bias', p.decoderBias));
}

/**
 * Deterministic random weights for every tensor of modernBertRefShapes (mulberry32 + Box–Muller): matrices ~N(0, 0.2²),
 * norm weights 1 ± 0.1, biases (norm or linear) uniform ±0.1.
 */
export function randomModernBertRefWeights(cfg: ModernBertRefConfig, seed: number): ModernBertRefWeights {
  let s = seed >>> 0;
  const uniform = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (): number => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  const out: ModernBertRefWeights = new Map();
  for (const [name, shape] of modernBertRefShapes(cfg)) {
    const n = shape.reduce((a, d) => a * d, 1);
    const values = new Float64Array(n);
    const isNormWeight = shape.length === 1 && name.endsWith('norm.weight');
    for (let i = 0; i < n; i++) {
      if (shape.length === 2) values[i] = 0.2 * normal();
      else if (isNormWeight) values[i] = 1 + 0.2 * (uniform() - 0.5);
      else values[i] = 0.2 * (uniform() - 0.5);
    }
    out.set(name, { shape: shape.slice(), values });
  }
  return out;
}
