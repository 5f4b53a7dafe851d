/**
 * The tensor names of ModernBertForMaskedLM and their shapes. Projections are nn.Linear (weight [out, in]); norms
 * are LayerNorms with β only where norm_bias. Layer 0 has no attn_norm (nn.Identity: the embeddings' norm precedes
 * it). H hidden, I intermediate, V vocabulary.
 */
import type { LinearNames } from '../layers/linear';
import type { LayerNormNames } from '../layers/layer-norm';
import type { ModernBertConfig } from './config';

type Group = 'embeddings' | 'encoder' | 'head';

export const MODERNBERT_NAMES = {
  tokEmbeddings: 'model.embeddings.tok_embeddings.weight', // [V, H]
  decoderWeight: 'decoder.weight', // [V, H], unless tied
  decoderBias: 'decoder.bias', // [V], where decoder_bias
} as const;

const linearNames = (p: string, bias: boolean): LinearNames => (bias ? { weight: `${p}.weight`, bias: `${p}.bias` } : { weight: `${p}.weight` });
const normNames = (p: string, bias: boolean): LayerNormNames => (bias ? { weight: `${p}.weight`, bias: `${p}.bias` } : { weight: `${p}.weight` });

export interface ModernBertLayerNames {
  /** Absent on layer 0. */
  attnNorm?: LayerNormNames;
  wqkv: LinearNames; // [3H, H]: q | k | v
  wo: LinearNames; // [H, H]
  mlpNorm: LayerNormNames;
  wi: LinearNames; // [2I, H]: input | gate
  mlpWo: LinearNames; // [H, I]
}

export function modernBertLayerNames(config: ModernBertConfig, i: number): ModernBertLayerNames {
  const p = `model.layers.${i}`;
  return {
    attnNorm: i === 0 ? undefined : normNames(`${p}.attn_norm`, config.normBias),
    wqkv: linearNames(`${p}.attn.Wqkv`, config.attentionBias),
    wo: linearNames(`${p}.attn.Wo`, config.attentionBias),
    mlpNorm: normNames(`${p}.mlp_norm`, config.normBias),
    wi: linearNames(`${p}.mlp.Wi`, config.mlpBias),
    mlpWo: linearNames(`${p}.mlp.Wo`, config.mlpBias),
  };
}

export function modernBertOuterNames(config: ModernBertConfig): { embNorm: LayerNormNames; finalNorm: LayerNormNames; headDense: LinearNames; headNorm: LayerNormNames } {
  return {
    embNorm: normNames('model.embeddings.norm', config.normBias),
    finalNorm: normNames('model.final_norm', config.normBias),
    headDense: linearNames('head.dense', config.headBias),
    headNorm: normNames('head.norm', config.normBias),
  };
}

/** Every tensor of the checkpoint, in transformers' module order, with its shape. */
export function modernBertExpectedShapes(config: ModernBertConfig): Map<string, number[]> {
  const { vocabSize: V, hiddenSize: H, intermediateSize: I } = config;
  const shapes = new Map<string, number[]>();
  const lin = (n: LinearNames, out: number, inp: number): void => {
    shapes.set(n.weight, [out, inp]);
    if (n.bias !== undefined) shapes.set(n.bias, [out]);
  };
  const norm = (n: LayerNormNames): void => {
    shapes.set(n.weight, [H]);
    if (n.bias !== undefined) shapes.set(n.bias, [H]);
  };
  const outer = modernBertOuterNames(config);
  shapes.set(MODERNBERT_NAMES.tokEmbeddings, [V, H]);
  norm(outer.embNorm);
  for (let i = 0; i < config.numLayers; i++) {
    const l = modernBertLayerNames(config, i);
    if (l.attnNorm) norm(l.attnNorm);
    lin(l.wqkv, 3 * H, H);
    lin(l.wo, H, H);
    norm(l.mlpNorm);
    lin(l.wi, 2 * I, H);
    lin(l.mlpWo, H, I);
  }
  norm(outer.finalNorm);
  lin(outer.headDense, H, H);
  norm(outer.headNorm);
  if (!config.tieWordEmbeddings) shapes.set(MODERNBERT_NAMES.decoderWeight, [V, H]);
  if (config.decoderBias) shapes.set(MODERNBERT_NAMES.decoderBias, [V]);
  return shapes;
}

/** Adds `model.` to bare ModernBertModel keys (`embeddings.…`, `layers.…`, `final_norm.…`). */
export function modernBertCanonicalName(key: string): string {
  return /^(embeddings|layers|final_norm)\./.test(key) ? `model.${key}` : key;
}

/** decoder.weight when tied (transformers may save the tied copy). */
export function modernBertIgnoredTensor(name: string, config: ModernBertConfig): boolean {
  return config.tieWordEmbeddings && name === MODERNBERT_NAMES.decoderWeight;
}

export function modernBertParameterGroup(name: string): Group {
  if (name.startsWith('model.embeddings.')) return 'embeddings';
  if (/^model\.(layers\.\d+\.|final_norm\.)/.test(name)) return 'encoder';
  if (/^(head\.|decoder\.)/.test(name)) return 'head';
  throw new Error(`model/modernbert/names.ts parameterGroup: "${name}" is not a parameter name of a ModernBERT masked LM.`);
}

/** LoRA targets, as for the other masked LMs: the attention projections (the fused Wqkv and Wo). */
export const MODERNBERT_LORA_TARGET = /^model\.layers\.\d+\.attn\.(Wqkv|Wo)\.weight$/;
