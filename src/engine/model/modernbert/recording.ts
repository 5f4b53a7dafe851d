/**
 * ModernBERT as a recording model for the structured eNTK: its own forward (forward.ts) with the recorder passed
 * through, recorded as the causal families are (causal/recording.ts tappedRecordingModel): f is read at the [MASK]
 * row (maskPos). Pads are keys no real token reads (the padding mask), so their cotangents are 0 at every site.
 */
import { tappedRecordingModel, type CausalRecordHead, type CausalRecordInput } from '../causal/recording';
import type { StructuredModel } from '../../kernel/structured-types';
import type { Params } from '../weights';
import type { ModernBertConfig } from './config';
import { modernBertHidden, modernBertMlmLogits } from './forward';

export function modernBertRecordingModel(params: Params, config: ModernBertConfig, padId: number, head: CausalRecordHead): StructuredModel<CausalRecordInput> {
  return tappedRecordingModel({
    hiddenSize: config.hiddenSize,
    hidden: (batch, rec) => modernBertHidden(params, config, batch, { training: false, recorder: rec }),
    lmLogits: (h, vocabIds, rec) => modernBertMlmLogits(params, config, h, vocabIds, rec),
  }, padId, head);
}
