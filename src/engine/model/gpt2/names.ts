/**
 * The tensor names of GPT2LMHeadModel and their shapes. Projections are Conv1D: weight [in, out], y = x W + b.
 * Hub files (gpt2, distilgpt2) store the GPT2Model keys without the `transformer.` prefix; canonicalName adds it.
 * H hidden, I inner (n_inner, default 4H), V vocabulary, P positions.
 */
import type { DenseNames, NormNames } from '../param-names';
import type { CausalConfig, ParameterGroupName } from '../causal/types';

export const GPT2_NAMES = {
  wte: 'transformer.wte.weight', // [V, H]
  wpe: 'transformer.wpe.weight', // [P, H]
  lnF: { weight: 'transformer.ln_f.weight', bias: 'transformer.ln_f.bias' } as NormNames, // [H]
  lmHead: 'lm_head.weight', // [V, H], a separate tensor only when untied
} as const;

export interface Gpt2LayerNames {
  ln1: NormNames; attn: DenseNames; attnProj: DenseNames; ln2: NormNames; fc: DenseNames; proj: DenseNames;
}

const both = (p: string): DenseNames => ({ weight: `${p}.weight`, bias: `${p}.bias` });

export function gpt2LayerNames(i: number): Gpt2LayerNames {
  const p = `transformer.h.${i}`;
  return {
    ln1: both(`${p}.ln_1`),
    attn: both(`${p}.attn.c_attn`), // [H, 3H]: q | k | v along the output
    attnProj: both(`${p}.attn.c_proj`), // [H, H]
    ln2: both(`${p}.ln_2`),
    fc: both(`${p}.mlp.c_fc`), // [H, I]
    proj: both(`${p}.mlp.c_proj`), // [I, H]
  };
}

export function gpt2ExpectedShapes(config: CausalConfig): Map<string, number[]> {
  const { vocabSize: V, hiddenSize: H, intermediateSize: I } = config;
  const shapes = new Map<string, number[]>();
  const conv = (n: DenseNames, inp: number, out: number): void => {
    shapes.set(n.weight, [inp, out]);
    shapes.set(n.bias, [out]);
  };
  const norm = (n: NormNames): void => {
    shapes.set(n.weight, [H]);
    shapes.set(n.bias, [H]);
  };
  shapes.set(GPT2_NAMES.wte, [V, H]);
  shapes.set(GPT2_NAMES.wpe, [config.maxPositions, H]);
  for (let i = 0; i < config.numLayers; i++) {
    const l = gpt2LayerNames(i);
    norm(l.ln1);
    conv(l.attn, H, 3 * H);
    conv(l.attnProj, H, H);
    norm(l.ln2);
    conv(l.fc, H, I);
    conv(l.proj, I, H);
  }
  norm(GPT2_NAMES.lnF);
  if (!config.tieWordEmbeddings) shapes.set(GPT2_NAMES.lmHead, [V, H]);
  return shapes;
}

/** Adds `transformer.` to bare GPT2Model keys (`wte.weight`, `h.0.attn.c_attn.weight`, `ln_f.bias`). */
export function gpt2CanonicalName(key: string): string {
  return /^(wte|wpe|h|ln_f)\./.test(key) ? `transformer.${key}` : key;
}

/** Old causal-mask buffers `attn.bias` / `attn.masked_bias`, and lm_head.weight when tied (HF overwrites it with wte). */
export function gpt2IgnoredTensor(name: string, config: CausalConfig): boolean {
  return /^transformer\.h\.\d+\.attn\.(bias|masked_bias)$/.test(name)
    || (config.tieWordEmbeddings && name === GPT2_NAMES.lmHead);
}

export function gpt2ParameterGroup(name: string, config: CausalConfig): ParameterGroupName {
  if (name === GPT2_NAMES.wte || name === GPT2_NAMES.wpe) return 'embeddings';
  if (!config.tieWordEmbeddings && name === GPT2_NAMES.lmHead) return 'head';
  if (/^transformer\.(h\.\d+|ln_f)\./.test(name)) return 'encoder';
  throw new Error(`model/gpt2/names.ts parameterGroup: "${name}" is not a parameter name of a GPT-2 LM.`);
}

/** LoRA targets: the Conv1D weights of attention and MLP. */
export const GPT2_LORA_TARGET = /^transformer\.h\.\d+\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;
