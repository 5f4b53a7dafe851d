/**
 * Checkpoint folders in the Hugging Face layout: `config.json` plus `model.safetensors`, or shards listed in
 * `model.safetensors.index.json` (`{ metadata: { total_size }, weight_map: { tensorName: shardFile } }`).
 * Load order follows transformers: model.safetensors, then the index. Pickle weights are refused.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { encoderConfigToJson, parseEncoderConfig, type EncoderConfig } from './config';
import { expectedShapes } from './param-names';
import {
  CONFIG_FILE, exists, locateWeights, readJson, SAFE_INDEX_FILE, SAFE_WEIGHTS_FILE, weightTensors, writeAtomic,
} from './checkpoint-files';
import { encodeSafetensors, readSafetensorsFile, readSafetensorsHeader, type TensorToWrite } from './safetensors';
import { isPickleWeights, matchTensors, paramsFromTensors, pickleRefusal, type Params } from './weights';

export { CONFIG_FILE, SAFE_INDEX_FILE, SAFE_WEIGHTS_FILE } from './checkpoint-files';

/** config.json of a checkpoint folder, normalised; throws naming the file when it is missing or invalid. */
async function readCheckpointConfig(dir: string): Promise<EncoderConfig> {
  if (isPickleWeights(dir)) throw pickleRefusal(dir);
  const configFile = path.join(dir, CONFIG_FILE);
  if (!(await exists(configFile))) {
    throw new Error(`${configFile}: not found. A checkpoint folder needs config.json and model.safetensors `
      + '(or model.safetensors.index.json with its shards).');
  }
  return parseEncoderConfig(await readJson(configFile), configFile);
}

/**
 * Loads config.json and the safetensors weights of a masked-LM folder (bert, roberta, xlm-roberta, distilbert,
 * electra generator, albert) into trainable variables.
 * The caller owns the returned Params (dispose with disposeParams).
 */
export async function loadCheckpoint(dir: string): Promise<{ config: EncoderConfig; params: Params; dir: string }> {
  const config = await readCheckpointConfig(dir);
  const weights = await locateWeights(dir);
  const tensors = await weightTensors(weights, readSafetensorsFile);
  return { config, params: paramsFromTensors(tensors, config, weights.file), dir };
}

/**
 * Every check of loadCheckpoint that needs no tensor data: config.json, the weight files and their headers (header
 * length and tensor byte ranges against each file's size), the tensor names and shapes against config.json, and
 * decodable dtypes. Reads only the headers; throws the error loadCheckpoint would.
 */
export async function inspectCheckpoint(dir: string): Promise<{ config: EncoderConfig; weightsFile: string }> {
  const config = await readCheckpointConfig(dir);
  const weights = await locateWeights(dir);
  const found = matchTensors(await weightTensors(weights, readSafetensorsHeader), config, weights.file);
  for (const [name, t] of found) {
    if (!['F32', 'F16', 'BF16'].includes(t.dtype)) {
      throw new Error(`${t.file}: tensor "${name}" has dtype ${t.dtype}; only F32, F16 and BF16 weights can be loaded.`);
    }
  }
  return { config, weightsFile: weights.file };
}

export interface SaveOptions {
  /** Storage dtype; F16 halves the size and rounds every weight to half precision. Default 'F32'. */
  dtype?: 'F32' | 'F16';
  /** Number of shard files; 1 (default) writes model.safetensors, more writes model-0000k-of-0000n + the index. */
  shards?: number;
}

/** Splits tensors into n consecutive groups of roughly equal size (no group empty when n ≤ tensors). */
function splitIntoShards(tensors: TensorToWrite[], n: number): TensorToWrite[][] {
  const total = tensors.reduce((s, t) => s + t.data.length, 0);
  const groups: TensorToWrite[][] = [[]];
  let acc = 0;
  tensors.forEach((t, i) => {
    const left = tensors.length - i; // tensors not yet placed, this one included
    const needNew = groups.length < n && groups[groups.length - 1].length > 0
      && (acc >= (total * groups.length) / n || left <= n - groups.length);
    if (needNew) groups.push([]);
    groups[groups.length - 1].push(t);
    acc += t.data.length;
  });
  return groups;
}

/** Writes config.json and the weights in the layout loadCheckpoint reads. Removes a stale file of the other layout. */
export async function saveCheckpoint(
  dir: string, config: EncoderConfig, params: Params, options: SaveOptions = {},
): Promise<void> {
  const dtype = options.dtype ?? 'F32';
  const shards = options.shards ?? 1;
  const shapes = expectedShapes(config);
  if (!Number.isInteger(shards) || shards < 1 || shards > shapes.size) {
    throw new Error(`model/checkpoint.ts saveCheckpoint: shards must be an integer in [1, ${shapes.size}], got ${shards}.`);
  }
  const tensors: TensorToWrite[] = [];
  for (const [name, shape] of shapes) {
    const v = params.get(name);
    if (!v) throw new Error(`model/checkpoint.ts saveCheckpoint: params lack "${name}" (shape [${shape}]).`);
    tensors.push({ name, shape: v.shape, data: Float32Array.from(await v.data() as Float32Array) });
  }
  await fs.mkdir(dir, { recursive: true });
  await writeAtomic(path.join(dir, CONFIG_FILE), `${JSON.stringify(encoderConfigToJson(config), null, 2)}\n`);
  if (shards === 1) {
    await writeAtomic(path.join(dir, SAFE_WEIGHTS_FILE), encodeSafetensors(tensors, dtype));
    await fs.rm(path.join(dir, SAFE_INDEX_FILE), { force: true });
    return;
  }
  const pad = (k: number): string => String(k).padStart(5, '0');
  const weightMap: Record<string, string> = {};
  const groups = splitIntoShards(tensors, shards);
  for (let k = 0; k < groups.length; k++) {
    const file = `model-${pad(k + 1)}-of-${pad(groups.length)}.safetensors`;
    await writeAtomic(path.join(dir, file), encodeSafetensors(groups[k], dtype));
    for (const t of groups[k]) weightMap[t.name] = file;
  }
  const totalSize = tensors.reduce((s, t) => s + t.data.length * (dtype === 'F32' ? 4 : 2), 0);
  await writeAtomic(path.join(dir, SAFE_INDEX_FILE),
    `${JSON.stringify({ metadata: { total_size: totalSize }, weight_map: weightMap }, null, 2)}\n`);
  await fs.rm(path.join(dir, SAFE_WEIGHTS_FILE), { force: true });
}
