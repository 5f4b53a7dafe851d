/**
 * One view of a loaded checkpoint for the layers above `model/` (classifier, kernel, run): what f(x) needs of a
 * masked LM (BERT's layout and its relatives; ModernBERT: logits at the [MASK] row) and of a causal LM (GPT-2,
 * GPT-NeoX, the Llama layout: the next-token logits at the last real token) alike. Each family keeps its own files;
 * this is only the seam.
 * B batch, T tokens, H hidden, C label ids.
 */
import type * as tf from '@tensorflow/tfjs';
import { encode, mlmLogits } from './bert';
import { causalFamilyFor } from './causal/registry';
import type { CausalConfig, CausalFamily } from './causal/types';
import type { EncoderConfig } from './config';
import {
  MODERNBERT_LORA_TARGET, MODERNBERT_NAMES, modernBertExpectedShapes, modernBertHidden, modernBertMlmLogits, modernBertParameterGroup, type ModernBertConfig,
} from './modernbert';
import { expectedShapes, headNames, maskedLoraTarget } from './param-names';
import { parameterGroup, type Params } from './weights';

export type ModelConfig = EncoderConfig | CausalConfig | ModernBertConfig;

export const isCausalConfig = (c: ModelConfig): c is CausalConfig => 'family' in c;
export const isModernBertConfig = (c: ModelConfig): c is ModernBertConfig => c.modelType === 'modernbert';

export interface LmBatch {
  inputIds: tf.Tensor2D; // int32 [B, T]
  attentionMask: tf.Tensor2D; // [B, T]
  tokenTypeIds?: tf.Tensor2D; // int32 [B, T] (masked LMs only)
}

export interface LanguageModel {
  /** 'masked': f reads the [MASK] row; 'causal': the last real token's next-token logits. */
  readonly kind: 'masked' | 'causal';
  readonly config: ModelConfig;
  /** Last hidden states [B, T, H] (causal: after the final norm). */
  hidden(params: Params, batch: LmBatch, options: { training: boolean; seed?: number }): tf.Tensor3D;
  /** LM logits of hidden states h [B, H] for the given vocabulary ids: [B, C]. */
  logits(params: Params, h: tf.Tensor2D, vocabIds: number[]): tf.Tensor2D;
  parameterGroup(name: string): 'embeddings' | 'encoder' | 'head';
  /** Most tokens one input may have (position table rows, less RoBERTa's offset). */
  readonly maxTokens: number;
  /** Every parameter of the checkpoint with its shape (canonical names). */
  expectedShapes(): Map<string, number[]>;
  /** Weights LoRA factors attach to (the attention projections; causal LMs: also the MLP's), and their layout. */
  readonly lora: { isTarget: (name: string) => boolean; layout: 'out-in' | 'in-out' };
  /**
   * The vocabulary bias added straight to the logits (a masked LM's MLM head bias), if any: its gradient is the same
   * one-hot vector for every input, so a kernel over it alone cannot tell examples apart (run/preflight.ts).
   */
  readonly outputBias?: string;
}

export function languageModel(config: ModelConfig): LanguageModel {
  if (isCausalConfig(config)) {
    const family: CausalFamily | undefined = causalFamilyFor(config.modelType);
    if (!family) throw new Error(`model/language-model.ts: no causal family reads model_type '${config.modelType}'`);
    return {
      kind: 'causal',
      config,
      hidden: (params, batch, options) => family.hidden(params, config, { inputIds: batch.inputIds, attentionMask: batch.attentionMask }, options),
      logits: (params, h, vocabIds) => family.lmLogits(params, config, h, vocabIds),
      parameterGroup: (name) => family.parameterGroup(name, config),
      maxTokens: config.maxPositions,
      expectedShapes: () => family.expectedShapes(config),
      lora: { isTarget: (name) => family.loraTarget.test(name), layout: family.loraLayout },
    };
  }
  if (isModernBertConfig(config)) {
    return {
      kind: 'masked',
      config,
      hidden: (params, batch, options) => modernBertHidden(params, config, { inputIds: batch.inputIds, attentionMask: batch.attentionMask }, options),
      logits: (params, h, vocabIds) => modernBertMlmLogits(params, config, h, vocabIds),
      parameterGroup: (name) => modernBertParameterGroup(name),
      maxTokens: config.maxPositions,
      expectedShapes: () => modernBertExpectedShapes(config),
      lora: { isTarget: (name) => MODERNBERT_LORA_TARGET.test(name), layout: 'out-in' },
      outputBias: config.decoderBias ? MODERNBERT_NAMES.decoderBias : undefined,
    };
  }
  return {
    kind: 'masked',
    config,
    hidden: (params, batch, options) => encode(params, config, batch, options),
    logits: (params, h, vocabIds) => mlmLogits(params, config, h, vocabIds),
    parameterGroup: (name) => parameterGroup(name, config),
    maxTokens: config.maxPositions - config.positionOffset,
    expectedShapes: () => expectedShapes(config),
    lora: { isTarget: (name) => maskedLoraTarget(config).test(name), layout: 'out-in' },
    outputBias: headNames(config).bias,
  };
}
