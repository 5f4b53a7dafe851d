/**
 * ModernBERT's config.json (transformers ModernBertConfig, model_type "modernbert") → ModernBertConfig, and back.
 * Missing keys take ModernBertConfig's defaults (save_pretrained omits keys equal to them); errors name the file and
 * the key. What the layout is: modernbert/forward.ts.
 */
import { configReader, type ConfigReader } from '../causal/config-reader';

export const MODERNBERT_MODEL_TYPE = 'modernbert';

export interface ModernBertConfig {
  readonly modelType: typeof MODERNBERT_MODEL_TYPE;
  readonly vocabSize: number; // V
  readonly hiddenSize: number; // H
  readonly numLayers: number;
  readonly numHeads: number; // nh; head size hs = H / nh
  readonly headDim: number; // hs
  readonly intermediateSize: number; // I: Wi is [2·I, H] (the GeGLU's input and gate halves)
  /** Longest input (rotary positions: no table; config max_position_embeddings). */
  readonly maxPositions: number;
  readonly normEps: number;
  /** LayerNorms with a β (config norm_bias; false in every released checkpoint). */
  readonly normBias: boolean;
  /** The GeGLU's activation (hidden_activation, exact erf GELU by default) and the MLM head's (classifier_activation). */
  readonly hiddenAct: string;
  readonly headAct: string;
  /** Biases on Wqkv and Wo (attention_bias), on Wi and the MLP's Wo (mlp_bias), on head.dense (classifier_bias). */
  readonly attentionBias: boolean;
  readonly mlpBias: boolean;
  readonly headBias: boolean;
  /** The decoder's vocabulary bias (decoder_bias). */
  readonly decoderBias: boolean;
  /** The decoder weight is the token embedding matrix (tie_word_embeddings, default true). */
  readonly tieWordEmbeddings: boolean;
  /**
   * Per layer, whether it attends globally: layer i iff i % global_attn_every_n_layers = 0, or, where config.json has
   * transformers v5's `layer_types`, iff its entry is "full_attention" (else "sliding_attention": local).
   */
  readonly globalLayers: readonly boolean[];
  /** Local layers: query i reads key j only if |i − j| ≤ ⌊localAttention / 2⌋ (config local_attention). */
  readonly localAttention: number;
  /** Rotary bases of the global and the local layers (global_rope_theta; local_rope_theta, null: the global one). */
  readonly globalRopeTheta: number;
  readonly localRopeTheta: number;
  readonly padTokenId: number;
  /** Dropout rates, used only when training (all 0 in the released configs). */
  readonly embeddingDropout: number;
  readonly attentionDropout: number;
  readonly mlpDropout: number;
}

/** ModernBertConfig's defaults (answerdotai/ModernBERT-base's values). */
const DEFAULTS: Record<string, unknown> = {
  vocab_size: 50368, hidden_size: 768, intermediate_size: 1152, num_hidden_layers: 22, num_attention_heads: 12,
  hidden_activation: 'gelu', max_position_embeddings: 8192, norm_eps: 1e-5, norm_bias: false, pad_token_id: 50283,
  global_rope_theta: 160000, local_rope_theta: 10000, attention_bias: false, attention_dropout: 0,
  global_attn_every_n_layers: 3, local_attention: 128, embedding_dropout: 0, mlp_bias: false, mlp_dropout: 0,
  decoder_bias: true, classifier_activation: 'gelu', classifier_bias: false, tie_word_embeddings: true,
};

export function isModernBertType(modelType: unknown): boolean {
  return modelType === MODERNBERT_MODEL_TYPE;
}

export function parseModernBertConfig(raw: Record<string, unknown>, file: string): ModernBertConfig {
  if (!isModernBertType(raw.model_type)) throw new Error(`${file}: model_type ${JSON.stringify(raw.model_type ?? null)} is not "modernbert".`);
  const r = configReader(raw, DEFAULTS, file);
  const H = r.int('hidden_size', 1);
  const nh = r.int('num_attention_heads', 1);
  if (H % nh !== 0) throw r.error(`"hidden_size" ${H} is not divisible by "num_attention_heads" ${nh}.`);
  const hs = H / nh;
  if (hs % 2 !== 0) throw r.error(`head size ${hs} (hidden_size / num_attention_heads) must be even for rotary embeddings.`);
  const numLayers = r.int('num_hidden_layers', 1);
  const { globalRopeTheta, localRopeTheta } = ropeThetas(r, raw.rope_parameters, file);
  return {
    modelType: MODERNBERT_MODEL_TYPE,
    vocabSize: r.int('vocab_size', 1),
    hiddenSize: H,
    numLayers,
    numHeads: nh,
    headDim: hs,
    intermediateSize: r.int('intermediate_size', 1),
    maxPositions: r.int('max_position_embeddings', 1),
    normEps: r.num('norm_eps', 0, 1),
    normBias: r.bool('norm_bias'),
    hiddenAct: r.activation('hidden_activation'),
    headAct: r.activation('classifier_activation'),
    attentionBias: r.bool('attention_bias'),
    mlpBias: r.bool('mlp_bias'),
    headBias: r.bool('classifier_bias'),
    decoderBias: r.bool('decoder_bias'),
    tieWordEmbeddings: r.bool('tie_word_embeddings'),
    globalLayers: globalLayers(r, raw.layer_types, numLayers, file),
    localAttention: r.int('local_attention', 0),
    globalRopeTheta,
    localRopeTheta,
    padTokenId: r.int('pad_token_id', 0),
    embeddingDropout: r.num('embedding_dropout', 0, 0.999),
    attentionDropout: r.num('attention_dropout', 0, 0.999),
    mlpDropout: r.num('mlp_dropout', 0, 0.999),
  };
}

