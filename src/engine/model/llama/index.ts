/** The Llama layout (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM; SmolLM, TinyLlama) as a CausalFamily. */
import type { CausalFamily } from '../causal/types';
import { LLAMA_MODEL_TYPES, llamaConfigToJson, parseLlamaConfig } from './config';
import { llamaHidden, llamaLmLogits } from './forward';
import { LLAMA_LORA_TARGET, llamaCanonicalName, llamaExpectedShapes, llamaIgnoredTensor, llamaParameterGroup } from './names';

export const llamaFamily: CausalFamily = {
  name: 'llama',
  modelTypes: LLAMA_MODEL_TYPES,
  parseConfig: parseLlamaConfig,
  configToJson: llamaConfigToJson,
  expectedShapes: llamaExpectedShapes,
  canonicalName: llamaCanonicalName,
  ignoredTensor: llamaIgnoredTensor,
  hidden: llamaHidden,
  lmLogits: llamaLmLogits,
  parameterGroup: llamaParameterGroup,
  loraTarget: LLAMA_LORA_TARGET,
  loraLayout: 'out-in',
};
