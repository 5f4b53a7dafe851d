/**
 * ModernBERT checkpoint folders in the Hugging Face layout (config.json plus model.safetensors or the shards of
 * model.safetensors.index.json), read and written as the causal families' are (causal/checkpoint.ts: the exact key
 * set and shapes asserted, a tied decoder.weight skipped), plus seeded random parameters and the untied decoder.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { matchCausalTensors, randomParamsOfShapes, type TensorNaming } from '../causal/checkpoint';
import {
  CONFIG_FILE, exists, locateWeights, readJson, SAFE_INDEX_FILE, SAFE_WEIGHTS_FILE, weightTensors, writeAtomic,
} from '../checkpoint-files';
import { encodeSafetensors, readSafetensorsFile, readSafetensorsHeader, type TensorToWrite } from '../safetensors';
import { isPickleWeights, pickleRefusal, toVariable, type Params } from '../weights';
import { modernBertConfigToJson, parseModernBertConfig, type ModernBertConfig } from './config';
import { MODERNBERT_NAMES, modernBertCanonicalName, modernBertExpectedShapes, modernBertIgnoredTensor } from './names';

const NAMING: TensorNaming<ModernBertConfig> = {
  expectedShapes: modernBertExpectedShapes, canonicalName: modernBertCanonicalName, ignoredTensor: modernBertIgnoredTensor,
};

const refusal = (file: string): Error => pickleRefusal(file, 'AutoModelForMaskedLM');

async function readConfig(dir: string): Promise<ModernBertConfig> {
  if (isPickleWeights(dir)) throw refusal(dir);
  const file = path.join(dir, CONFIG_FILE);
  if (!(await exists(file))) {
    throw new Error(`${file}: not found. A checkpoint folder needs config.json and model.safetensors (or ${SAFE_INDEX_FILE} with its shards).`);
  }
  const json = await readJson(file);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${file}: expected a JSON object (a Hugging Face config.json).`);
  return parseModernBertConfig(json as Record<string, unknown>, file);
}

/** Loads a ModernBertForMaskedLM folder (F32/F16/BF16 safetensors) into trainable variables under canonical names. */
export async function loadModernBertCheckpoint(dir: string): Promise<{ config: ModernBertConfig; params: Params; dir: string }> {
  const config = await readConfig(dir);
  const weights = await locateWeights(dir, refusal);
  const found = matchCausalTensors(await weightTensors(weights, readSafetensorsFile), config, NAMING, weights.file);
  const params: Params = new Map();
  try {
    for (const name of modernBertExpectedShapes(config).keys()) {
      const t = found.get(name)!;
      params.set(name, toVariable(tf.tensor(t.read(), t.shape, 'float32')));
    }
  } catch (e) {
    for (const v of params.values()) v.dispose();
    throw e;
  }
  return { config, params, dir };
}

/** loadModernBertCheckpoint's checks from the headers only (preflight). */
export async function inspectModernBertCheckpoint(dir: string): Promise<{ config: ModernBertConfig; weightsFile: string }> {
  const config = await readConfig(dir);
  const weights = await locateWeights(dir, refusal);
  for (const [name, t] of matchCausalTensors(await weightTensors(weights, readSafetensorsHeader), config, NAMING, weights.file)) {
    if (!['F32', 'F16', 'BF16'].includes(t.dtype)) {
      throw new Error(`${t.file}: tensor "${name}" has dtype ${t.dtype}; only F32, F16 and BF16 weights can be loaded.`);
    }
  }
  return { config, weightsFile: weights.file };
}

/** Writes config.json and model.safetensors (F32, canonical names, module order); removes a stale shard index. */
export async function saveModernBertCheckpoint(dir: string, config: ModernBertConfig, params: Params): Promise<void> {
  const tensors: TensorToWrite[] = [];
  for (const [name, shape] of modernBertExpectedShapes(config)) {
    const v = params.get(name);
    if (!v) throw new Error(`model/modernbert/checkpoint.ts saveModernBertCheckpoint: params lack "${name}" (shape [${shape.join(', ')}]).`);
    tensors.push({ name, shape: v.shape, data: Float32Array.from(await v.data() as Float32Array) });
  }
  await fs.mkdir(dir, { recursive: true });
  await writeAtomic(path.join(dir, CONFIG_FILE), `${JSON.stringify(modernBertConfigToJson(config), null, 2)}\n`);
  await writeAtomic(path.join(dir, SAFE_WEIGHTS_FILE), encodeSafetensors(tensors, 'F32'));
  await fs.rm(path.join(dir, SAFE_INDEX_FILE), { force: true });
}

/** Fresh trainable Params: weights ~ normal(0, 0.02), biases 0, norm weights 1 (as the causal families'). */
export function randomModernBertParams(config: ModernBertConfig, seed: number): Params {
  return randomParamsOfShapes(modernBertExpectedShapes(config), seed);
}

/**
 * Unties the decoder (kernel.untie_decoder, as weights.ts untieDecoder for BERT's layout): a config with
 * tieWordEmbeddings false and Params with a new decoder.weight equal to the token embeddings (shared, not copied).
 */
export function untieModernBertDecoder(config: ModernBertConfig, params: Params): { config: ModernBertConfig; params: Params } {
  if (!config.tieWordEmbeddings) return { config, params };
  const word = params.get(MODERNBERT_NAMES.tokEmbeddings);
  if (!word) throw new Error('model/modernbert/checkpoint.ts untieModernBertDecoder: params have no token embeddings.');
  const out: Params = new Map(params);
  out.set(MODERNBERT_NAMES.decoderWeight, toVariable(word.clone()));
  return { config: { ...config, tieWordEmbeddings: false }, params: out };
}