/** Which layers attend globally: `layer_types` (v5) where given, else i % global_attn_every_n_layers = 0. */
function globalLayers(r: ConfigReader, layerTypes: unknown, numLayers: number, file: string): boolean[] {
  if (layerTypes === undefined || layerTypes === null) {
    const every = r.int('global_attn_every_n_layers', 1);
    return Array.from({ length: numLayers }, (_, i) => i % every === 0);
  }
  if (!Array.isArray(layerTypes) || layerTypes.length !== numLayers || layerTypes.some((t) => t !== 'full_attention' && t !== 'sliding_attention')) {
    throw new Error(`${file}: "layer_types" must list "full_attention" or "sliding_attention" for each of the ${numLayers} layers, found ${JSON.stringify(layerTypes)}.`);
  }
  return layerTypes.map((t) => t === 'full_attention');
}

/**
 * The rotary bases of the global and the local layers: v5's `rope_parameters.{full_attention,sliding_attention}
 * .rope_theta` where given (rope_type "default" only), else global_rope_theta and local_rope_theta (null: the global
 * one), each falling back to ModernBertConfig's default as transformers does.
 */
function ropeThetas(r: ConfigReader, ropeParameters: unknown, file: string): { globalRopeTheta: number; localRopeTheta: number } {
  const fromV5 = (kind: string): number | undefined => {
    if (ropeParameters === undefined || ropeParameters === null) return undefined;
    const p = (ropeParameters as Record<string, unknown>)[kind];
    if (p === undefined || p === null) return undefined;
    const o = p as Record<string, unknown>;
    if (typeof p !== 'object' || (o.rope_type ?? 'default') !== 'default' || (o.rope_theta !== undefined && !(typeof o.rope_theta === 'number' && o.rope_theta > 0))) {
      throw new Error(`${file}: "rope_parameters.${kind}" must be {"rope_type": "default", "rope_theta": θ > 0}; found ${JSON.stringify(p)} (rotary scaling is not supported for ModernBERT).`);
    }
    return o.rope_theta as number | undefined;
  };
  const globalRopeTheta = fromV5('full_attention') ?? r.num('global_rope_theta', Number.MIN_VALUE, Infinity);
  const local = fromV5('sliding_attention');
  if (local !== undefined) return { globalRopeTheta, localRopeTheta: local };
  return { globalRopeTheta, localRopeTheta: r.get('local_rope_theta') === null ? globalRopeTheta : r.num('local_rope_theta', Number.MIN_VALUE, Infinity) };
}

/** N where layer i is global iff i % N = 0 (what v4's global_attn_every_n_layers can say), else undefined. */
function globalEvery(globalLayers: readonly boolean[]): number | undefined {
  for (let n = 1; n <= Math.max(1, globalLayers.length); n++) {
    if (globalLayers.every((g, i) => g === (i % n === 0))) return n;
  }
  return undefined;
}

export function modernBertConfigToJson(config: ModernBertConfig): Record<string, unknown> {
  return {
    architectures: ['ModernBertForMaskedLM'],
    model_type: MODERNBERT_MODEL_TYPE,
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    hidden_activation: config.hiddenAct,
    max_position_embeddings: config.maxPositions,
    norm_eps: config.normEps,
    norm_bias: config.normBias,
    pad_token_id: config.padTokenId,
    global_rope_theta: config.globalRopeTheta,
    local_rope_theta: config.localRopeTheta,
    attention_bias: config.attentionBias,
    attention_dropout: config.attentionDropout,
    // Both spellings: v4 reads global_attn_every_n_layers, v5 layer_types (which wins where both are given).
    ...(globalEvery(config.globalLayers) !== undefined ? { global_attn_every_n_layers: globalEvery(config.globalLayers) } : {}),
    layer_types: config.globalLayers.map((g) => (g ? 'full_attention' : 'sliding_attention')),
    local_attention: config.localAttention,
    embedding_dropout: config.embeddingDropout,
    mlp_bias: config.mlpBias,
    mlp_dropout: config.mlpDropout,
    decoder_bias: config.decoderBias,
    classifier_activation: config.headAct,
    classifier_bias: config.headBias,
    tie_word_embeddings: config.tieWordEmbeddings,
  };
}

/** Whether layer i attends globally, as ModernBertAttention decides (ModernBertConfig.globalLayers). */
export function isGlobalLayer(config: ModernBertConfig, i: number): boolean {
  return config.globalLayers[i];
}
