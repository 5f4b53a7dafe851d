/**
 * An independent float64 implementation of decoder-only (causal) language-model inference, with no tfjs and no code
 * from src/, written from the Hugging Face transformers model definitions, to check the engine's tfjs models against:
 *
 * - GPT2LMHeadModel (modeling_gpt2.py): learned absolute positions, pre-LayerNorm blocks, Conv1D weights stored
 *   [in, out] (y = x·W + b), fused c_attn [H, 3H] split q | k | v, `activation_function` (gelu_new), final ln_f and
 *   an LM head tied to wte.
 * - GPTNeoXForCausalLM (modeling_gpt_neox.py): fused query_key_value [3H, H] whose output is laid out per head as
 *   [nh, 3, hs] (q, k, v of head 0, then of head 1, …), rotary on the first int(hs·rotary_pct) dims of each head
 *   (rotate_half form, base `rotary_emb_base`), parallel residual x + attn(ln1 x) + mlp(ln2 x) or the sequential one,
 *   final_layer_norm and an untied `embed_out`.
 * - The Llama layout (modeling_llama.py, modeling_mistral.py, modeling_qwen2.py): RMSNorm, RoPE (rotate_half) over the
 *   whole head with `rope_theta` and `rope_scaling` linear / llama3 exactly as modeling_rope_utils computes inv_freq,
 *   grouped-query attention (query head h reads key/value head ⌊h / (nh/nkv)⌋, as repeat_kv lays them out), SwiGLU
 *   down(act(gate x) ⊙ up x), q/k/v biases for Qwen2, q/k/v/o biases for Llama's `attention_bias`, gate/up/down
 *   biases for Llama's `mlp_bias`, Mistral's `sliding_window` (key j visible from query i iff i − window < j ≤ i, as
 *   masking_utils.sliding_window_overlay has it), Qwen2's sliding window only where `use_sliding_window` and the layer
 *   index ≥ `max_window_layers`, and a tied or untied lm_head.
 *
 * Input: the config.json object (HF keys, HF defaults for absent keys) and weights under the canonical *ForCausalLM
 * names (GPT-2 `transformer.…`, NeoX `gpt_neox.…` + `embed_out.weight`, Llama layout `model.…` + `lm_head.weight`).
 * One unpadded sequence in, logits [T][V] at every position out. Plain arrays and loops; slow, so only for tiny models.
 */
import { erf64 } from './reference-mlm';

export interface CausalRefTensor { shape: number[]; values: Float64Array }
export type CausalRefWeights = Map<string, CausalRefTensor>;
export type CausalRefConfig = Record<string, unknown> & { model_type: string };

type Mat = number[][]; // rows × cols

/** Everything the forward needs, read from config.json with transformers' defaults. */
export interface CausalRefParsed {
  layout: 'gpt2' | 'gpt_neox' | 'llama';
  V: number; H: number; L: number; nh: number; nkv: number; hd: number; I: number;
  eps: number; act: string; tied: boolean; maxPositions: number;
  /** Rotary: dims per head that rotate and their inverse frequencies (length rotaryDim / 2); undefined for GPT-2. */
  rotaryDim?: number; invFreq?: number[];
  qkvBias: boolean; oBias: boolean; mlpBias: boolean;
  parallelResidual: boolean;
  /** Sliding window per layer (undefined: full causal attention on that layer). */
  windows: (number | undefined)[];
  /** GPT-2 attention scale options. */
  scaleAttnWeights: boolean; scaleByInverseLayerIdx: boolean;
}

function num(cfg: CausalRefConfig, key: string, dflt?: number): number {
  const v = cfg[key];
  if (v === undefined || v === null) {
    if (dflt === undefined) throw new Error(`reference-causal: config.json lacks ${key}`);
    return dflt;
  }
  if (typeof v !== 'number') throw new Error(`reference-causal: config ${key} is not a number`);
  return v;
}

function bool(cfg: CausalRefConfig, key: string, dflt: boolean): boolean {
  const v = cfg[key];
  return v === undefined || v === null ? dflt : Boolean(v);
}

