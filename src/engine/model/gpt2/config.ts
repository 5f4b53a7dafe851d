/**
 * GPT2Config (config.json of GPT2LMHeadModel: gpt2, distilgpt2) → CausalConfig, and back. Missing keys take
 * transformers' GPT2Config defaults.
 */
import { configReader } from '../causal/config-reader';
import type { CausalConfig } from '../causal/types';

const DEFAULTS: Record<string, unknown> = {
  vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12, n_inner: null,
  activation_function: 'gelu_new', resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0.1, layer_norm_epsilon: 1e-5,
  scale_attn_weights: true, scale_attn_by_inverse_layer_idx: false, add_cross_attention: false,
  bos_token_id: 50256, eos_token_id: 50256, tie_word_embeddings: true,
};

export function parseGpt2Config(raw: Record<string, unknown>, file: string): CausalConfig {
  const r = configReader(raw, DEFAULTS, file);
  const H = r.int('n_embd', 1);
  const nh = r.int('n_head', 1);
  if (H % nh !== 0) throw r.error(`"n_embd" ${H} is not divisible by "n_head" ${nh}.`);
  if (!r.bool('scale_attn_weights')) throw r.error('"scale_attn_weights": false is not supported (GPT-2 scales scores by 1/√head size).');
  if (r.bool('scale_attn_by_inverse_layer_idx')) throw r.error('"scale_attn_by_inverse_layer_idx": true is not supported.');
  if (r.bool('add_cross_attention')) throw r.error('"add_cross_attention": true is not supported (a decoder-only LM has no cross-attention).');
  return {
    family: 'gpt2',
    modelType: String(raw.model_type),
    vocabSize: r.int('vocab_size', 1),
    hiddenSize: H,
    numLayers: r.int('n_layer', 1),
    numHeads: nh,
    numKeyValueHeads: nh,
    headDim: H / nh,
    intermediateSize: r.optionalInt('n_inner', 1) ?? 4 * H,
    maxPositions: r.int('n_positions', 1),
    normEps: r.num('layer_norm_epsilon', 0, 1),
    hiddenAct: r.activation('activation_function'),
    tieWordEmbeddings: r.bool('tie_word_embeddings'),
    bosTokenId: r.tokenId('bos_token_id'),
    eosTokenId: r.tokenId('eos_token_id'),
    padTokenId: r.tokenId('pad_token_id'),
    qkvBias: true,
    outputBias: true,
    mlpBias: true,
    parallelResidual: false,
    embeddingDropout: r.num('embd_pdrop', 0, 0.999),
    attentionDropout: r.num('attn_pdrop', 0, 0.999),
    hiddenDropout: r.num('resid_pdrop', 0, 0.999),
  };
}

export function gpt2ConfigToJson(config: CausalConfig): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: config.modelType,
    vocab_size: config.vocabSize,
    n_positions: config.maxPositions,
    n_embd: config.hiddenSize,
    n_layer: config.numLayers,
    n_head: config.numHeads,
    n_inner: config.intermediateSize,
    activation_function: config.hiddenAct,
    layer_norm_epsilon: config.normEps,
    resid_pdrop: config.hiddenDropout ?? 0,
    embd_pdrop: config.embeddingDropout ?? 0,
    attn_pdrop: config.attentionDropout ?? 0,
    scale_attn_weights: true,
    tie_word_embeddings: config.tieWordEmbeddings,
    bos_token_id: config.bosTokenId ?? null, // null, not absent: absent would read back as the default
    eos_token_id: config.eosTokenId ?? null,
    pad_token_id: config.padTokenId ?? null,
  };
}
