/** GPT-NeoX (GPTNeoXForCausalLM: Pythia) as a CausalFamily. */
import type { CausalFamily } from '../causal/types';
import { gptNeoxConfigToJson, parseGptNeoxConfig } from './config';
import { gptNeoxHidden, gptNeoxLmLogits } from './forward';
import {
  GPT_NEOX_LORA_TARGET, gptNeoxCanonicalName, gptNeoxExpectedShapes, gptNeoxIgnoredTensor, gptNeoxParameterGroup,
} from './names';

export const gptNeoxFamily: CausalFamily = {
  name: 'gpt-neox',
  modelTypes: ['gpt_neox'],
  parseConfig: parseGptNeoxConfig,
  configToJson: gptNeoxConfigToJson,
  expectedShapes: gptNeoxExpectedShapes,
  canonicalName: gptNeoxCanonicalName,
  ignoredTensor: gptNeoxIgnoredTensor,
  hidden: gptNeoxHidden,
  lmLogits: gptNeoxLmLogits,
  parameterGroup: gptNeoxParameterGroup,
  loraTarget: GPT_NEOX_LORA_TARGET,
  loraLayout: 'out-in',
};
