/**
 * Writes tiny random masked-LM checkpoints (BERT, RoBERTa, XLM-RoBERTa, DistilBERT, ELECTRA generator, ALBERT) for tests, with its own safetensors writer and its own
 * list of Hugging Face tensor names (independent of src/engine/model), and returns the float64 weights for
 * reference-mlm.ts. Values are random but chosen exactly representable in the stored dtype, so the reference sees
 * precisely what the loader should read. Scales give logits of order 1 and non-trivial biases and LayerNorms.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { RefConfig, RefTensor, RefWeights } from './reference-mlm';
import { mulberry32 } from '../../src/engine/util/random';

export interface TinySpec {
  modelType: 'bert' | 'roberta' | 'xlm-roberta' | 'distilbert' | 'electra' | 'albert';
  /** ELECTRA, ALBERT: embedding_size E (default 12, ≠ hidden 16, so ELECTRA's embeddings_project exists). */
  embeddingSize?: number;
  /** ALBERT: which names hold the vocabulary bias (default 'bias': predictions.bias; 'decoder': predictions.decoder.bias only; 'both'). */
  albertBias?: 'bias' | 'decoder' | 'both';
  dtype?: 'F32' | 'F16' | 'BF16';
  shards?: number; // > 1 writes model.safetensors.index.json and shards
  tied?: boolean; // default true
  stripPrefix?: boolean; // store backbone keys without their prefix (bert./roberta./distilbert./electra., as bare BertModel checkpoints do)
  extras?: boolean; // add pooler weights (BERT, (XLM-)RoBERTa, ALBERT), an I64 position_ids buffer and (BERT) NSP head, (ALBERT) SOP head, which the loader must ignore
  hiddenAct?: string;
  seed?: number;
  layers?: number; // default 2 (ALBERT: 3, so that the shared layer is applied more than twice)
}

export interface TinyCheckpoint { dir: string; config: RefConfig & Record<string, unknown>; weights: RefWeights }

/** The engine's seeded PRNG (mulberry32), uniform in [0, 1). */
export const prng = mulberry32;

/** Rounds v so that it is exact in the dtype: multiples of 2⁻¹⁰ in (−2, 2) for F16, 2⁻⁷ for BF16, fround for F32. */
function representable(v: number, dtype: 'F32' | 'F16' | 'BF16'): number {
  if (dtype === 'F32') return Math.fround(v);
  const q = dtype === 'F16' ? 1024 : 128;
  return Math.max(-1.99, Math.min(1.99, Math.round(v * q) / q));
}

/** Half-precision bits of a value that is exactly representable (checked). */
function exactF16Bits(v: number): number {
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a === 0) return sign;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  let bits: number;
  if (e < -14) bits = a / 2 ** -24;
  else bits = ((e + 15) << 10) | ((a / 2 ** e - 1) * 1024);
  if (!Number.isInteger(bits)) throw new Error(`tiny-checkpoint: ${v} is not exact in F16`);
  return sign | bits;
}

/** The backbone prefix of each family's tensors (XLMRobertaForMaskedLM keeps RoBERTa's `roberta.`). */
export function tinyPrefix(modelType: TinySpec['modelType']): string {
  return modelType === 'xlm-roberta' ? 'roberta.' : `${modelType}.`;
}

