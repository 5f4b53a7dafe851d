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
  decodeTensor, encodeSafetensors, readSafetensorsFile, readSafetensorsHeader, type SafetensorsFile, type SafetensorsHeader,
  type TensorToWrite,
} from './safetensors';
import { isPickleWeights, matchTensors, paramsFromTensors, pickleRefusal, type LoadedTensor, type Params } from './weights';

export const CONFIG_FILE = 'config.json';
export const SAFE_WEIGHTS_FILE = 'model.safetensors';
export const SAFE_INDEX_FILE = 'model.safetensors.index.json';

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(() => true, () => false);
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}).`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: invalid JSON (${(e as Error).message}).`);
  }
}

/** The tensors of one safetensors file, keyed by their stored names (decoded by `read`, when the data was read). */
function tensorsOf(st: SafetensorsHeader, names?: Iterable<string>, read?: (name: string) => Float32Array): Map<string, LoadedTensor & { dtype: string }> {
  const out = new Map<string, LoadedTensor & { dtype: string }>();
  for (const name of names ?? st.entries.keys()) {
    const e = st.entries.get(name);
    if (!e) throw new Error(`${st.file}: the index lists tensor "${name}" in this file, but the file has no such tensor.`);
    const decode = read ?? (() => { throw new Error(`model/checkpoint.ts: only the header of ${st.file} was read.`); });
    out.set(name, { shape: e.shape, dtype: e.dtype, file: st.file, read: () => decode(name) });
  }
  return out;
}

/** The shard files of `model.safetensors.index.json`, each with the tensor names it holds. */
async function readShardIndex(indexFile: string): Promise<Map<string, string[]>> {
  const index = await readJson(indexFile) as { weight_map?: unknown };
  const map = index?.weight_map;
  if (typeof map !== 'object' || map === null) throw new Error(`${indexFile}: no "weight_map" object.`);
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== 'string' || shard !== path.basename(shard) || !shard.endsWith('.safetensors')) {
      throw new Error(`${indexFile}: tensor "${name}" maps to ${JSON.stringify(shard)}; expected a .safetensors file `
        + 'name in the same folder.');
    }
    byShard.set(shard, [...(byShard.get(shard) ?? []), name]);
  }
  return byShard;
}

/**
 * The tensors of a checkpoint's weights file (model.safetensors or the shard index), from each file read by `read`:
 * whole files (loadCheckpoint) or headers only (inspectCheckpoint).
 */
async function weightTensors(weights: WeightsFile, read: (file: string) => Promise<SafetensorsHeader | SafetensorsFile>): Promise<Map<string, LoadedTensor & { dtype: string }>> {
  const decoder = (st: SafetensorsHeader | SafetensorsFile) => ('bytes' in st ? (name: string) => decodeTensor(st, name) : undefined);
  if (!weights.sharded) {
    const st = await read(weights.file);
    return tensorsOf(st, undefined, decoder(st));
  }
  const out = new Map<string, LoadedTensor & { dtype: string }>();
  for (const [shard, names] of await readShardIndex(weights.file)) {
    const st = await read(path.join(path.dirname(weights.file), shard));
    for (const [n, t] of tensorsOf(st, names, decoder(st))) out.set(n, t);
  }
  return out;
}

/** Finds a pickle weight file in dir (for the refusal message), if any. */
async function findPickle(dir: string): Promise<string | undefined> {
  const files = await fs.readdir(dir).catch(() => [] as string[]);
  const hit = files.find((f) => f === 'pytorch_model.bin') ?? files.find((f) => isPickleWeights(f));
  return hit === undefined ? undefined : path.join(dir, hit);
}

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

/** Where a checkpoint's weights are: model.safetensors, else the shard index. */
interface WeightsFile { file: string; sharded: boolean }

/** The weights file of a checkpoint folder, in transformers' order; refuses pickle weights, says what is missing. */
async function locateWeights(dir: string): Promise<WeightsFile> {
  const single = path.join(dir, SAFE_WEIGHTS_FILE);
  const index = path.join(dir, SAFE_INDEX_FILE);
  if (await exists(single)) return { file: single, sharded: false };
  if (await exists(index)) return { file: index, sharded: true };
  const pickle = await findPickle(dir);
  if (pickle) throw pickleRefusal(pickle);
  throw new Error(`${single}: not found, and no ${SAFE_INDEX_FILE} either. Save the model with `
    + 'save_pretrained(..., safe_serialization=True).');
}

/**
 * Loads config.json and the safetensors weights of a BERT/RoBERTa masked-LM folder into trainable variables.
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

/** Writes bytes to a temporary file beside `file` and renames it into place. */
async function writeAtomic(file: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await fs.writeFile(tmp, bytes);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
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
