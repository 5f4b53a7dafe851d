/**
 * Checkpoint folders in the Hugging Face layout for the families built from model/layers/ (the causal ones here,
 * ModernBERT through its own CheckpointFormat): config.json plus model.safetensors, or the shards of
 * model.safetensors.index.json (transformers' order); tensors under the family's canonical names, its ignored buffers
 * skipped, the exact key set and shapes asserted. Also the F32 writer and seeded random parameters.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import {
  CONFIG_FILE, exists, locateWeights, readJson, SAFE_INDEX_FILE, SAFE_WEIGHTS_FILE, weightTensors, writeAtomic,
} from '../checkpoint-files';
import { INIT_STD } from '../random-init';
import { encodeSafetensors, readSafetensorsFile, readSafetensorsHeader, type TensorToWrite } from '../safetensors';
import { isPickleWeights, pickleRefusal, toVariable, type LoadedTensor, type Params } from '../weights';
import { causalFamilyOf, parseCausalConfig } from './registry';
import type { CausalConfig, CausalFamily } from './types';

/**
 * What reading and writing a family's checkpoint folder needs: its config.json reader and writer, the refusal of
 * pickled weights, and its tensor names (TensorNaming). Every causal family (CAUSAL_FORMAT) and ModernBERT
 * (modernbert/checkpoint.ts) use the functions below through one.
 */
export interface CheckpointFormat<C extends NamedShape> extends TensorNaming<C> {
  parseConfig(raw: unknown, file: string): C;
  configToJson(config: C): Record<string, unknown>;
  /** The error for a folder of .bin/.pt weights (weights.ts pickleRefusal with the family's Auto class). */
  refusal(file: string): Error;
}

/** config.json of a checkpoint folder, normalised by the format's reader. */
async function readFolderConfig<C extends NamedShape>(dir: string, format: CheckpointFormat<C>): Promise<C> {
  if (isPickleWeights(dir)) throw format.refusal(dir);
  const file = path.join(dir, CONFIG_FILE);
  if (!(await exists(file))) {
    throw new Error(`${file}: not found. A checkpoint folder needs config.json and model.safetensors `
      + `(or ${SAFE_INDEX_FILE} with its shards).`);
  }
  return format.parseConfig(await readJson(file), file);
}

/** Every stored tensor of the folder's weight files, keyed by stored name; `data` false reads headers only. */
async function storedTensors(dir: string, refusal: (file: string) => Error, data: boolean): Promise<{ source: string; tensors: Map<string, LoadedTensor & { dtype: string }> }> {
  const weights = await locateWeights(dir, refusal);
  return { source: weights.file, tensors: await weightTensors(weights, data ? readSafetensorsFile : readSafetensorsHeader) };
}

const shapeText = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** What matching a folder's tensors needs of a family: every causal family, and ModernBERT (modernbert/checkpoint.ts). */
export interface TensorNaming<C> {
  expectedShapes(config: C): Map<string, number[]>;
  canonicalName(key: string, config: C): string;
  ignoredTensor(name: string, config: C): boolean;
}

/** The config fields the messages of matchCausalTensors name. */
interface NamedShape { modelType: string; numLayers: number; hiddenSize: number; tieWordEmbeddings: boolean }

/**
 * The stored tensors under their canonical names, asserting the exact expected key set and shapes (ignored buffers
 * skipped). Throws naming `source` (file or index) and the tensors at fault.
 */
export function matchCausalTensors<T extends { shape: number[]; file: string }, C extends NamedShape = CausalConfig>(
  tensors: Map<string, T>, config: C, family: TensorNaming<C>, source: string,
): Map<string, T> {
  const expected = family.expectedShapes(config);
  const found = new Map<string, T>();
  const storedAs = new Map<string, string>();
  const unexpected: string[] = [];
  for (const [key, t] of tensors) {
    const name = family.canonicalName(key, config);
    if (expected.has(name)) {
      if (found.has(name)) throw new Error(`${t.file}: tensors "${storedAs.get(name)}" and "${key}" are both "${name}".`);
      found.set(name, t);
      storedAs.set(name, key);
    } else if (!family.ignoredTensor(name, config)) {
      unexpected.push(`"${key}" (${t.file})`);
    }
  }
  const missing = [...expected].filter(([name]) => !found.has(name));
  if (missing.length > 0) {
    const list = missing.slice(0, 5).map(([n, s]) => `"${n}" with shape ${shapeText(s)}`).join(', ');
    throw new Error(`${source}: missing tensor ${list}${missing.length > 5 ? ` and ${missing.length - 5} more` : ''}. `
      + `The checkpoint does not match config.json (${config.modelType}, ${config.numLayers} layers, hidden `
      + `${config.hiddenSize}, ${config.tieWordEmbeddings ? 'tied' : 'untied'} LM head).`);
  }
  for (const [name, t] of found) {
    const want = expected.get(name)!;
    if (want.length !== t.shape.length || want.some((d, i) => d !== t.shape[i])) {
      throw new Error(`${t.file}: tensor "${storedAs.get(name)}" has shape ${shapeText(t.shape)}, expected ${shapeText(want)} from config.json.`);
    }
  }
  if (unexpected.length > 0) {
    throw new Error(`${source}: unexpected tensor ${unexpected.slice(0, 5).join(', ')}`
      + `${unexpected.length > 5 ? ` and ${unexpected.length - 5} more` : ''}; this is not a plain ${config.modelType} `
      + `${'family' in config ? 'causal-LM' : 'masked-LM'} checkpoint for this config.json.`);
  }
  return found;
}