/**
 * Inverse frequencies as transformers' modeling_rope_utils computes them: default 1 / base^(2i/dim); 'linear' divides
 * them by factor (positions / factor); 'llama3' keeps high frequencies (wavelength < old_ctx / high_freq_factor),
 * divides low ones (wavelength > old_ctx / low_freq_factor) by factor and interpolates smoothly in between.
 */
export function refInvFreq(dim: number, base: number, scaling?: Record<string, unknown> | null): number[] {
  const inv: number[] = [];
  for (let i = 0; i < dim; i += 2) inv.push(1 / base ** (i / dim));
  if (!scaling) return inv;
  const type = String(scaling.rope_type ?? scaling.type ?? 'default');
  if (type === 'default') return inv;
  const factor = Number(scaling.factor);
  if (type === 'linear') return inv.map((f) => f / factor);
  if (type === 'llama3') {
    const low = Number(scaling.low_freq_factor);
    const high = Number(scaling.high_freq_factor);
    const oldCtx = Number(scaling.original_max_position_embeddings);
    const lowWavelen = oldCtx / low;
    const highWavelen = oldCtx / high;
    return inv.map((f) => {
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < highWavelen) return f;
      if (wavelen > lowWavelen) return f / factor;
      const smooth = (oldCtx / wavelen - low) / (high - low);
      return (1 - smooth) * (f / factor) + smooth * f;
    });
  }
  throw new Error(`reference-causal: rope_scaling type ${type} not implemented`);
}

export function parseCausalRefConfig(cfg: CausalRefConfig): CausalRefParsed {
  const mt = cfg.model_type;
  if (mt === 'gpt2') {
    const H = num(cfg, 'n_embd');
    const nh = num(cfg, 'n_head');
    const L = num(cfg, 'n_layer');
    return {
      layout: 'gpt2', V: num(cfg, 'vocab_size'), H, L, nh, nkv: nh, hd: H / nh, I: num(cfg, 'n_inner', 4 * H),
      eps: num(cfg, 'layer_norm_epsilon', 1e-5), act: String(cfg.activation_function ?? 'gelu_new'), tied: true,
      maxPositions: num(cfg, 'n_positions'), qkvBias: true, oBias: true, mlpBias: true, parallelResidual: false,
      windows: new Array(L).fill(undefined),
      scaleAttnWeights: bool(cfg, 'scale_attn_weights', true),
      scaleByInverseLayerIdx: bool(cfg, 'scale_attn_by_inverse_layer_idx', false),
    };
  }
  if (mt === 'gpt_neox') {
    const H = num(cfg, 'hidden_size');
    const nh = num(cfg, 'num_attention_heads');
    const L = num(cfg, 'num_hidden_layers');
    const hd = H / nh;
    const rotaryDim = Math.trunc(hd * num(cfg, 'rotary_pct', 0.25));
    const base = num(cfg, 'rotary_emb_base', num(cfg, 'rope_theta', 10000));
    const bias = bool(cfg, 'attention_bias', true);
    return {
      layout: 'gpt_neox', V: num(cfg, 'vocab_size'), H, L, nh, nkv: nh, hd, I: num(cfg, 'intermediate_size'),
      eps: num(cfg, 'layer_norm_eps', 1e-5), act: String(cfg.hidden_act ?? 'gelu'),
      tied: bool(cfg, 'tie_word_embeddings', false), maxPositions: num(cfg, 'max_position_embeddings'),
      rotaryDim, invFreq: refInvFreq(rotaryDim, base, cfg.rope_scaling as Record<string, unknown> | null),
      qkvBias: bias, oBias: bias, mlpBias: true, parallelResidual: bool(cfg, 'use_parallel_residual', true),
      windows: new Array(L).fill(undefined), scaleAttnWeights: true, scaleByInverseLayerIdx: false,
    };
  }
  if (mt === 'llama' || mt === 'mistral' || mt === 'qwen2') {
    const H = num(cfg, 'hidden_size');
    const nh = num(cfg, 'num_attention_heads');
    const L = num(cfg, 'num_hidden_layers');
    const hd = num(cfg, 'head_dim', Math.trunc(H / nh));
    let windows: (number | undefined)[] = new Array(L).fill(undefined);
    if (mt === 'mistral') {
      const w = cfg.sliding_window === undefined ? 4096 : (cfg.sliding_window as number | null);
      if (w !== null) windows = windows.map(() => w);
    } else if (mt === 'qwen2' && bool(cfg, 'use_sliding_window', false) && cfg.sliding_window != null) {
      const from = num(cfg, 'max_window_layers', 28);
      windows = windows.map((_, l) => (l >= from ? (cfg.sliding_window as number) : undefined));
    }
    const attnBias = mt === 'llama' ? bool(cfg, 'attention_bias', false) : false;
    return {
      layout: 'llama', V: num(cfg, 'vocab_size'), H, L, nh, nkv: num(cfg, 'num_key_value_heads', nh), hd,
      I: num(cfg, 'intermediate_size'), eps: num(cfg, 'rms_norm_eps', 1e-6), act: String(cfg.hidden_act ?? 'silu'),
      tied: bool(cfg, 'tie_word_embeddings', false), maxPositions: num(cfg, 'max_position_embeddings'),
      rotaryDim: hd, invFreq: refInvFreq(hd, num(cfg, 'rope_theta', 10000), cfg.rope_scaling as Record<string, unknown> | null),
      qkvBias: mt === 'qwen2' || attnBias, oBias: attnBias,
      mlpBias: mt === 'llama' ? bool(cfg, 'mlp_bias', false) : false,
      parallelResidual: false, windows, scaleAttnWeights: true, scaleByInverseLayerIdx: false,
    };
  }
  throw new Error(`reference-causal: model_type ${mt} not implemented`);
}

