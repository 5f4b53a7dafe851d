/**
 * The tensor names of GPTNeoXForCausalLM (Pythia) and their shapes; projections are nn.Linear (weight [out, in]).
 * The fused query_key_value output is laid out per head as [nh, 3, hs]. H hidden, I intermediate, V vocabulary.
 */
import type { LinearNames } from '../layers/linear';
import type { NormNames } from '../param-names';
import type { CausalConfig, ParameterGroupName } from '../causal/types';

export const GPT_NEOX_NAMES = {
  embedIn: 'gpt_neox.embed_in.weight', // [V, H]
  finalNorm: { weight: 'gpt_neox.final_layer_norm.weight', bias: 'gpt_neox.final_layer_norm.bias' } as NormNames, // [H]
  embedOut: 'embed_out.weight', // [V, H], unless tied
} as const;

export interface GptNeoxLayerNames {
  inputNorm: NormNames; postAttentionNorm: NormNames;
  qkv: LinearNames; dense: LinearNames; up: LinearNames; down: LinearNames;
}

const linearNames = (p: string, bias: boolean): LinearNames => (bias ? { weight: `${p}.weight`, bias: `${p}.bias` } : { weight: `${p}.weight` });

export function gptNeoxLayerNames(config: CausalConfig, i: number): GptNeoxLayerNames {
  const p = `gpt_neox.layers.${i}`;
  return {
    inputNorm: { weight: `${p}.input_layernorm.weight`, bias: `${p}.input_layernorm.bias` },
    postAttentionNorm: { weight: `${p}.post_attention_layernorm.weight`, bias: `${p}.post_attention_layernorm.bias` },
    qkv: linearNames(`${p}.attention.query_key_value`, config.qkvBias), // [3H, H]
    dense: linearNames(`${p}.attention.dense`, config.outputBias), // [H, H]
    up: linearNames(`${p}.mlp.dense_h_to_4h`, config.mlpBias), // [I, H]
    down: linearNames(`${p}.mlp.dense_4h_to_h`, config.mlpBias), // [H, I]
  };
}

export function gptNeoxExpectedShapes(config: CausalConfig): Map<string, number[]> {
  const { vocabSize: V, hiddenSize: H, intermediateSize: I } = config;
  const shapes = new Map<string, number[]>();
  const lin = (n: LinearNames, out: number, inp: number): void => {
    shapes.set(n.weight, [out, inp]);
    if (n.bias !== undefined) shapes.set(n.bias, [out]);
  };
  const norm = (n: NormNames): void => {
    shapes.set(n.weight, [H]);
    shapes.set(n.bias, [H]);
  };
  shapes.set(GPT_NEOX_NAMES.embedIn, [V, H]);
  for (let i = 0; i < config.numLayers; i++) {
    const l = gptNeoxLayerNames(config, i);
    norm(l.inputNorm);
    norm(l.postAttentionNorm);
    lin(l.qkv, 3 * H, H);
    lin(l.dense, H, H);
    lin(l.up, I, H);
    lin(l.down, H, I);
  }
  norm(GPT_NEOX_NAMES.finalNorm);
  if (!config.tieWordEmbeddings) shapes.set(GPT_NEOX_NAMES.embedOut, [V, H]);
  return shapes;
}

/** Adds `gpt_neox.` to bare GPTNeoXModel keys (`embed_in.weight`, `layers.0.…`, `final_layer_norm.…`). */
export function gptNeoxCanonicalName(key: string): string {
  return /^(embed_in|layers|final_layer_norm)\./.test(key) ? `gpt_neox.${key}` : key;
}

/** Old mask buffers, rotary inv_freq, and embed_out.weight when tied. */
export function gptNeoxIgnoredTensor(name: string, config: CausalConfig): boolean {
  return /^gpt_neox\.layers\.\d+\.attention\.(bias|masked_bias|rotary_emb\.inv_freq)$/.test(name)
    || name === 'gpt_neox.rotary_emb.inv_freq'
    || (config.tieWordEmbeddings && name === GPT_NEOX_NAMES.embedOut);
}

export function gptNeoxParameterGroup(name: string, config: CausalConfig): ParameterGroupName {
  if (name === GPT_NEOX_NAMES.embedIn) return 'embeddings';
  if (!config.tieWordEmbeddings && name === GPT_NEOX_NAMES.embedOut) return 'head';
  if (/^gpt_neox\.(layers\.\d+|final_layer_norm)\./.test(name)) return 'encoder';
  throw new Error(`model/gpt-neox/names.ts parameterGroup: "${name}" is not a parameter name of a GPT-NeoX LM.`);
}

/** LoRA targets: the attention and MLP projection weights. */
export const GPT_NEOX_LORA_TARGET = /^gpt_neox\.layers\.\d+\.(attention\.query_key_value|attention\.dense|mlp\.dense_h_to_4h|mlp\.dense_4h_to_h)\.weight$/;
