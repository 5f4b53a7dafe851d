/**
 * An independent float64 implementation of BertForMaskedLM / RobertaForMaskedLM inference (no tfjs), written from
 * the Hugging Face model definitions, to check the engine's tfjs model against. Plain arrays and loops; slow, so
 * only for tiny models. Padded keys are left out of the softmax entirely (rather than given a large negative score).
 */

export interface RefTensor { shape: number[]; values: Float64Array }
export type RefWeights = Map<string, RefTensor>;

/** The config.json fields the reference reads (HF names). */
export interface RefConfig {
  model_type: 'bert' | 'roberta';
  vocab_size: number; hidden_size: number; num_hidden_layers: number; num_attention_heads: number;
  intermediate_size: number; layer_norm_eps: number; hidden_act: string; pad_token_id: number;
  tie_word_embeddings: boolean;
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

/** Position ids of one sequence, as HF computes them. */
export function refPositionIds(cfg: RefConfig, ids: number[]): number[] {
  if (cfg.model_type === 'bert') return ids.map((_, t) => t);
  let count = 0;
  return ids.map((id) => (id === cfg.pad_token_id ? cfg.pad_token_id : cfg.pad_token_id + ++count));
}

/** The hidden states [T][H] of one sequence. */
function encodeOne(cfg: RefConfig, W: RefWeights, ids: number[], mask: number[], types: number[]): Mat {
  const p = cfg.model_type === 'bert' ? 'bert.' : 'roberta.';
  const eps = cfg.layer_norm_eps;
  const H = cfg.hidden_size;
  const nh = cfg.num_attention_heads;
  const hs = H / nh;
  const pos = refPositionIds(cfg, ids);
  let x: Mat = ids.map((id, t) => {
    const a = embeddingRow(w(W, `${p}embeddings.word_embeddings.weight`), id);
    const b = embeddingRow(w(W, `${p}embeddings.position_embeddings.weight`), pos[t]);
    const c = embeddingRow(w(W, `${p}embeddings.token_type_embeddings.weight`), types[t]);
    return a.map((v, i) => v + b[i] + c[i]);
  });
  x = layerNorm(x, w(W, `${p}embeddings.LayerNorm.weight`), w(W, `${p}embeddings.LayerNorm.bias`), eps);
  const T = ids.length;
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const L = `${p}encoder.layer.${l}.`;
    const lin = (name: string, input: Mat): Mat => linear(input, w(W, `${L}${name}.weight`), w(W, `${L}${name}.bias`));
    const q = lin('attention.self.query', x);
    const k = lin('attention.self.key', x);
    const v = lin('attention.self.value', x);
    const ctx: Mat = Array.from({ length: T }, () => new Array<number>(H).fill(0));
    for (let h = 0; h < nh; h++) {
      for (let i = 0; i < T; i++) {
        const keys = [...Array(T).keys()].filter((j) => mask[j] === 1);
        const scores = keys.map((j) => {
          let s = 0;
          for (let d = 0; d < hs; d++) s += q[i][h * hs + d] * k[j][h * hs + d];
          return s / Math.sqrt(hs);
        });
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        keys.forEach((j, n) => {
          for (let d = 0; d < hs; d++) ctx[i][h * hs + d] += (e[n] / z) * v[j][h * hs + d];
        });
      }
    }
    const attn = layerNorm(add(lin('attention.output.dense', ctx), x),
      w(W, `${L}attention.output.LayerNorm.weight`), w(W, `${L}attention.output.LayerNorm.bias`), eps);
    const inner = lin('intermediate.dense', attn).map((row) => row.map((u) => act(cfg.hidden_act, u)));
    x = layerNorm(add(lin('output.dense', inner), attn),
      w(W, `${L}output.LayerNorm.weight`), w(W, `${L}output.LayerNorm.bias`), eps);
  }
  return x;
}

/** MLM logits [T][V] of every position of one hidden-state sequence. */
function headOne(cfg: RefConfig, W: RefWeights, x: Mat): Mat {
  const bert = cfg.model_type === 'bert';
  const n = (s: string): string => (bert ? `cls.predictions.${s}` : `lm_head.${s}`);
  const dense = bert ? n('transform.dense') : n('dense');
  const norm = bert ? n('transform.LayerNorm') : n('layer_norm');
  let t = linear(x, w(W, `${dense}.weight`), w(W, `${dense}.bias`)).map((row) => row.map((u) => act(cfg.hidden_act, u)));
  t = layerNorm(t, w(W, `${norm}.weight`), w(W, `${norm}.bias`), cfg.layer_norm_eps);
  const decoder = cfg.tie_word_embeddings
    ? w(W, `${bert ? 'bert' : 'roberta'}.embeddings.word_embeddings.weight`) : w(W, n('decoder.weight'));
  return linear(t, decoder, w(W, n('bias')));
}

/** Logits [B][T][V] for a batch (ids, mask and token types as nested arrays). */
export function referenceMlmLogits(
  cfg: RefConfig, weights: RefWeights, inputIds: number[][], attentionMask: number[][], tokenTypeIds?: number[][],
): number[][][] {
  return inputIds.map((ids, b) => headOne(cfg, weights,
    encodeOne(cfg, weights, ids, attentionMask[b], tokenTypeIds?.[b] ?? ids.map(() => 0))));
}
