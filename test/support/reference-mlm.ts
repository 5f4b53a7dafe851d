/**
 * An independent float64 implementation of masked-LM inference (no tfjs), written from the Hugging Face model
 * definitions, to check the engine's tfjs model against: BertForMaskedLM, RobertaForMaskedLM, XLMRobertaForMaskedLM
 * (RobertaForMaskedLM's code under another name: `roberta.` tensors, pad-aware positions), DistilBertForMaskedLM
 * (modeling_distilbert.py: its own config keys, no token types, LayerNorm eps fixed at 1e-12, q scaled by 1/√hs before
 * q·kᵀ, vocab_transform → activation → vocab_layer_norm → vocab_projector) and ElectraForMaskedLM (modeling_electra.py:
 * embedding tables of width embedding_size E, `electra.embeddings_project` H×E when E ≠ H, a generator head
 * generator_predictions.dense H→E → GELU (exact, hard-coded whatever hidden_act) → LayerNorm → generator_lm_head) and
 * AlbertForMaskedLM (modeling_albert.py: E-wide embeddings, `albert.encoder.embedding_hidden_mapping_in` E→H always,
 * then the one layer albert_layer_groups.0.albert_layers.0 applied num_hidden_layers times — attention.{query,key,
 * value,dense} → attention.LayerNorm, ffn → hidden_act → ffn_output → full_layer_layer_norm — and AlbertMLMHead:
 * predictions.dense H→E → hidden_act → predictions.LayerNorm → decoder (the word embeddings when tied) + bias, the
 * bias read from predictions.bias or, where a file has only that name, predictions.decoder.bias).
 * Plain arrays and loops; slow, so only for tiny models. Padded keys are left out of the softmax entirely (rather
 * than given a large negative score).
 */

export interface RefTensor { shape: number[]; values: Float64Array }
export type RefWeights = Map<string, RefTensor>;

/** The config.json fields the reference reads (HF names; DistilBERT's config uses its own). */
export interface RefConfig {
  model_type: 'bert' | 'roberta' | 'xlm-roberta' | 'distilbert' | 'electra' | 'albert';
  vocab_size: number; pad_token_id: number; tie_word_embeddings: boolean;
  /** BertConfig-style keys (bert, roberta, xlm-roberta, electra). */
  hidden_size?: number; num_hidden_layers?: number; num_attention_heads?: number; intermediate_size?: number;
  layer_norm_eps?: number; hidden_act?: string;
  /** ElectraConfig, AlbertConfig: width of the embeddings (default 128). */
  embedding_size?: number;
  /** DistilBertConfig keys. */
  dim?: number; n_layers?: number; n_heads?: number; hidden_dim?: number; activation?: string;
}

/** The sizes every family shares, read from its own config keys. */
interface Dims { H: number; E: number; layers: number; heads: number; eps: number; act: string }

function dims(cfg: RefConfig): Dims {
  const need = (v: number | string | undefined, key: string): number | string => {
    if (v === undefined) throw new Error(`reference-mlm: config lacks ${key}`);
    return v;
  };
  if (cfg.model_type === 'distilbert') {
    const H = need(cfg.dim, 'dim') as number;
    return { H, E: H, layers: need(cfg.n_layers, 'n_layers') as number, heads: need(cfg.n_heads, 'n_heads') as number, eps: 1e-12, act: cfg.activation ?? 'gelu' };
  }
  const H = need(cfg.hidden_size, 'hidden_size') as number;
  return {
    H,
    E: cfg.model_type === 'electra' || cfg.model_type === 'albert' ? cfg.embedding_size ?? 128 : H,
    layers: need(cfg.num_hidden_layers, 'num_hidden_layers') as number,
    heads: need(cfg.num_attention_heads, 'num_attention_heads') as number,
    eps: cfg.layer_norm_eps ?? 1e-12,
    act: cfg.hidden_act ?? 'gelu',
  };
}

/** erf to ~1e-15: Maclaurin series for |x| < 3, Laplace continued fraction for erfc beyond. */
export function erf64(x: number): number {
  const ax = Math.abs(x);
  if (ax < 3) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= -x * x / n; // (−1)ⁿ x^(2n+1) / n!
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  let f = ax;
  for (let k = 80; k >= 1; k--) f = ax + (k / 2) / f;
  const erfc = Math.exp(-ax * ax) / (Math.sqrt(Math.PI) * f);
  return Math.sign(x) * (1 - erfc);
}

