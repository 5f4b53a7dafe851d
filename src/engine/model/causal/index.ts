/**
 * Decoder-only (causal) LMs as plain functions over a Params map: GPT-2, GPT-NeoX (Pythia) and the Llama layout
 * (Llama, Mistral, Qwen2). The contract is types.ts; each family is a folder beside this one built from model/layers/.
 */
export type {
  CausalBatch, CausalConfig, CausalFamily, CausalFamilyName, CausalForwardOptions, ParameterGroupName, RotaryConfig,
} from './types';
export { CAUSAL_FAMILIES, CAUSAL_MODEL_TYPES, causalFamilyFor, causalFamilyOf, parseCausalConfig } from './registry';
export {
  inspectCausalCheckpoint, loadCausalCheckpoint, matchCausalTensors, randomCausalParams, saveCausalCheckpoint,
} from './checkpoint';
export { gpt2Family } from '../gpt2';
export { gptNeoxFamily } from '../gpt-neox';
export { llamaFamily } from '../llama';
export { rotaryInverseFrequencies, rotaryTablesOnHost } from '../layers/rotary';
export { causalRecordingModel, type CausalRecordHead, type CausalRecordInput } from './recording';
