/**
 * ModernBERT (ModernBertForMaskedLM: rotary positions, GeGLU, alternating local/global attention, no biases by
 * default) as a masked LM: config.ts (config.json), names.ts (tensor names and shapes), forward.ts (built from
 * model/layers/, as the causal families; its structured recording is causal/recording.ts tappedRecordingModel),
 * checkpoint.ts (folders, random parameters, the untied decoder).
 */
export { isGlobalLayer, isModernBertType, MODERNBERT_MODEL_TYPE, modernBertConfigToJson, parseModernBertConfig, type ModernBertConfig } from './config';
export { MODERNBERT_LORA_TARGET, MODERNBERT_NAMES, modernBertExpectedShapes, modernBertParameterGroup } from './names';
export { bidirectionalAttentionBias, modernBertHidden, modernBertMlmLogits, type ModernBertBatch } from './forward';
export {
  inspectModernBertCheckpoint, loadModernBertCheckpoint, randomModernBertParams, saveModernBertCheckpoint, untieModernBertDecoder,
} from './checkpoint';
export { modernBertRecordingModel } from './recording';