/** The tensor names and shapes of a *ForMaskedLM, written out independently of the engine. */
function layout(cfg: RefConfig, maxPos: number, typeVocab: number): [string, number[]][] {
  const V = cfg.vocab_size;
  if (cfg.model_type === 'distilbert') {
    const H = cfg.dim!;
    const I = cfg.hidden_dim!;
    const out: [string, number[]][] = [
      ['distilbert.embeddings.word_embeddings.weight', [V, H]],
      ['distilbert.embeddings.position_embeddings.weight', [maxPos, H]],
      ['distilbert.embeddings.LayerNorm.weight', [H]], ['distilbert.embeddings.LayerNorm.bias', [H]],
    ];
    for (let l = 0; l < cfg.n_layers!; l++) {
      const L = `distilbert.transformer.layer.${l}.`;
      for (const m of ['q_lin', 'k_lin', 'v_lin', 'out_lin']) out.push([`${L}attention.${m}.weight`, [H, H]], [`${L}attention.${m}.bias`, [H]]);
      out.push([`${L}sa_layer_norm.weight`, [H]], [`${L}sa_layer_norm.bias`, [H]]);
      out.push([`${L}ffn.lin1.weight`, [I, H]], [`${L}ffn.lin1.bias`, [I]], [`${L}ffn.lin2.weight`, [H, I]], [`${L}ffn.lin2.bias`, [H]]);
      out.push([`${L}output_layer_norm.weight`, [H]], [`${L}output_layer_norm.bias`, [H]]);
    }
    out.push(['vocab_transform.weight', [H, H]], ['vocab_transform.bias', [H]]);
    out.push(['vocab_layer_norm.weight', [H]], ['vocab_layer_norm.bias', [H]], ['vocab_projector.bias', [V]]);
    if (!cfg.tie_word_embeddings) out.push(['vocab_projector.weight', [V, H]]);
    return out;
  }
  const H = cfg.hidden_size!;
  const I = cfg.intermediate_size!;
  if (cfg.model_type === 'albert') { // AlbertForMaskedLM: one layer group of one layer, whatever num_hidden_layers
    const E = cfg.embedding_size!;
    const L = 'albert.encoder.albert_layer_groups.0.albert_layers.0.';
    const out: [string, number[]][] = [
      ['albert.embeddings.word_embeddings.weight', [V, E]],
      ['albert.embeddings.position_embeddings.weight', [maxPos, E]],
      ['albert.embeddings.token_type_embeddings.weight', [typeVocab, E]],
      ['albert.embeddings.LayerNorm.weight', [E]], ['albert.embeddings.LayerNorm.bias', [E]],
      ['albert.encoder.embedding_hidden_mapping_in.weight', [H, E]], ['albert.encoder.embedding_hidden_mapping_in.bias', [H]],
    ];
    for (const m of ['query', 'key', 'value', 'dense']) out.push([`${L}attention.${m}.weight`, [H, H]], [`${L}attention.${m}.bias`, [H]]);
    out.push([`${L}attention.LayerNorm.weight`, [H]], [`${L}attention.LayerNorm.bias`, [H]]);
    out.push([`${L}ffn.weight`, [I, H]], [`${L}ffn.bias`, [I]], [`${L}ffn_output.weight`, [H, I]], [`${L}ffn_output.bias`, [H]]);
    out.push([`${L}full_layer_layer_norm.weight`, [H]], [`${L}full_layer_layer_norm.bias`, [H]]);
    out.push(['predictions.dense.weight', [E, H]], ['predictions.dense.bias', [E]]);
    out.push(['predictions.LayerNorm.weight', [E]], ['predictions.LayerNorm.bias', [E]], ['predictions.bias', [V]]);
    if (!cfg.tie_word_embeddings) out.push(['predictions.decoder.weight', [V, E]]);
    return out;
  }
  const E = cfg.model_type === 'electra' ? cfg.embedding_size! : H;
  const p = tinyPrefix(cfg.model_type);
  const out: [string, number[]][] = [
    [`${p}embeddings.word_embeddings.weight`, [V, E]],
    [`${p}embeddings.position_embeddings.weight`, [maxPos, E]],
    [`${p}embeddings.token_type_embeddings.weight`, [typeVocab, E]],
    [`${p}embeddings.LayerNorm.weight`, [E]], [`${p}embeddings.LayerNorm.bias`, [E]],
  ];
  if (E !== H) out.push([`${p}embeddings_project.weight`, [H, E]], [`${p}embeddings_project.bias`, [H]]);
  for (let l = 0; l < cfg.num_hidden_layers!; l++) {
    const L = `${p}encoder.layer.${l}.`;
    for (const m of ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense']) {
      out.push([`${L}${m}.weight`, [H, H]], [`${L}${m}.bias`, [H]]);
    }
    out.push([`${L}attention.output.LayerNorm.weight`, [H]], [`${L}attention.output.LayerNorm.bias`, [H]]);
    out.push([`${L}intermediate.dense.weight`, [I, H]], [`${L}intermediate.dense.bias`, [I]]);
    out.push([`${L}output.dense.weight`, [H, I]], [`${L}output.dense.bias`, [H]]);
    out.push([`${L}output.LayerNorm.weight`, [H]], [`${L}output.LayerNorm.bias`, [H]]);
  }
  const head = cfg.model_type === 'bert'
    ? ['cls.predictions.transform.dense', 'cls.predictions.transform.LayerNorm', 'cls.predictions.bias', 'cls.predictions.decoder.weight']
    : cfg.model_type === 'electra'
      ? ['generator_predictions.dense', 'generator_predictions.LayerNorm', 'generator_lm_head.bias', 'generator_lm_head.weight']
      : ['lm_head.dense', 'lm_head.layer_norm', 'lm_head.bias', 'lm_head.decoder.weight'];
  out.push([`${head[0]}.weight`, [E, H]], [`${head[0]}.bias`, [E]]);
  out.push([`${head[1]}.weight`, [E]], [`${head[1]}.bias`, [E]]);
  out.push([head[2], [V]]);
  if (!cfg.tie_word_embeddings) out.push([head[3], [V, E]]);
  return out;
}

