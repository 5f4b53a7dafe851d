/**
 * Hugging Face masked LMs (BERT, RoBERTa, XLM-RoBERTa, DistilBERT, the ELECTRA generator, ALBERT) as plain functions over a Params map (docs/architecture.md).
 * Architecture Invariants: imports only tfjs, Node and ../backend; Params keys are HF tensor names with the
 * `bert.`/`roberta.` prefix; every dense product goes through backend mm/mmBT; forward functions leak no tensors.
 */
export {
  encoderConfigToJson, makeEncoderConfig, parseEncoderConfig,
  type EncoderConfig, type HiddenAct, type ModelType,
} from './config';
export { loadCheckpoint, saveCheckpoint, type SaveOptions } from './checkpoint';
export { encode, hiddenAt, mlmLogits, type EncodeOptions, type EncoderBatch } from './bert';
export { positionIds } from './embeddings';
export { decoderWeight } from './mlm-head';
export { backbonePrefix, embeddingNames, expectedShapes, headNames, layerNames } from './param-names';
export { randomParams, INIT_STD } from './random-init';
export {
  decodeTensor, encodeSafetensors, float16BitsToNumber, numberToFloat16Bits, parseSafetensors, readSafetensorsFile,
  type SafetensorsFile, type TensorEntry, type TensorToWrite,
} from './safetensors';
export {
  canonicalName, disposeParams, ignoredTensor, isPickleWeights, parameterGroup, pickleRefusal, untieDecoder,
  type Params,
} from './weights';
