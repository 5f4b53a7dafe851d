/**
 * Loading any supported checkpoint folder: config.json's `model_type` picks the family — a masked LM of BERT's layout
 * (bert, roberta, xlm-roberta, distilbert, electra, albert: checkpoint.ts; any type not read elsewhere goes there, so
 * an unknown one gets config.ts's error listing every supported type), ModernBERT (modernbert/checkpoint.ts) or a
 * causal LM (gpt2, gpt_neox, llama, mistral, qwen2: causal/checkpoint.ts).
 */
import * as path from 'node:path';
import { CONFIG_FILE, exists, readJson } from './checkpoint-files';
import { inspectCheckpoint, loadCheckpoint } from './checkpoint';
import { CAUSAL_MODEL_TYPES, inspectCausalCheckpoint, loadCausalCheckpoint } from './causal';
import type { ModelConfig } from './language-model';
import { inspectModernBertCheckpoint, isModernBertType, loadModernBertCheckpoint } from './modernbert';
import type { Params } from './weights';

/** config.json's model_type, when the folder has a readable config (else undefined: the loader then says why). */
async function modelTypeOf(dir: string): Promise<unknown> {
  const file = path.join(dir, CONFIG_FILE);
  if (!(await exists(file))) return undefined;
  try {
    return ((await readJson(file)) as { model_type?: unknown } | null)?.model_type;
  } catch {
    return undefined;
  }
}

const isCausalType = (t: unknown): boolean => typeof t === 'string' && (CAUSAL_MODEL_TYPES as readonly string[]).includes(t);

/** Loads a masked- or causal-LM folder into trainable variables (the caller owns the Params). */
export async function loadAnyCheckpoint(dir: string): Promise<{ config: ModelConfig; params: Params; dir: string }> {
  const type = await modelTypeOf(dir);
  if (isModernBertType(type)) return loadModernBertCheckpoint(dir);
  if (isCausalType(type)) {
    const { config, params } = await loadCausalCheckpoint(dir);
    return { config, params, dir };
  }
  return loadCheckpoint(dir);
}

/** The checks of loadAnyCheckpoint that need only the headers (preflight). */
export async function inspectAnyCheckpoint(dir: string): Promise<{ config: ModelConfig; weightsFile: string }> {
  const type = await modelTypeOf(dir);
  if (isModernBertType(type)) return inspectModernBertCheckpoint(dir);
  if (isCausalType(type)) {
    const { config, weightsFile } = await inspectCausalCheckpoint(dir);
    return { config, weightsFile };
  }
  return inspectCheckpoint(dir);
}
