/**
 * The tensor names of the Llama layout (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM) and their shapes;
 * projections are nn.Linear (weight [out, in]), norms are RMSNorm (weight only).
 * H hidden, nh query heads, nkv key/value heads, hs head size, I intermediate, V vocabulary.
 */
import type { GatedMlpNames } from '../layers/gated-mlp';
import type { LinearNames } from '../layers/linear';
import type { CausalConfig, ParameterGroupName } from '../causal/types';

export const LLAMA_NAMES = {
  embedTokens: 'model.embed_tokens.weight', // [V, H]
  norm: 'model.norm.weight', // [H]
  lmHead: 'lm_head.weight', // [V, H], unless tied
} as const;

export interface LlamaLayerNames {
  q: LinearNames; k: LinearNames; v: LinearNames; o: LinearNames; mlp: GatedMlpNames;
  inputNorm: string; postAttentionNorm: string;
}

const linearNames = (p: string, bias: boolean): LinearNames => (bias ? { weight: `${p}.weight`, bias: `${p}.bias` } : { weight: `${p}.weight` });

export function llamaLayerNames(config: CausalConfig, i: number): LlamaLayerNames {
  const p = `model.layers.${i}`;
  return {
    q: linearNames(`${p}.self_attn.q_proj`, config.qkvBias), // [nh·hs, H]
    k: linearNames(`${p}.self_attn.k_proj`, config.qkvBias), // [nkv·hs, H]
    v: linearNames(`${p}.self_attn.v_proj`, config.qkvBias), // [nkv·hs, H]
    o: linearNames(`${p}.self_attn.o_proj`, config.outputBias), // [H, nh·hs]
    mlp: {
      gate: linearNames(`${p}.mlp.gate_proj`, config.mlpBias), // [I, H]
      up: linearNames(`${p}.mlp.up_proj`, config.mlpBias), // [I, H]
      down: linearNames(`${p}.mlp.down_proj`, config.mlpBias), // [H, I]
    },
    inputNorm: `${p}.input_layernorm.weight`, // [H]
    postAttentionNorm: `${p}.post_attention_layernorm.weight`, // [H]
  };
}

export function llamaExpectedShapes(config: CausalConfig): Map<string, number[]> {
  const { vocabSize: V, hiddenSize: H, intermediateSize: I, numHeads: nh, numKeyValueHeads: nkv, headDim: hs } = config;
  const shapes = new Map<string, number[]>();
  const lin = (n: LinearNames, out: number, inp: number): void => {
    shapes.set(n.weight, [out, inp]);
    if (n.bias !== undefined) shapes.set(n.bias, [out]);
  };
  shapes.set(LLAMA_NAMES.embedTokens, [V, H]);
  for (let i = 0; i < config.numLayers; i++) {
    const l = llamaLayerNames(config, i);
    lin(l.q, nh * hs, H);
    lin(l.k, nkv * hs, H);
    lin(l.v, nkv * hs, H);
    lin(l.o, H, nh * hs);
    lin(l.mlp.gate, I, H);
    lin(l.mlp.up, I, H);
    lin(l.mlp.down, H, I);
    shapes.set(l.inputNorm, [H]);
    shapes.set(l.postAttentionNorm, [H]);
  }
  shapes.set(LLAMA_NAMES.norm, [H]);
  if (!config.tieWordEmbeddings) shapes.set(LLAMA_NAMES.lmHead, [V, H]);
  return shapes;
}

/** Adds `model.` to bare LlamaModel keys (`embed_tokens.weight`, `layers.0.…`, `norm.weight`). */
export function llamaCanonicalName(key: string): string {
  return /^(embed_tokens|layers|norm)\./.test(key) ? `model.${key}` : key;
}

/** Rotary inv_freq buffers (older transformers saved them), and lm_head.weight when tied. */
export function llamaIgnoredTensor(name: string, config: CausalConfig): boolean {
  return /^model\.(layers\.\d+\.self_attn\.)?rotary_emb\.inv_freq$/.test(name)
    || (config.tieWordEmbeddings && name === LLAMA_NAMES.lmHead);
}

export function llamaParameterGroup(name: string, config: CausalConfig): ParameterGroupName {
  if (name === LLAMA_NAMES.embedTokens) return 'embeddings';
  if (!config.tieWordEmbeddings && name === LLAMA_NAMES.lmHead) return 'head';
  if (/^model\.(layers\.\d+\.|norm\.)/.test(name)) return 'encoder';
  throw new Error(`model/llama/names.ts parameterGroup: "${name}" is not a parameter name of a ${config.modelType} LM.`);
}

/** LoRA targets: the attention and MLP projection weights. */
export const LLAMA_LORA_TARGET = /^model\.layers\.\d+\.(self_attn\.[qkvo]_proj|mlp\.(gate|up|down)_proj)\.weight$/;
