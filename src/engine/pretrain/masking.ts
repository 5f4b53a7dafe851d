/**
 * BERT's masked-language-model corruption (Devlin et al., 2019, §3.1 and appendix A.1), seeded.
 *
 * Every non-special token is selected with probability `maskProb` (0.15). A selected token becomes [MASK] with
 * probability 0.8, a random ordinary token with probability 0.1, and stays unchanged with probability 0.1; the
 * model must predict the original token at every selected position, and only there.
 * The positions are returned flat (b·T + t) so that the caller can gather just those hidden states before the MLM
 * decoder: the decoder ([H] → [V]) then runs on M ≈ 0.15·B·T rows instead of B·T.
 */
import { Rng } from './rng';

export interface MaskingOptions {
  maskProb: number; // 0.15
  maskTokenId: number;
  vocabSize: number;
  /** Token ids never selected and never drawn as random replacements ([CLS], [SEP], [PAD], [MASK], [UNK]). */
  specialIds: readonly number[];
}

export interface MaskedBatch {
  /** Corrupted input ids, [B·T] row-major. */
  inputIds: Int32Array;
  /** Flat indices b·T + t of the selected positions, ascending, [M]. */
  positions: Int32Array;
  /** The original token at each selected position, [M]. */
  labels: Int32Array;
}

/**
 * Corrupts a batch of token blocks ([B·T] row-major). Draws from `rng` in a fixed order (per position: one draw for
 * selection; per selected position: one for the 80/10/10 choice and, for a random replacement, one or more for the
 * token), so a saved RNG state reproduces the same masks. At least one position is selected per call (if none was
 * drawn, the first non-special position is), so every batch has a loss.
 */
export function maskTokens(tokens: Int32Array, rng: Rng, opts: MaskingOptions): MaskedBatch {
  const special = new Set(opts.specialIds);
  if (special.size >= opts.vocabSize) throw new Error('masking.ts: every vocabulary id is special; nothing can be drawn as a random replacement');
  const inputIds = Int32Array.from(tokens);
  const positions: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const selected = rng.next() < opts.maskProb;
    if (!selected || special.has(tokens[i])) continue;
    positions.push(i);
    labels.push(tokens[i]);
    const r = rng.next();
    if (r < 0.8) {
      inputIds[i] = opts.maskTokenId;
    } else if (r < 0.9) {
      let id: number;
      do id = rng.int(opts.vocabSize); while (special.has(id));
      inputIds[i] = id;
    } // else: unchanged
  }
  if (positions.length === 0) {
    const i = tokens.findIndex((t) => !special.has(t));
    if (i >= 0) {
      positions.push(i);
      labels.push(tokens[i]);
      inputIds[i] = opts.maskTokenId;
    }
  }
  return { inputIds, positions: Int32Array.from(positions), labels: Int32Array.from(labels) };
}
