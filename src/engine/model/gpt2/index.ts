/** GPT-2 (GPT2LMHeadModel: gpt2, distilgpt2) as a CausalFamily. */
import type { CausalFamily } from '../causal/types';
import { gpt2ConfigToJson, parseGpt2Config } from './config';
import { gpt2Hidden, gpt2LmLogits } from './forward';
import { GPT2_LORA_TARGET, gpt2CanonicalName, gpt2ExpectedShapes, gpt2IgnoredTensor, gpt2ParameterGroup } from './names';

export const gpt2Family: CausalFamily = {
  name: 'gpt2',
  modelTypes: ['gpt2'],
  parseConfig: parseGpt2Config,
  configToJson: gpt2ConfigToJson,
  expectedShapes: gpt2ExpectedShapes,
  canonicalName: gpt2CanonicalName,
  ignoredTensor: gpt2IgnoredTensor,
  hidden: gpt2Hidden,
  lmLogits: gpt2LmLogits,
  parameterGroup: gpt2ParameterGroup,
  loraTarget: GPT2_LORA_TARGET,
  loraLayout: 'in-out',
};