/** Every tensor of the *ForCausalLM, canonical name → shape, in a natural checkpoint order. */
export function causalRefShapes(cfg: CausalRefConfig): [string, number[]][] {
  const p = parseCausalRefConfig(cfg);
  const { V, H, I, nh, nkv, hd } = p;
  const out: [string, number[]][] = [];
  if (p.layout === 'gpt2') {
    out.push(['transformer.wte.weight', [V, H]], ['transformer.wpe.weight', [p.maxPositions, H]]);
    for (let l = 0; l < p.L; l++) {
      const b = `transformer.h.${l}.`;
      out.push([`${b}ln_1.weight`, [H]], [`${b}ln_1.bias`, [H]]);
      out.push([`${b}attn.c_attn.weight`, [H, 3 * H]], [`${b}attn.c_attn.bias`, [3 * H]]);
      out.push([`${b}attn.c_proj.weight`, [H, H]], [`${b}attn.c_proj.bias`, [H]]);
      out.push([`${b}ln_2.weight`, [H]], [`${b}ln_2.bias`, [H]]);
      out.push([`${b}mlp.c_fc.weight`, [H, I]], [`${b}mlp.c_fc.bias`, [I]]);
      out.push([`${b}mlp.c_proj.weight`, [I, H]], [`${b}mlp.c_proj.bias`, [H]]);
    }
    out.push(['transformer.ln_f.weight', [H]], ['transformer.ln_f.bias', [H]]);
    return out;
  }
  if (p.layout === 'gpt_neox') {
    out.push(['gpt_neox.embed_in.weight', [V, H]]);
    for (let l = 0; l < p.L; l++) {
      const b = `gpt_neox.layers.${l}.`;
      out.push([`${b}input_layernorm.weight`, [H]], [`${b}input_layernorm.bias`, [H]]);
      out.push([`${b}post_attention_layernorm.weight`, [H]], [`${b}post_attention_layernorm.bias`, [H]]);
      out.push([`${b}attention.query_key_value.weight`, [3 * H, H]]);
      if (p.qkvBias) out.push([`${b}attention.query_key_value.bias`, [3 * H]]);
      out.push([`${b}attention.dense.weight`, [H, H]]);
      if (p.oBias) out.push([`${b}attention.dense.bias`, [H]]);
      out.push([`${b}mlp.dense_h_to_4h.weight`, [I, H]], [`${b}mlp.dense_h_to_4h.bias`, [I]]);
      out.push([`${b}mlp.dense_4h_to_h.weight`, [H, I]], [`${b}mlp.dense_4h_to_h.bias`, [H]]);
    }
    out.push(['gpt_neox.final_layer_norm.weight', [H]], ['gpt_neox.final_layer_norm.bias', [H]]);
    if (!p.tied) out.push(['embed_out.weight', [V, H]]);
    return out;
  }
  out.push(['model.embed_tokens.weight', [V, H]]);
  for (let l = 0; l < p.L; l++) {
    const b = `model.layers.${l}.`;
    out.push([`${b}input_layernorm.weight`, [H]]);
    out.push([`${b}self_attn.q_proj.weight`, [nh * hd, H]]);
    if (p.qkvBias) out.push([`${b}self_attn.q_proj.bias`, [nh * hd]]);
    out.push([`${b}self_attn.k_proj.weight`, [nkv * hd, H]]);
    if (p.qkvBias) out.push([`${b}self_attn.k_proj.bias`, [nkv * hd]]);
    out.push([`${b}self_attn.v_proj.weight`, [nkv * hd, H]]);
    if (p.qkvBias) out.push([`${b}self_attn.v_proj.bias`, [nkv * hd]]);
    out.push([`${b}self_attn.o_proj.weight`, [H, nh * hd]]);
    if (p.oBias) out.push([`${b}self_attn.o_proj.bias`, [H]]);
    out.push([`${b}post_attention_layernorm.weight`, [H]]);
    out.push([`${b}mlp.gate_proj.weight`, [I, H]]);
    if (p.mlpBias) out.push([`${b}mlp.gate_proj.bias`, [I]]);
    out.push([`${b}mlp.up_proj.weight`, [I, H]]);
    if (p.mlpBias) out.push([`${b}mlp.up_proj.bias`, [I]]);
    out.push([`${b}mlp.down_proj.weight`, [H, I]]);
    if (p.mlpBias) out.push([`${b}mlp.down_proj.bias`, [H]]);
  }
  out.push(['model.norm.weight', [H]]);
  if (!p.tied) out.push(['lm_head.weight', [V, H]]);
  return out;
}