function act(kind: string, x: number): number {
  switch (kind) {
    case 'gelu': return 0.5 * x * (1 + erf64(x / Math.SQRT2));
    case 'gelu_new':
    case 'gelu_pytorch_tanh': return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
    case 'relu': return Math.max(0, x);
    default: throw new Error(`reference-mlm: unknown hidden_act ${kind}`);
  }
}

type Mat = number[][]; // rows × cols

function w(weights: RefWeights, name: string): RefTensor {
  const t = weights.get(name);
  if (!t) throw new Error(`reference-mlm: no weight ${name}`);
  return t;
}

/** x [N][in] · Wᵀ + b, W stored [out, in]. */
function linear(x: Mat, W: RefTensor, b: RefTensor): Mat {
  const [out, inp] = W.shape;
  return x.map((row) => {
    const y = new Array<number>(out);
    for (let o = 0; o < out; o++) {
      let s = b.values[o];
      for (let i = 0; i < inp; i++) s += row[i] * W.values[o * inp + i];
      y[o] = s;
    }
    return y;
  });
}

function layerNorm(x: Mat, g: RefTensor, b: RefTensor, eps: number): Mat {
  return x.map((row) => {
    const n = row.length;
    const mean = row.reduce((s, v) => s + v, 0) / n;
    const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
    const inv = 1 / Math.sqrt(variance + eps);
    return row.map((v, i) => (v - mean) * inv * g.values[i] + b.values[i]);
  });
}

function add(a: Mat, b: Mat): Mat {
  return a.map((row, i) => row.map((v, j) => v + b[i][j]));
}

function embeddingRow(t: RefTensor, row: number): number[] {
  const H = t.shape[1];
  if (row < 0 || row >= t.shape[0]) throw new Error(`reference-mlm: row ${row} outside table of ${t.shape[0]}`);
  return Array.from(t.values.subarray(row * H, (row + 1) * H));
}

/** Position ids of one sequence, as HF computes them (RoBERTa's create_position_ids_from_input_ids for (XLM-)RoBERTa). */
export function refPositionIds(cfg: RefConfig, ids: number[]): number[] {
  if (cfg.model_type !== 'roberta' && cfg.model_type !== 'xlm-roberta') return ids.map((_, t) => t);
  let count = 0;
  return ids.map((id) => (id === cfg.pad_token_id ? cfg.pad_token_id : cfg.pad_token_id + ++count));
}

/** Attention over the real keys of one head: ctx[i] = Σ_j softmax_j(q_i·k_j / √hs) v_j (DistilBERT: (q_i/√hs)·k_j). */
function attention(q: Mat, k: Mat, v: Mat, mask: number[], nh: number, scaleQueryFirst: boolean): Mat {
  const T = q.length;
  const H = q[0].length;
  const hs = H / nh;
  const ctx: Mat = Array.from({ length: T }, () => new Array<number>(H).fill(0));
  const keys = [...Array(T).keys()].filter((j) => mask[j] === 1);
  for (let h = 0; h < nh; h++) {
    for (let i = 0; i < T; i++) {
      const scores = keys.map((j) => {
        let s = 0;
        if (scaleQueryFirst) for (let d = 0; d < hs; d++) s += (q[i][h * hs + d] / Math.sqrt(hs)) * k[j][h * hs + d];
        else {
          for (let d = 0; d < hs; d++) s += q[i][h * hs + d] * k[j][h * hs + d];
          s /= Math.sqrt(hs);
        }
        return s;
      });
      const m = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - m));
      const z = e.reduce((a, b) => a + b, 0);
      keys.forEach((j, n) => {
        for (let d = 0; d < hs; d++) ctx[i][h * hs + d] += (e[n] / z) * v[j][h * hs + d];
      });
    }
  }
  return ctx;
}