/** The causal families as one checkpoint format: config.json's model_type picks the family (causal/registry.ts). */
const CAUSAL_FORMAT: CheckpointFormat<CausalConfig> = {
  parseConfig: parseCausalConfig,
  configToJson: (c) => causalFamilyOf(c).configToJson(c),
  refusal: (file) => pickleRefusal(file, 'AutoModelForCausalLM'),
  expectedShapes: (c) => causalFamilyOf(c).expectedShapes(c),
  canonicalName: (key, c) => causalFamilyOf(c).canonicalName(key),
  ignoredTensor: (name, c) => causalFamilyOf(c).ignoredTensor(name, c),
};

/**
 * Loads config.json and the safetensors weights (F32/F16/BF16) of a folder in `format` into trainable variables keyed
 * by canonical names. The caller owns the Params (dispose with disposeParams).
 */
export async function loadFolder<C extends NamedShape>(dir: string, format: CheckpointFormat<C>): Promise<{ config: C; params: Params }> {
  const config = await readFolderConfig(dir, format);
  const { source, tensors } = await storedTensors(dir, format.refusal, true);
  const found = matchCausalTensors(tensors, config, format, source);
  const params: Params = new Map();
  try {
    for (const name of format.expectedShapes(config).keys()) {
      const t = found.get(name)!;
      params.set(name, toVariable(tf.tensor(t.read(), t.shape, 'float32')));
    }
  } catch (e) {
    for (const v of params.values()) v.dispose();
    throw e;
  }
  return { config, params };
}

/** loadFolder's checks without the tensor data (headers only): config, files, names, shapes, dtypes. */
export async function inspectFolder<C extends NamedShape>(dir: string, format: CheckpointFormat<C>): Promise<{ config: C; weightsFile: string }> {
  const config = await readFolderConfig(dir, format);
  const { source, tensors } = await storedTensors(dir, format.refusal, false);
  for (const [name, t] of matchCausalTensors(tensors, config, format, source)) {
    if (!['F32', 'F16', 'BF16'].includes(t.dtype)) {
      throw new Error(`${t.file}: tensor "${name}" has dtype ${t.dtype}; only F32, F16 and BF16 weights can be loaded.`);
    }
  }
  return { config, weightsFile: source };
}

/** Writes config.json and model.safetensors (F32, canonical names, checkpoint order); removes a stale shard index. */
export async function saveFolder<C extends NamedShape>(dir: string, config: C, format: CheckpointFormat<C>, params: Params): Promise<void> {
  const tensors: TensorToWrite[] = [];
  for (const [name, shape] of format.expectedShapes(config)) {
    const v = params.get(name);
    if (!v) throw new Error(`model/causal/checkpoint.ts saveFolder: params lack "${name}" (shape ${shapeText(shape)}).`);
    tensors.push({ name, shape: v.shape, data: Float32Array.from(await v.data() as Float32Array) });
  }
  await fs.mkdir(dir, { recursive: true });
  await writeAtomic(path.join(dir, CONFIG_FILE), `${JSON.stringify(format.configToJson(config), null, 2)}\n`);
  await writeAtomic(path.join(dir, SAFE_WEIGHTS_FILE), encodeSafetensors(tensors, 'F32'));
  await fs.rm(path.join(dir, SAFE_INDEX_FILE), { force: true });
}

/** A GPT-2, GPT-NeoX or Llama-layout folder (loadFolder), with its family. */
export async function loadCausalCheckpoint(dir: string): Promise<{ config: CausalConfig; family: CausalFamily; params: Params; dir: string }> {
  const { config, params } = await loadFolder(dir, CAUSAL_FORMAT);
  return { config, family: causalFamilyOf(config), params, dir };
}

/** loadCausalCheckpoint's checks without the tensor data (inspectFolder). */
export async function inspectCausalCheckpoint(dir: string): Promise<{ config: CausalConfig; family: CausalFamily; weightsFile: string }> {
  const { config, weightsFile } = await inspectFolder(dir, CAUSAL_FORMAT);
  return { config, family: causalFamilyOf(config), weightsFile };
}

/** saveFolder for a causal config. */
export async function saveCausalCheckpoint(dir: string, config: CausalConfig, params: Params): Promise<void> {
  await saveFolder(dir, config, CAUSAL_FORMAT, params);
}

/**
 * Norm weights (LayerNorm γ, RMSNorm weight) of every family: ln_1/ln_2/ln_f, *_layernorm, final_layer_norm,
 * model.norm; ModernBERT's attn_norm, mlp_norm, final_norm, embeddings.norm and head.norm.
 */
const NORM_WEIGHT = /(^|\.)(ln_\w+|\w*layernorm|\w*_norm|norm)\.weight$/;

/**
 * Fresh trainable Params for `config`: weights ~ normal(0, 0.02), biases 0, norm weights 1. The same (config, seed)
 * gives the same values on every backend (tfjs draws seeded normals in JS), one stream per tensor as randomParams.
 */
export function randomCausalParams(config: CausalConfig, seed: number): Params {
  return randomParamsOfShapes(causalFamilyOf(config).expectedShapes(config), seed);
}

/** randomCausalParams for any family's expected shapes (norm weights 1, biases 0, the rest normal(0, 0.02)). */
export function randomParamsOfShapes(shapes: Map<string, number[]>, seed: number): Params {
  const params: Params = new Map();
  let k = 0;
  for (const [name, shape] of shapes) {
    const tensorSeed = seed * 7919 + k++;
    const t = NORM_WEIGHT.test(name) ? tf.ones(shape) : name.endsWith('.bias') ? tf.zeros(shape)
      : tf.randomNormal(shape, 0, INIT_STD, 'float32', tensorSeed);
    params.set(name, toVariable(t));
  }
  return params;
}