export function refAct(kind: string, x: number): number {
  switch (kind) {
    case 'gelu': return 0.5 * x * (1 + erf64(x / Math.SQRT2));
    case 'gelu_new':
    case 'gelu_fast':
    case 'gelu_pytorch_tanh': return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    case 'relu': return Math.max(0, x);
    case 'silu':
    case 'swish': return x / (1 + Math.exp(-x));
    default: throw new Error(`reference-causal: unknown activation ${kind}`);
  }
}

function w(weights: CausalRefWeights, name: string): CausalRefTensor {
  const t = weights.get(name);
  if (!t) throw new Error(`reference-causal: no weight ${name}`);
  return t;
}

function optional(weights: CausalRefWeights, name: string, present: boolean): CausalRefTensor | undefined {
  return present ? w(weights, name) : undefined;
}

/** nn.Linear: x [N][in] · Wᵀ (+ b), W stored [out, in]. */
function linear(x: Mat, W: CausalRefTensor, b?: CausalRefTensor): Mat {
  const [out, inp] = W.shape;
  return x.map((row) => {
    if (row.length !== inp) throw new Error(`reference-causal: linear input ${row.length} ≠ ${inp}`);
    const y = new Array<number>(out);
    for (let o = 0; o < out; o++) {
      let s = b ? b.values[o] : 0;
      for (let i = 0; i < inp; i++) s += row[i] * W.values[o * inp + i];
      y[o] = s;
    }
    return y;
  });
}

/** GPT-2's Conv1D: x [N][in] · W + b, W stored [in, out]. */
function conv1d(x: Mat, W: CausalRefTensor, b: CausalRefTensor): Mat {
  const [inp, out] = W.shape;
  return x.map((row) => {
    if (row.length !== inp) throw new Error(`reference-causal: conv1d input ${row.length} ≠ ${inp}`);
    const y = Array.from(b.values.subarray(0, out));
    for (let i = 0; i < inp; i++) {
      const xi = row[i];
      for (let o = 0; o < out; o++) y[o] += xi * W.values[i * out + o];
    }
    return y;
  });
}

