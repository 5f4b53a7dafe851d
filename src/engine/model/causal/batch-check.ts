/** Checks shared by every causal family's forward pass: the batch's shapes and the position limit. B batch, T tokens. */
import type { CausalBatch, CausalConfig } from './types';

/** [B, T] of the batch; throws (naming `where`) when the mask does not match the ids or T exceeds the positions. */
export function checkCausalBatch(config: CausalConfig, batch: CausalBatch, where: string): [number, number] {
  const ids = batch.inputIds;
  if (ids.rank !== 2) throw new Error(`${where}: batch.inputIds must be [B, T], got shape [${ids.shape}].`);
  const [B, T] = ids.shape;
  const m = batch.attentionMask;
  if (m.rank !== 2 || m.shape[0] !== B || m.shape[1] !== T) {
    throw new Error(`${where}: batch.attentionMask has shape [${m.shape}], inputIds [${B}, ${T}]; they must match.`);
  }
  if (T > config.maxPositions) {
    throw new Error(`${where}: ${T} tokens exceed the model's ${config.maxPositions} positions (config `
      + `${config.family === 'gpt2' ? 'n_positions' : 'max_position_embeddings'}); truncate inputs to ${config.maxPositions} tokens.`);
  }
  return [B, T];
}