/** DistilBERT's transformer (modeling_distilbert.py Embeddings + TransformerBlock): hidden states [T][H]. */
function encodeDistilBert(cfg: RefConfig, W: RefWeights, ids: number[], mask: number[]): Mat {
  const d = dims(cfg);
  const lin = (name: string, input: Mat): Mat => linear(input, w(W, `${name}.weight`), w(W, `${name}.bias`));
  const ln = (name: string, input: Mat): Mat => layerNorm(input, w(W, `${name}.weight`), w(W, `${name}.bias`), 1e-12);
  let x: Mat = ids.map((id, t) => {
    const a = embeddingRow(w(W, 'distilbert.embeddings.word_embeddings.weight'), id);
    const b = embeddingRow(w(W, 'distilbert.embeddings.position_embeddings.weight'), t);
    return a.map((v, i) => v + b[i]);
  });
  x = ln('distilbert.embeddings.LayerNorm', x);
  for (let l = 0; l < d.layers; l++) {
    const L = `distilbert.transformer.layer.${l}.`;
    const ctx = attention(lin(`${L}attention.q_lin`, x), lin(`${L}attention.k_lin`, x), lin(`${L}attention.v_lin`, x), mask, d.heads, true);
    const sa = ln(`${L}sa_layer_norm`, add(lin(`${L}attention.out_lin`, ctx), x));
    const ffn = lin(`${L}ffn.lin2`, lin(`${L}ffn.lin1`, sa).map((row) => row.map((u) => act(d.act, u))));
    x = ln(`${L}output_layer_norm`, add(ffn, sa));
  }
  return x;
}

/** ALBERT's encoder (modeling_albert.py AlbertEmbeddings + AlbertTransformer): hidden states [T][H]. */
function encodeAlbert(cfg: RefConfig, W: RefWeights, ids: number[], mask: number[], types: number[]): Mat {
  const d = dims(cfg);
  let x: Mat = ids.map((id, t) => {
    const a = embeddingRow(w(W, 'albert.embeddings.word_embeddings.weight'), id);
    const b = embeddingRow(w(W, 'albert.embeddings.position_embeddings.weight'), t);
    const c = embeddingRow(w(W, 'albert.embeddings.token_type_embeddings.weight'), types[t]);
    return a.map((v, i) => v + b[i] + c[i]); // [E]
  });
  x = layerNorm(x, w(W, 'albert.embeddings.LayerNorm.weight'), w(W, 'albert.embeddings.LayerNorm.bias'), d.eps);
  x = linear(x, w(W, 'albert.encoder.embedding_hidden_mapping_in.weight'), w(W, 'albert.encoder.embedding_hidden_mapping_in.bias')); // [T][H]
  const L = 'albert.encoder.albert_layer_groups.0.albert_layers.0.'; // the same weights at every depth
  const lin = (name: string, input: Mat): Mat => linear(input, w(W, `${L}${name}.weight`), w(W, `${L}${name}.bias`));
  const ln = (name: string, input: Mat): Mat => layerNorm(input, w(W, `${L}${name}.weight`), w(W, `${L}${name}.bias`), d.eps);
  for (let depth = 0; depth < d.layers; depth++) {
    const ctx = attention(lin('attention.query', x), lin('attention.key', x), lin('attention.value', x), mask, d.heads, false);
    const attn = ln('attention.LayerNorm', add(lin('attention.dense', ctx), x));
    const ffn = lin('ffn_output', lin('ffn', attn).map((row) => row.map((u) => act(d.act, u))));
    x = ln('full_layer_layer_norm', add(ffn, attn));
  }
  return x;
}

