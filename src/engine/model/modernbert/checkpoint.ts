/**
 * ModernBERT checkpoint folders in the Hugging Face layout (config.json plus model.safetensors or the shards of
 * model.safetensors.index.json), read and written as the causal families' are (causal/checkpoint.ts: the exact key
 * set and shapes asserted, a tied decoder.weight skipped), plus seeded random parameters and the untied decoder.
 */
import { inspectFolder, loadFolder, randomParamsOfShapes, saveFolder, type CheckpointFormat } from '../causal/checkpoint';
import { pickleRefusal, untieTable, type Params } from '../weights';
import { modernBertConfigToJson, parseModernBertConfig, type ModernBertConfig } from './config';
import { MODERNBERT_NAMES, modernBertCanonicalName, modernBertExpectedShapes, modernBertIgnoredTensor } from './names';

const FORMAT: CheckpointFormat<ModernBertConfig> = {
  parseConfig: (raw, file) => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${file}: expected a JSON object (a Hugging Face config.json).`);
    return parseModernBertConfig(raw as Record<string, unknown>, file);
  },
  configToJson: modernBertConfigToJson,
  refusal: (file) => pickleRefusal(file, 'AutoModelForMaskedLM'),
  expectedShapes: modernBertExpectedShapes,
  canonicalName: modernBertCanonicalName,
  ignoredTensor: modernBertIgnoredTensor,
};

/** Loads a ModernBertForMaskedLM folder (F32/F16/BF16 safetensors) into trainable variables under canonical names. */
export async function loadModernBertCheckpoint(dir: string): Promise<{ config: ModernBertConfig; params: Params; dir: string }> {
  return { ...(await loadFolder(dir, FORMAT)), dir };
}

/** loadModernBertCheckpoint's checks from the headers only (preflight). */
export async function inspectModernBertCheckpoint(dir: string): Promise<{ config: ModernBertConfig; weightsFile: string }> {
  return inspectFolder(dir, FORMAT);
}

/** Writes config.json and model.safetensors (F32, canonical names, module order); removes a stale shard index. */
export async function saveModernBertCheckpoint(dir: string, config: ModernBertConfig, params: Params): Promise<void> {
  await saveFolder(dir, config, FORMAT, params);
}

/** Fresh trainable Params: weights ~ normal(0, 0.02), biases 0, norm weights 1 (as the causal families'). */
export function randomModernBertParams(config: ModernBertConfig, seed: number): Params {
  return randomParamsOfShapes(modernBertExpectedShapes(config), seed);
}

/** kernel.untie_decoder (weights.ts untieTable): a decoder.weight of its own, equal to the token embeddings. */
export function untieModernBertDecoder(config: ModernBertConfig, params: Params): { config: ModernBertConfig; params: Params } {
  return untieTable(config, params, MODERNBERT_NAMES.tokEmbeddings, MODERNBERT_NAMES.decoderWeight, 'model/modernbert/checkpoint.ts untieModernBertDecoder');
}