function layerNorm(x: Mat, g: CausalRefTensor, b: CausalRefTensor, eps: number): Mat {
  return x.map((row) => {
    const n = row.length;
    const mean = row.reduce((s, v) => s + v, 0) / n;
    const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
    const inv = 1 / Math.sqrt(variance + eps);
    return row.map((v, i) => (v - mean) * inv * g.values[i] + b.values[i]);
  });
}

/** LlamaRMSNorm: weight · x / sqrt(mean(x²) + eps). */
function rmsNorm(x: Mat, g: CausalRefTensor, eps: number): Mat {
  return x.map((row) => {
    const ms = row.reduce((s, v) => s + v * v, 0) / row.length;
    const inv = 1 / Math.sqrt(ms + eps);
    return row.map((v, i) => g.values[i] * (v * inv));
  });
}

const add = (a: Mat, b: Mat): Mat => a.map((row, i) => row.map((v, j) => v + b[i][j]));

function embeddingRow(t: CausalRefTensor, row: number): number[] {
  const H = t.shape[1];
  if (!Number.isInteger(row) || row < 0 || row >= t.shape[0]) {
    throw new Error(`reference-causal: row ${row} outside table of ${t.shape[0]}`);
  }
  return Array.from(t.values.subarray(row * H, (row + 1) * H));
}

/**
 * Rotary embedding of one head vector (rotate_half form) at position `pos`, on its first `rotaryDim` dims:
 * x·cos + rotate_half(x)·sin with cos/sin = cat(freqs, freqs), rotate_half(x) = cat(−x₂, x₁). Dims past rotaryDim pass.
 */
export function refRotate(x: number[], pos: number, invFreq: number[], rotaryDim: number): number[] {
  const half = rotaryDim / 2;
  if (invFreq.length !== half) throw new Error('reference-causal: invFreq length ≠ rotaryDim / 2');
  const out = x.slice();
  for (let i = 0; i < half; i++) {
    const angle = pos * invFreq[i];
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    const x1 = x[i];
    const x2 = x[i + half];
    out[i] = x1 * c - x2 * s;
    out[i + half] = x2 * c + x1 * s;
  }
  return out;
}

/**
 * Causal multi-head / grouped-query attention of one sequence. q [T][nh][hd], k and v [T][nkv][hd] (already rotated).
 * Query i sees key j iff j ≤ i and, with a window W, i − W < j. Returns the merged heads [T][nh·hd] (head-major).
 */
export function refAttention(q: number[][][], k: number[][][], v: number[][][], scale: number, window?: number): Mat {
  return refAttentionWhere(q, k, v, scale, (i, j) => j <= i && (window === undefined || j > i - window));
}

/**
 * refAttention with any key pattern (reference-modernbert.ts: bidirectional, windowed): query i reads key j iff
 * visible(i, j); a query that sees no key gets a zero context. Query head h reads key/value head ⌊h / (nh/nkv)⌋.
 */
export function refAttentionWhere(q: number[][][], k: number[][][], v: number[][][], scale: number, visible: (i: number, j: number) => boolean): Mat {
  const T = q.length;
  const nh = q[0].length;
  const nkv = k[0].length;
  const hd = q[0][0].length;
  if (nh % nkv !== 0) throw new Error('reference-causal: nh not a multiple of nkv');
  const rep = nh / nkv;
  const out: Mat = Array.from({ length: T }, () => new Array<number>(nh * hd).fill(0));
  for (let h = 0; h < nh; h++) {
    const g = Math.floor(h / rep);
    for (let i = 0; i < T; i++) {
      const keys: number[] = [];
      for (let j = 0; j < T; j++) if (visible(i, j)) keys.push(j);
      if (keys.length === 0) continue;
      const scores = keys.map((j) => {
        let s = 0;
        for (let d = 0; d < hd; d++) s += q[i][h][d] * k[j][g][d];
        return s * scale;
      });
      const m = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - m));
      const z = e.reduce((a, b) => a + b, 0);
      keys.forEach((j, n) => {
        for (let d = 0; d < hd; d++) out[i][h * hd + d] += (e[n] / z) * v[j][g][d];
      });
    }
  }
  return out;
}

