/**
 * The Llama layout's configs (LlamaConfig, MistralConfig, Qwen2Config: model_type llama, mistral, qwen2; SmolLM and
 * TinyLlama are llama) → CausalConfig, and back. Missing keys take the defaults of that model_type's config class.
 * Biases as transformers builds the modules: Llama q/k/v/o per `attention_bias` and the MLP per `mlp_bias`; Mistral
 * none; Qwen2 q/k/v only.
 */
import { configReader, parseRopeScaling, ropeScalingToJson } from '../causal/config-reader';
import type { CausalConfig } from '../causal/types';

export const LLAMA_MODEL_TYPES = ['llama', 'mistral', 'qwen2'] as const;
type LlamaModelType = (typeof LLAMA_MODEL_TYPES)[number];

const COMMON: Record<string, unknown> = {
  vocab_size: 32000, hidden_size: 4096, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: null,
  head_dim: null, hidden_act: 'silu', rms_norm_eps: 1e-6, tie_word_embeddings: false, rope_theta: 10000,
  rope_scaling: null, attention_dropout: 0, pad_token_id: null,
};

const DEFAULTS: Record<LlamaModelType, Record<string, unknown>> = {
  llama: { ...COMMON, intermediate_size: 11008, max_position_embeddings: 2048, bos_token_id: 1, eos_token_id: 2, attention_bias: false, mlp_bias: false },
  mistral: { ...COMMON, intermediate_size: 14336, num_key_value_heads: 8, max_position_embeddings: 4096 * 32, bos_token_id: 1, eos_token_id: 2, sliding_window: 4096 },
  qwen2: {
    ...COMMON, vocab_size: 151936, intermediate_size: 22016, max_position_embeddings: 32768, bos_token_id: null, eos_token_id: null,
    use_sliding_window: false, sliding_window: 4096, max_window_layers: 28,
  },
};

/** Qwen2's window, when every layer uses it (use_sliding_window and max_window_layers 0); per-layer windows are refused. */
function qwen2SlidingWindow(r: ReturnType<typeof configReader>, numLayers: number): number | undefined {
  if (!r.bool('use_sliding_window')) return undefined;
  const window = r.optionalInt('sliding_window', 1);
  if (window === undefined) return undefined;
  const fullLayers = r.int('max_window_layers', 0); // layers below this index attend without the window
  if (fullLayers >= numLayers) return undefined;
  if (fullLayers > 0) {
    throw r.error(`"use_sliding_window": true with "max_window_layers" ${fullLayers} < ${numLayers} layers (a window on some `
      + 'layers only) is not supported.');
  }
  return window;
}

export function parseLlamaConfig(raw: Record<string, unknown>, file: string): CausalConfig {
  const modelType = raw.model_type as LlamaModelType;
  if (!LLAMA_MODEL_TYPES.includes(modelType)) {
    throw new Error(`${file}: model_type ${JSON.stringify(raw.model_type)} is not one of ${LLAMA_MODEL_TYPES.join(', ')}.`);
  }
  const r = configReader(raw, DEFAULTS[modelType], file);
  const H = r.int('hidden_size', 1);
  const nh = r.int('num_attention_heads', 1);
  const nkv = r.optionalInt('num_key_value_heads', 1) ?? nh;
  if (nh % nkv !== 0) throw r.error(`"num_attention_heads" ${nh} is not a multiple of "num_key_value_heads" ${nkv}.`);
  let hs = r.optionalInt('head_dim', 1);
  if (hs === undefined) {
    if (H % nh !== 0) throw r.error(`"hidden_size" ${H} is not divisible by "num_attention_heads" ${nh}, and no "head_dim" is given.`);
    hs = H / nh;
  }
  if (hs % 2 !== 0) throw r.error(`head size ${hs} ("head_dim" or hidden_size / num_attention_heads) must be even for rotary embeddings.`);
  const numLayers = r.int('num_hidden_layers', 1);
  const attentionBias = modelType === 'llama' && r.bool('attention_bias');
  const slidingWindow = modelType === 'mistral' ? r.optionalInt('sliding_window', 1)
    : modelType === 'qwen2' ? qwen2SlidingWindow(r, numLayers) : undefined;
  return {
    family: 'llama',
    modelType,
    vocabSize: r.int('vocab_size', 1),
    hiddenSize: H,
    numLayers,
    numHeads: nh,
    numKeyValueHeads: nkv,
    headDim: hs,
    intermediateSize: r.int('intermediate_size', 1),
    maxPositions: r.int('max_position_embeddings', 1),
    normEps: r.num('rms_norm_eps', 0, 1),
    hiddenAct: r.activation('hidden_act'),
    tieWordEmbeddings: r.bool('tie_word_embeddings'),
    bosTokenId: r.tokenId('bos_token_id'),
    eosTokenId: r.tokenId('eos_token_id'),
    padTokenId: r.tokenId('pad_token_id'),
    rotary: { theta: r.num('rope_theta', Number.MIN_VALUE, Infinity), rotaryDim: hs, scaling: parseRopeScaling(r.get('rope_scaling'), file) },
    qkvBias: modelType === 'qwen2' || attentionBias,
    outputBias: attentionBias,
    mlpBias: modelType === 'llama' && r.bool('mlp_bias'),
    parallelResidual: false,
    slidingWindow,
    attentionDropout: r.num('attention_dropout', 0, 0.999),
  };
}

const ARCHITECTURES: Record<string, string> = { llama: 'LlamaForCausalLM', mistral: 'MistralForCausalLM', qwen2: 'Qwen2ForCausalLM' };

export function llamaConfigToJson(config: CausalConfig): Record<string, unknown> {
  const rotary = config.rotary ?? { theta: 10000, rotaryDim: config.headDim };
  const json: Record<string, unknown> = {
    architectures: [ARCHITECTURES[config.modelType] ?? 'LlamaForCausalLM'],
    model_type: config.modelType,
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    intermediate_size: config.intermediateSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    num_key_value_heads: config.numKeyValueHeads,
    head_dim: config.headDim,
    hidden_act: config.hiddenAct,
    max_position_embeddings: config.maxPositions,
    rms_norm_eps: config.normEps,
    rope_theta: rotary.theta,
    rope_scaling: ropeScalingToJson(rotary.scaling),
    attention_dropout: config.attentionDropout ?? 0,
    tie_word_embeddings: config.tieWordEmbeddings,
    bos_token_id: config.bosTokenId ?? null, // null, not absent: absent would read back as the default
    eos_token_id: config.eosTokenId ?? null,
    pad_token_id: config.padTokenId ?? null,
  };
  if (config.modelType === 'llama') {
    json.attention_bias = config.qkvBias;
    json.mlp_bias = config.mlpBias;
  } else if (config.modelType === 'mistral') {
    json.sliding_window = config.slidingWindow ?? null;
  } else if (config.modelType === 'qwen2') {
    json.use_sliding_window = config.slidingWindow !== undefined;
    json.sliding_window = config.slidingWindow ?? null;
    json.max_window_layers = 0;
  }
  return json;
}
