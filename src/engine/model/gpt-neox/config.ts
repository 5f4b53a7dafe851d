/**
 * GPTNeoXConfig (config.json of GPTNeoXForCausalLM: Pythia) → CausalConfig, and back. Missing keys take transformers'
 * GPTNeoXConfig defaults. Rotary on the first ⌊hs·rotary_pct⌋ dims of each head.
 */
import { configReader, parseRopeScaling, ropeScalingToJson } from '../causal/config-reader';
import type { CausalConfig } from '../causal/types';

const DEFAULTS: Record<string, unknown> = {
  vocab_size: 50432, hidden_size: 6144, num_hidden_layers: 44, num_attention_heads: 64, intermediate_size: 24576,
  hidden_act: 'gelu', rotary_pct: 0.25, rotary_emb_base: 10000, attention_dropout: 0, hidden_dropout: 0,
  max_position_embeddings: 2048, layer_norm_eps: 1e-5, bos_token_id: 0, eos_token_id: 2, tie_word_embeddings: false,
  use_parallel_residual: true, rope_scaling: null, attention_bias: true,
};

export function parseGptNeoxConfig(raw: Record<string, unknown>, file: string): CausalConfig {
  const r = configReader(raw, DEFAULTS, file);
  const H = r.int('hidden_size', 1);
  const nh = r.int('num_attention_heads', 1);
  if (H % nh !== 0) throw r.error(`"hidden_size" ${H} is not divisible by "num_attention_heads" ${nh}.`);
  const hs = H / nh;
  // Newer transformers also write partial_rotary_factor / rope_theta; the original keys come first.
  const pctKey = r.has('rotary_pct') || !r.has('partial_rotary_factor') ? 'rotary_pct' : 'partial_rotary_factor';
  const thetaKey = r.has('rotary_emb_base') || !r.has('rope_theta') ? 'rotary_emb_base' : 'rope_theta';
  const rotaryDim = Math.floor(hs * r.num(pctKey, 0, 1));
  if (rotaryDim % 2 !== 0) throw r.error(`"${pctKey}" gives ${rotaryDim} rotary dims of head size ${hs}; rotary dims must be even.`);
  const attentionBias = r.bool('attention_bias');
  const hiddenDropout = r.num('hidden_dropout', 0, 0.999);
  return {
    family: 'gpt-neox',
    modelType: String(raw.model_type),
    vocabSize: r.int('vocab_size', 1),
    hiddenSize: H,
    numLayers: r.int('num_hidden_layers', 1),
    numHeads: nh,
    numKeyValueHeads: nh,
    headDim: hs,
    intermediateSize: r.int('intermediate_size', 1),
    maxPositions: r.int('max_position_embeddings', 1),
    normEps: r.num('layer_norm_eps', 0, 1),
    hiddenAct: r.activation('hidden_act'),
    tieWordEmbeddings: r.bool('tie_word_embeddings'),
    bosTokenId: r.tokenId('bos_token_id'),
    eosTokenId: r.tokenId('eos_token_id'),
    padTokenId: r.tokenId('pad_token_id'),
    rotary: { theta: r.num(thetaKey, Number.MIN_VALUE, Infinity), rotaryDim, scaling: parseRopeScaling(r.get('rope_scaling'), file) },
    qkvBias: attentionBias,
    outputBias: attentionBias,
    mlpBias: true,
    parallelResidual: r.bool('use_parallel_residual'),
    embeddingDropout: hiddenDropout,
    attentionDropout: r.num('attention_dropout', 0, 0.999),
    hiddenDropout,
  };
}

/** A rotary_pct whose ⌊hs·pct⌋ is exactly rotaryDim (rd/hs itself can land one ulp short). */
function rotaryPct(rotaryDim: number, hs: number): number {
  const pct = rotaryDim / hs;
  return Math.floor(hs * pct) === rotaryDim ? pct : (rotaryDim + 1e-6) / hs;
}

export function gptNeoxConfigToJson(config: CausalConfig): Record<string, unknown> {
  const rotary = config.rotary ?? { theta: 10000, rotaryDim: 0 };
  return {
    architectures: ['GPTNeoXForCausalLM'],
    model_type: config.modelType,
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    intermediate_size: config.intermediateSize,
    hidden_act: config.hiddenAct,
    rotary_pct: rotaryPct(rotary.rotaryDim, config.headDim),
    rotary_emb_base: rotary.theta,
    rope_scaling: ropeScalingToJson(rotary.scaling),
    max_position_embeddings: config.maxPositions,
    layer_norm_eps: config.normEps,
    use_parallel_residual: config.parallelResidual,
    attention_bias: config.qkvBias,
    attention_dropout: config.attentionDropout ?? 0,
    hidden_dropout: config.hiddenDropout ?? 0,
    tie_word_embeddings: config.tieWordEmbeddings,
    bos_token_id: config.bosTokenId ?? null, // null, not absent: absent would read back as the default
    eos_token_id: config.eosTokenId ?? null,
    pad_token_id: config.padTokenId ?? null,
  };
}
