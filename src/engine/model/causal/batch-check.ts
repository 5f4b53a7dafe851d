/** Checks shared by every forward built from model/layers/: the batch's shapes and the position limit. B batch, T tokens. */
import type { CausalBatch, CausalConfig } from './types';

/**
 * [B, T] of the batch; throws (naming `where`) when the mask does not match the ids or T exceeds the model's
 * `maxPositions` (config.json's `positionsKey`).
 */
export function checkLmBatch(batch: CausalBatch, maxPositions: number, positionsKey: string, where: string): [number, number] {
  const ids = batch.inputIds;
  if (ids.rank !== 2) throw new Error(`${where}: batch.inputIds must be [B, T], got shape [${ids.shape}].`);
  const [B, T] = ids.shape;
  const m = batch.attentionMask;
  if (m.rank !== 2 || m.shape[0] !== B || m.shape[1] !== T) {
    throw new Error(`${where}: batch.attentionMask has shape [${m.shape}], inputIds [${B}, ${T}]; they must match.`);
  }
  if (T > maxPositions) {
    throw new Error(`${where}: ${T} tokens exceed the model's ${maxPositions} positions (config `
      + `${positionsKey}); truncate inputs to ${maxPositions} tokens.`);
  }
  return [B, T];
}

/** checkLmBatch for a causal family (GPT-2 names its limit n_positions). */
export function checkCausalBatch(config: CausalConfig, batch: CausalBatch, where: string): [number, number] {
  return checkLmBatch(batch, config.maxPositions, config.family === 'gpt2' ? 'n_positions' : 'max_position_embeddings', where);
}