/** The hidden states [T][H] of one sequence. */
function encodeOne(cfg: RefConfig, W: RefWeights, ids: number[], mask: number[], types: number[]): Mat {
  if (cfg.model_type === 'distilbert') return encodeDistilBert(cfg, W, ids, mask);
  if (cfg.model_type === 'albert') return encodeAlbert(cfg, W, ids, mask, types);
  const p = cfg.model_type === 'bert' ? 'bert.' : cfg.model_type === 'electra' ? 'electra.' : 'roberta.';
  const d = dims(cfg);
  const eps = d.eps;
  const pos = refPositionIds(cfg, ids);
  let x: Mat = ids.map((id, t) => {
    const a = embeddingRow(w(W, `${p}embeddings.word_embeddings.weight`), id);
    const b = embeddingRow(w(W, `${p}embeddings.position_embeddings.weight`), pos[t]);
    const c = embeddingRow(w(W, `${p}embeddings.token_type_embeddings.weight`), types[t]);
    return a.map((v, i) => v + b[i] + c[i]);
  });
  x = layerNorm(x, w(W, `${p}embeddings.LayerNorm.weight`), w(W, `${p}embeddings.LayerNorm.bias`), eps);
  if (cfg.model_type === 'electra' && d.E !== d.H) {
    x = linear(x, w(W, 'electra.embeddings_project.weight'), w(W, 'electra.embeddings_project.bias')); // [T][H]
  }
  for (let l = 0; l < d.layers; l++) {
    const L = `${p}encoder.layer.${l}.`;
    const lin = (name: string, input: Mat): Mat => linear(input, w(W, `${L}${name}.weight`), w(W, `${L}${name}.bias`));
    const ctx = attention(lin('attention.self.query', x), lin('attention.self.key', x), lin('attention.self.value', x), mask, d.heads, false);
    const attn = layerNorm(add(lin('attention.output.dense', ctx), x),
      w(W, `${L}attention.output.LayerNorm.weight`), w(W, `${L}attention.output.LayerNorm.bias`), eps);
    const inner = lin('intermediate.dense', attn).map((row) => row.map((u) => act(d.act, u)));
    x = layerNorm(add(lin('output.dense', inner), attn),
      w(W, `${L}output.LayerNorm.weight`), w(W, `${L}output.LayerNorm.bias`), eps);
  }
  return x;
}

/** MLM logits [T][V] of every position of one hidden-state sequence. */
function headOne(cfg: RefConfig, W: RefWeights, x: Mat): Mat {
  const d = dims(cfg);
  // [transform dense, LayerNorm, bias, untied decoder, word embeddings, head activation, head LayerNorm eps]
  const names: Record<RefConfig['model_type'], [string, string, string, string, string, string, number]> = {
    bert: ['cls.predictions.transform.dense', 'cls.predictions.transform.LayerNorm', 'cls.predictions.bias',
      'cls.predictions.decoder.weight', 'bert.embeddings.word_embeddings.weight', d.act, d.eps],
    roberta: ['lm_head.dense', 'lm_head.layer_norm', 'lm_head.bias', 'lm_head.decoder.weight',
      'roberta.embeddings.word_embeddings.weight', d.act, d.eps],
    'xlm-roberta': ['lm_head.dense', 'lm_head.layer_norm', 'lm_head.bias', 'lm_head.decoder.weight',
      'roberta.embeddings.word_embeddings.weight', d.act, d.eps],
    distilbert: ['vocab_transform', 'vocab_layer_norm', 'vocab_projector.bias', 'vocab_projector.weight',
      'distilbert.embeddings.word_embeddings.weight', d.act, 1e-12],
    electra: ['generator_predictions.dense', 'generator_predictions.LayerNorm', 'generator_lm_head.bias',
      'generator_lm_head.weight', 'electra.embeddings.word_embeddings.weight', 'gelu', d.eps],
    albert: ['predictions.dense', 'predictions.LayerNorm', W.has('predictions.bias') ? 'predictions.bias' : 'predictions.decoder.bias',
      'predictions.decoder.weight', 'albert.embeddings.word_embeddings.weight', d.act, d.eps],
  };
  const [dense, norm, bias, decoderName, word, headAct, headEps] = names[cfg.model_type];
  let t = linear(x, w(W, `${dense}.weight`), w(W, `${dense}.bias`)).map((row) => row.map((u) => act(headAct, u)));
  t = layerNorm(t, w(W, `${norm}.weight`), w(W, `${norm}.bias`), headEps);
  const decoder = cfg.tie_word_embeddings ? w(W, word) : w(W, decoderName);
  return linear(t, decoder, w(W, bias));
}

/** Logits [B][T][V] for a batch (ids, mask and token types as nested arrays; DistilBERT ignores token types). */
export function referenceMlmLogits(
  cfg: RefConfig, weights: RefWeights, inputIds: number[][], attentionMask: number[][], tokenTypeIds?: number[][],
): number[][][] {
  return inputIds.map((ids, b) => headOne(cfg, weights,
    encodeOne(cfg, weights, ids, attentionMask[b], tokenTypeIds?.[b] ?? ids.map(() => 0))));
}