interface RawTensor { name: string; dtype: string; shape: number[]; bytes: Uint8Array }

function encodeValues(values: Float64Array, dtype: 'F32' | 'F16' | 'BF16'): Uint8Array {
  const width = dtype === 'F32' ? 4 : 2;
  const out = new Uint8Array(values.length * width);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => {
    if (dtype === 'F32') view.setFloat32(4 * i, v, true);
    else if (dtype === 'F16') view.setUint16(2 * i, exactF16Bits(v), true);
    else {
      const f = new DataView(new ArrayBuffer(4));
      f.setFloat32(0, v);
      if (f.getUint16(2) !== 0) throw new Error(`tiny-checkpoint: ${v} is not exact in BF16`);
      view.setUint16(2 * i, f.getUint16(0), true);
    }
  });
  return out;
}

/** A safetensors file, written from scratch (no engine code). */
export function safetensorsBytes(tensors: RawTensor[]): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const out = Buffer.alloc(8 + json.length + offset);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  let p = 8 + json.length;
  for (const t of tensors) {
    out.set(t.bytes, p);
    p += t.bytes.length;
  }
  return out;
}

/** Writes config.json and weights into dir; returns the config and the float64 weights under prefixed names. */
export async function writeTinyCheckpoint(dir: string, spec: TinySpec): Promise<TinyCheckpoint> {
  const dtype = spec.dtype ?? 'F32';
  const roberta = spec.modelType === 'roberta' || spec.modelType === 'xlm-roberta';
  const architectures = {
    bert: 'BertForMaskedLM', roberta: 'RobertaForMaskedLM', 'xlm-roberta': 'XLMRobertaForMaskedLM',
    distilbert: 'DistilBertForMaskedLM', electra: 'ElectraForMaskedLM', albert: 'AlbertForMaskedLM',
  };
  const common = {
    architectures: [architectures[spec.modelType]], model_type: spec.modelType, vocab_size: 37, max_position_embeddings: 20,
    pad_token_id: roberta ? 1 : 0, tie_word_embeddings: spec.tied ?? true,
  };
  // DistilBertConfig has its own key names and no token types; the others are BertConfig-style.
  const config: Record<string, unknown> & RefConfig = spec.modelType === 'distilbert'
    ? {
      ...common, model_type: 'distilbert', dim: 16, n_layers: spec.layers ?? 2, n_heads: 4, hidden_dim: 24,
      activation: spec.hiddenAct ?? 'gelu', dropout: 0.1, attention_dropout: 0.1, sinusoidal_pos_embds: false,
      qa_dropout: 0.1, seq_classif_dropout: 0.2, initializer_range: 0.02,
    }
    : spec.modelType === 'albert'
      ? { // AlbertConfig as albert-base-v2 writes it (sizes shrunk)
        ...common, model_type: 'albert', embedding_size: spec.embeddingSize ?? 12, hidden_size: 16,
        num_hidden_layers: spec.layers ?? 3, num_hidden_groups: 1, inner_group_num: 1, num_attention_heads: 4,
        intermediate_size: 24, type_vocab_size: 2, layer_norm_eps: 1e-12, hidden_act: spec.hiddenAct ?? 'gelu_new',
        hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, classifier_dropout_prob: 0.1,
        position_embedding_type: 'absolute', bos_token_id: 2, eos_token_id: 3,
      }
      : {
        ...common, hidden_size: 16, num_hidden_layers: spec.layers ?? 2, num_attention_heads: 4,
        intermediate_size: 24, type_vocab_size: roberta ? 1 : 2,
        layer_norm_eps: roberta ? 1e-5 : 1e-12, hidden_act: spec.hiddenAct ?? 'gelu',
        hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1,
        ...(spec.modelType === 'electra' ? { embedding_size: spec.embeddingSize ?? 12 } : {}),
      };
  const rand = prng(spec.seed ?? 1234);
  const normalish = (): number => (rand() + rand() + rand() - 1.5) * 2; // mean 0, std 1, bounded by 3
  const weights: RefWeights = new Map();
  const raw: RawTensor[] = [];
  const prefix = tinyPrefix(spec.modelType);
  const maxPos = config.max_position_embeddings as number;
  for (const [name, shape] of layout(config, maxPos, (config.type_vocab_size as number | undefined) ?? 0)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = new Float64Array(n);
    const isNormWeight = /(LayerNorm|layer_norm)\.weight$/.test(name);
    const isBias = name.endsWith('bias');
    const isEmbedding = name.includes('embeddings.') || name.endsWith('decoder.weight')
      || name === 'vocab_projector.weight' || name === 'generator_lm_head.weight';
    const scale = isNormWeight ? 0.2 : isBias ? 0.1 : isEmbedding ? 0.5 : 1 / Math.sqrt(shape[1]);
    for (let i = 0; i < n; i++) values[i] = representable((isNormWeight ? 1 : 0) + scale * normalish(), dtype);
    // ALBERT's vocabulary bias under predictions.bias, predictions.decoder.bias (its alias in AlbertMLMHead) or both.
    const albertBias = spec.modelType === 'albert' && name === 'predictions.bias' ? spec.albertBias ?? 'bias' : undefined;
    const names = albertBias === 'decoder' ? ['predictions.decoder.bias'] : albertBias === 'both' ? [name, 'predictions.decoder.bias'] : [name];
    weights.set(names[0], { shape, values } satisfies RefTensor);
    for (const n of names) {
      const stored = spec.stripPrefix && n.startsWith(prefix) ? n.slice(prefix.length) : n;
      raw.push({ name: stored, dtype, shape, bytes: encodeValues(values, dtype) });
    }
  }
  if (spec.extras) {
    if (spec.modelType === 'bert' || roberta || spec.modelType === 'albert') { // DistilBERT and ELECTRA have no pooler
      const H = config.hidden_size!;
      const pooler = `${spec.stripPrefix ? '' : prefix}pooler${spec.modelType === 'albert' ? '' : '.dense'}`; // AlbertModel: pooler is the Linear itself
      raw.push({ name: `${pooler}.weight`, dtype, shape: [H, H], bytes: encodeValues(new Float64Array(H * H), dtype) });
      raw.push({ name: `${pooler}.bias`, dtype, shape: [H], bytes: encodeValues(new Float64Array(H), dtype) });
    }
    const posIds = new BigInt64Array(maxPos).map((_, i) => BigInt(i));
    raw.push({
      name: `${spec.stripPrefix ? '' : prefix}embeddings.position_ids`, dtype: 'I64',
      shape: [1, maxPos], bytes: new Uint8Array(posIds.buffer),
    });
    if (spec.modelType === 'bert') raw.push({ name: 'cls.seq_relationship.bias', dtype, shape: [2], bytes: encodeValues(new Float64Array(2), dtype) });
    if (spec.modelType === 'albert') raw.push({ name: 'sop_classifier.classifier.bias', dtype, shape: [2], bytes: encodeValues(new Float64Array(2), dtype) });
  }
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const shards = spec.shards ?? 1;
  if (shards === 1) {
    await fs.writeFile(path.join(dir, 'model.safetensors'), safetensorsBytes(raw));
  } else {
    const weightMap: Record<string, string> = {};
    const per = Math.ceil(raw.length / shards);
    for (let s = 0; s < shards; s++) {
      const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
      const part = raw.slice(s * per, (s + 1) * per);
      part.forEach((t) => { weightMap[t.name] = file; });
      await fs.writeFile(path.join(dir, file), safetensorsBytes(part));
    }
    await fs.writeFile(path.join(dir, 'model.safetensors.index.json'),
      JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
  }
  return { dir, config: config as TinyCheckpoint['config'], weights };
}
