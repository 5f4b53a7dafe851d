/**
 * A tiny random ModernBERT checkpoint folder for the tests: config.json (transformers' keys) and model.safetensors
 * (F32) with the float64 twin's random weights (test/support/reference-modernbert.ts), rounded to float32 so that the
 * twin and the engine read the same numbers. Written with the safetensors encoder only (no model code).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { encodeSafetensors } from '../../src/engine/model/safetensors';
import { randomModernBertRefWeights, type ModernBertRefConfig, type ModernBertRefWeights } from './reference-modernbert';

/** A small ModernBERT config: 4 layers (0 and 3 global), half window 2, rotary bases small enough to matter at T ≤ 12. */
export function tinyModernBertConfig(extra: Record<string, unknown> = {}): ModernBertRefConfig {
  return {
    architectures: ['ModernBertForMaskedLM'], model_type: 'modernbert', vocab_size: 40, hidden_size: 16,
    intermediate_size: 12, num_hidden_layers: 4, num_attention_heads: 4, max_position_embeddings: 64,
    global_attn_every_n_layers: 3, local_attention: 4, global_rope_theta: 100, local_rope_theta: 10, pad_token_id: 0,
    ...extra,
  };
}

export interface TinyModernBert { dir: string; config: ModernBertRefConfig; weights: ModernBertRefWeights }

/** Writes the folder; `storedName` renames tensors in the file (e.g. a bare ModernBertModel's keys). */
export async function writeTinyModernBert(dir: string, config: ModernBertRefConfig, seed: number, storedName = (n: string) => n): Promise<TinyModernBert> {
  const weights = randomModernBertRefWeights(config, seed);
  for (const t of weights.values()) t.values.forEach((v, i) => { t.values[i] = Math.fround(v); });
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(config));
  await fs.writeFile(path.join(dir, 'model.safetensors'), encodeSafetensors(
    [...weights].map(([name, t]) => ({ name: storedName(name), shape: t.shape, data: Float32Array.from(t.values) })), 'F32'));
  return { dir, config, weights };
}