/** [T][n·hd] → [T][n][hd]. */
const splitHeads = (x: Mat, n: number, hd: number): number[][][] =>
  x.map((row) => Array.from({ length: n }, (_, h) => row.slice(h * hd, (h + 1) * hd)));

function gpt2Hidden(p: CausalRefParsed, W: CausalRefWeights, ids: number[]): Mat {
  const { H, nh, hd } = p;
  if (ids.length > p.maxPositions) throw new Error('reference-causal: sequence longer than n_positions');
  let x: Mat = ids.map((id, t) => {
    const a = embeddingRow(w(W, 'transformer.wte.weight'), id);
    const b = embeddingRow(w(W, 'transformer.wpe.weight'), t);
    return a.map((u, i) => u + b[i]);
  });
  for (let l = 0; l < p.L; l++) {
    const b = `transformer.h.${l}.`;
    const a = layerNorm(x, w(W, `${b}ln_1.weight`), w(W, `${b}ln_1.bias`), p.eps);
    const qkv = conv1d(a, w(W, `${b}attn.c_attn.weight`), w(W, `${b}attn.c_attn.bias`)); // [T][3H] = q | k | v
    const q = splitHeads(qkv.map((r) => r.slice(0, H)), nh, hd);
    const k = splitHeads(qkv.map((r) => r.slice(H, 2 * H)), nh, hd);
    const v = splitHeads(qkv.map((r) => r.slice(2 * H, 3 * H)), nh, hd);
    let scale = p.scaleAttnWeights ? 1 / Math.sqrt(hd) : 1;
    if (p.scaleByInverseLayerIdx) scale /= l + 1;
    const ctx = refAttention(q, k, v, scale);
    x = add(x, conv1d(ctx, w(W, `${b}attn.c_proj.weight`), w(W, `${b}attn.c_proj.bias`)));
    const m = layerNorm(x, w(W, `${b}ln_2.weight`), w(W, `${b}ln_2.bias`), p.eps);
    const inner = conv1d(m, w(W, `${b}mlp.c_fc.weight`), w(W, `${b}mlp.c_fc.bias`)).map((r) => r.map((u) => refAct(p.act, u)));
    x = add(x, conv1d(inner, w(W, `${b}mlp.c_proj.weight`), w(W, `${b}mlp.c_proj.bias`)));
  }
  return layerNorm(x, w(W, 'transformer.ln_f.weight'), w(W, 'transformer.ln_f.bias'), p.eps);
}

function neoxHidden(p: CausalRefParsed, W: CausalRefWeights, ids: number[]): Mat {
  const { nh, hd } = p;
  const rd = p.rotaryDim as number;
  const inv = p.invFreq as number[];
  let x: Mat = ids.map((id) => embeddingRow(w(W, 'gpt_neox.embed_in.weight'), id));
  for (let l = 0; l < p.L; l++) {
    const b = `gpt_neox.layers.${l}.`;
    const a = layerNorm(x, w(W, `${b}input_layernorm.weight`), w(W, `${b}input_layernorm.bias`), p.eps);
    const qkv = linear(a, w(W, `${b}attention.query_key_value.weight`),
      optional(W, `${b}attention.query_key_value.bias`, p.qkvBias)); // [T][nh·3·hs]
    const part = (which: number): number[][][] => qkv.map((row, t) => Array.from({ length: nh }, (_, h) => {
      const vec = row.slice((3 * h + which) * hd, (3 * h + which + 1) * hd);
      return which === 2 ? vec : refRotate(vec, t, inv, rd);
    }));
    const ctx = refAttention(part(0), part(1), part(2), 1 / Math.sqrt(hd));
    const attn = linear(ctx, w(W, `${b}attention.dense.weight`), optional(W, `${b}attention.dense.bias`, p.oBias));
    const mlp = (u: Mat): Mat => {
      const inner = linear(u, w(W, `${b}mlp.dense_h_to_4h.weight`), w(W, `${b}mlp.dense_h_to_4h.bias`))
        .map((r) => r.map((z) => refAct(p.act, z)));
      return linear(inner, w(W, `${b}mlp.dense_4h_to_h.weight`), w(W, `${b}mlp.dense_4h_to_h.bias`));
    };
    const ln2 = (u: Mat): Mat => layerNorm(u, w(W, `${b}post_attention_layernorm.weight`), w(W, `${b}post_attention_layernorm.bias`), p.eps);
    if (p.parallelResidual) {
      x = add(add(x, attn), mlp(ln2(x)));
    } else {
      const mid = add(x, attn);
      x = add(mid, mlp(ln2(mid)));
    }
  }
  return layerNorm(x, w(W, 'gpt_neox.final_layer_norm.weight'), w(W, 'gpt_neox.final_layer_norm.bias'), p.eps);
}

