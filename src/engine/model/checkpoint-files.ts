/**
 * The files of a Hugging Face checkpoint folder, whatever the model family: config.json, `model.safetensors` or the
 * shards listed in `model.safetensors.index.json` (`{ metadata: { total_size }, weight_map: { tensorName: shardFile } }`),
 * found in transformers' order; pickle weights refused. Shared by the masked-LM (checkpoint.ts) and causal-LM
 * (causal/checkpoint.ts) loaders, which add their own names and shapes.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { decodeTensor, type SafetensorsFile, type SafetensorsHeader } from './safetensors';
import { isPickleWeights, pickleRefusal, type LoadedTensor } from './weights';

export const CONFIG_FILE = 'config.json';
export const SAFE_WEIGHTS_FILE = 'model.safetensors';
export const SAFE_INDEX_FILE = 'model.safetensors.index.json';

export async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(() => true, () => false);
}

export async function readJson(file: string): Promise<unknown> {
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
export async function weightTensors(weights: WeightsFile, read: (file: string) => Promise<SafetensorsHeader | SafetensorsFile>): Promise<Map<string, LoadedTensor & { dtype: string }>> {
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

/** Where a checkpoint's weights are: model.safetensors, else the shard index. */
export interface WeightsFile { file: string; sharded: boolean }

/** The weights file of a checkpoint folder, in transformers' order; refuses pickle weights, says what is missing. */
export async function locateWeights(dir: string, refusal: (file: string) => Error = pickleRefusal): Promise<WeightsFile> {
  const single = path.join(dir, SAFE_WEIGHTS_FILE);
  const index = path.join(dir, SAFE_INDEX_FILE);
  if (await exists(single)) return { file: single, sharded: false };
  if (await exists(index)) return { file: index, sharded: true };
  const pickle = await findPickle(dir);
  if (pickle) throw refusal(pickle);
  throw new Error(`${single}: not found, and no ${SAFE_INDEX_FILE} either. Save the model with `
    + 'save_pretrained(..., safe_serialization=True).');
}

/** Writes bytes to a temporary file beside `file` and renames it into place. */
export async function writeAtomic(file: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await fs.writeFile(tmp, bytes);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

