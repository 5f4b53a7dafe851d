/** config.json `model_type` → the causal family that reads it (gpt2/, gpt-neox/, llama/ beside this folder). */
import { gptNeoxFamily } from '../gpt-neox';
import { gpt2Family } from '../gpt2';
import { llamaFamily } from '../llama';
import type { CausalConfig, CausalFamily } from './types';

export const CAUSAL_FAMILIES: readonly CausalFamily[] = [gpt2Family, gptNeoxFamily, llamaFamily];

/** Every model_type a causal family reads: gpt2, gpt_neox, llama, mistral, qwen2. */
export const CAUSAL_MODEL_TYPES: readonly string[] = CAUSAL_FAMILIES.flatMap((f) => f.modelTypes);

export function causalFamilyFor(modelType: string): CausalFamily | undefined {
  return CAUSAL_FAMILIES.find((f) => f.modelTypes.includes(modelType));
}

/** The family of a parsed config; throws when none reads its model_type (a config not made by parseCausalConfig). */
export function causalFamilyOf(config: CausalConfig): CausalFamily {
  const family = causalFamilyFor(config.modelType);
  if (!family) throw new Error(`model/causal/registry.ts: no causal family reads model_type "${config.modelType}"; supported: ${CAUSAL_MODEL_TYPES.join(', ')}.`);
  return family;
}

/** Normalises a parsed config.json of a causal LM; errors name `file` and the key. */
export function parseCausalConfig(json: unknown, file: string): CausalConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Error(`${file}: expected a JSON object (a Hugging Face config.json).`);
  }
  const raw = json as Record<string, unknown>;
  const family = typeof raw.model_type === 'string' ? causalFamilyFor(raw.model_type) : undefined;
  if (!family) {
    throw new Error(`${file}: unsupported model_type ${JSON.stringify(raw.model_type ?? null)}; the causal LMs ntk-lens reads `
      + `have model_type ${CAUSAL_MODEL_TYPES.map((t) => `"${t}"`).join(', ')} (e.g. gpt2, EleutherAI/pythia-70m, `
      + 'TinyLlama, SmolLM, Qwen2).');
  }
  return family.parseConfig(raw, file);
}