function llamaHidden(p: CausalRefParsed, W: CausalRefWeights, ids: number[]): Mat {
  const { nh, nkv, hd } = p;
  const inv = p.invFreq as number[];
  let x: Mat = ids.map((id) => embeddingRow(w(W, 'model.embed_tokens.weight'), id));
  for (let l = 0; l < p.L; l++) {
    const b = `model.layers.${l}.`;
    const a = rmsNorm(x, w(W, `${b}input_layernorm.weight`), p.eps);
    const proj = (name: string, bias: boolean): Mat =>
      linear(a, w(W, `${b}self_attn.${name}.weight`), optional(W, `${b}self_attn.${name}.bias`, bias));
    const rot = (m: Mat, n: number): number[][][] =>
      splitHeads(m, n, hd).map((heads, t) => heads.map((vec) => refRotate(vec, t, inv, hd)));
    const q = rot(proj('q_proj', p.qkvBias), nh);
    const k = rot(proj('k_proj', p.qkvBias), nkv);
    const v = splitHeads(proj('v_proj', p.qkvBias), nkv, hd);
    const ctx = refAttention(q, k, v, 1 / Math.sqrt(hd), p.windows[l]);
    x = add(x, linear(ctx, w(W, `${b}self_attn.o_proj.weight`), optional(W, `${b}self_attn.o_proj.bias`, p.oBias)));
    const m = rmsNorm(x, w(W, `${b}post_attention_layernorm.weight`), p.eps);
    const gate = linear(m, w(W, `${b}mlp.gate_proj.weight`), optional(W, `${b}mlp.gate_proj.bias`, p.mlpBias));
    const up = linear(m, w(W, `${b}mlp.up_proj.weight`), optional(W, `${b}mlp.up_proj.bias`, p.mlpBias));
    const inner = gate.map((r, t) => r.map((g, i) => refAct(p.act, g) * up[t][i]));
    x = add(x, linear(inner, w(W, `${b}mlp.down_proj.weight`), optional(W, `${b}mlp.down_proj.bias`, p.mlpBias)));
  }
  return rmsNorm(x, w(W, 'model.norm.weight'), p.eps);
}

/** Last hidden states [T][H] (after the final norm) of one unpadded sequence. */
export function referenceCausalHidden(cfg: CausalRefConfig, weights: CausalRefWeights, ids: number[]): Mat {
  const p = parseCausalRefConfig(cfg);
  if (ids.length === 0) throw new Error('reference-causal: empty sequence');
  if (p.layout === 'gpt2') return gpt2Hidden(p, weights, ids);
  if (p.layout === 'gpt_neox') return neoxHidden(p, weights, ids);
  return llamaHidden(p, weights, ids);
}

/** The LM-head weight [V, H] the config uses (the token embeddings when tied). */
export function refHeadWeight(cfg: CausalRefConfig, weights: CausalRefWeights): CausalRefTensor {
  const p = parseCausalRefConfig(cfg);
  if (p.layout === 'gpt2') return w(weights, 'transformer.wte.weight');
  if (p.layout === 'gpt_neox') return w(weights, p.tied ? 'gpt_neox.embed_in.weight' : 'embed_out.weight');
  return w(weights, p.tied ? 'model.embed_tokens.weight' : 'lm_head.weight');
}

/** Next-token logits [T][V] at every position of one unpadded sequence of token ids. */
export function referenceCausalLogits(cfg: CausalRefConfig, weights: CausalRefWeights, ids: number[]): number[][] {
  return linear(referenceCausalHidden(cfg, weights, ids), refHeadWeight(cfg, weights));
}
