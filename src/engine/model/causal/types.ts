/**
 * The contract every decoder-only (causal) language-model family implements: GPT-2, GPT-NeoX (Pythia) and the Llama
 * layout (Llama, Mistral, Qwen2, SmolLM, TinyLlama). Each family is a folder beside this file (`gpt2/`, `gpt-neox/`,
 * `llama/`) built from the shared layer pieces in `model/layers/`; `causal/registry.ts` maps config.json's
 * `model_type` to its family. Params are keyed by the Hugging Face *ForCausalLM tensor names.
 *
 * Prompt semantics (docs/paper-and-reference-code.md, adapted): f(x) = the next-token logits at the LAST real token
 * for the C label words. Batches are right-padded; with the causal mask a real token never attends to a pad (pads
 * come after it), and positions are 0..len−1, so the result does not depend on the batching or the padding.
 * B batch, T tokens, H hidden, nh query heads, nkv key/value heads, hs head size, V vocabulary, C label ids.
 */
import type * as tf from '@tensorflow/tfjs';
import type { LayerRecorder } from '../layers/recorder';
import type { Params } from '../weights';

export type CausalFamilyName = 'gpt2' | 'gpt-neox' | 'llama';

/** Rotary position embedding (RoPE), "rotate_half" form on the first `rotaryDim` dims of each head. */
export interface RotaryConfig {
  /** Base θ (config `rope_theta`, NeoX `rotary_emb_base`). */
  readonly theta: number;
  /** Dims of each head that rotate (even; NeoX: head size × rotary_pct; Llama: the head size). */
  readonly rotaryDim: number;
  /** config `rope_scaling`: none, linear (positions / factor), or Llama 3's frequency-dependent scaling. */
  readonly scaling?:
    | { readonly type: 'linear'; readonly factor: number }
    | { readonly type: 'llama3'; readonly factor: number; readonly lowFreqFactor: number; readonly highFreqFactor: number; readonly originalMaxPositions: number };
}

export interface CausalConfig {
  readonly family: CausalFamilyName;
  /** config.json `model_type` as given: 'gpt2', 'gpt_neox', 'llama', 'mistral', 'qwen2'. */
  readonly modelType: string;
  readonly vocabSize: number; // V
  readonly hiddenSize: number; // H
  readonly numLayers: number;
  readonly numHeads: number; // nh (query heads)
  readonly numKeyValueHeads: number; // nkv; nh % nkv = 0 (GQA); nkv = nh for multi-head attention
  readonly headDim: number; // hs
  readonly intermediateSize: number; // MLP width
  /** Longest sequence the model takes (GPT-2: n_positions; rotary models: max_position_embeddings). */
  readonly maxPositions: number;
  readonly normEps: number;
  /** 'gelu_new' | 'gelu' | 'gelu_pytorch_tanh' | 'relu' | 'silu' (SwiGLU's gate activation for Llama). */
  readonly hiddenAct: string;
  /** The LM head is the token embedding matrix (GPT-2 always; Pythia no; Llama per config). */
  readonly tieWordEmbeddings: boolean;
  readonly bosTokenId?: number;
  readonly eosTokenId?: number;
  readonly padTokenId?: number;
  /** Absent: learned absolute positions (GPT-2). */
  readonly rotary?: RotaryConfig;
  /**
   * Biases on the q/k/v projections (GPT-2, Qwen2: true; NeoX: config `attention_bias`, default true; Llama: config
   * `attention_bias`, default false; Mistral: false).
   */
  readonly qkvBias: boolean;
  /**
   * Bias on the attention output projection (GPT-2: true; NeoX: config `attention_bias`, default true; Llama: config
   * `attention_bias`, as q/k/v; Mistral and Qwen2: false).
   */
  readonly outputBias: boolean;
  /** Biases on the MLP projections (GPT-2, NeoX: true; Llama: config `mlp_bias`, default false; Mistral, Qwen2: false). */
  readonly mlpBias: boolean;
  /** GPT-NeoX: x + attn(ln1 x) + mlp(ln2 x) instead of the sequential residual. */
  readonly parallelResidual: boolean;
  /** Mistral's sliding window (keys further back are masked); undefined: full causal attention. */
  readonly slidingWindow?: number;
  /** Dropout rates, used only when training (absent: 0). GPT-2: embd_pdrop; NeoX: hidden_dropout. */
  readonly embeddingDropout?: number;
  /** On the attention probabilities. GPT-2: attn_pdrop; NeoX, Llama layout: attention_dropout. */
  readonly attentionDropout?: number;
  /** On the attention and MLP outputs before each residual add. GPT-2: resid_pdrop; NeoX: hidden_dropout. */
  readonly hiddenDropout?: number;
}

/** A batch of right-padded token ids. */
export interface CausalBatch {
  inputIds: tf.Tensor2D; // int32 [B, T]
  attentionMask: tf.Tensor2D; // [B, T], 1 for real tokens (a prefix of each row), 0 for padding
}

export interface CausalForwardOptions {
  /** Dropout on where the config has any (GPT-2's resid/attn/embd pdrop); Llama-layout models have none. */
  training: boolean;
  seed?: number;
  /** The structured eNTK's recording (causal/recording.ts): every parameterised layer reports its site to it. */
  recorder?: LayerRecorder;
}

export type ParameterGroupName = 'embeddings' | 'encoder' | 'head';

export interface CausalFamily {
  readonly name: CausalFamilyName;
  /** config.json model_type values this family reads. */
  readonly modelTypes: readonly string[];
  /** Normalises a parsed config.json; errors name `file` and the key. */
  parseConfig(raw: Record<string, unknown>, file: string): CausalConfig;
  /** The config.json that parseConfig reads back to `config` (for saving random checkpoints). */
  configToJson(config: CausalConfig): Record<string, unknown>;
  /** Every parameter the model needs (canonical HF *ForCausalLM names), in checkpoint order, with its shape. */
  expectedShapes(config: CausalConfig): Map<string, number[]>;
  /** Checkpoint key → canonical name (e.g. GPT-2 hub files lack the `transformer.` prefix). */
  canonicalName(key: string): string;
  /** Buffers checkpoints carry that the model does not use (GPT-2 `attn.bias`/`attn.masked_bias`, rotary inv_freq, a tied lm_head). */
  ignoredTensor(name: string, config: CausalConfig): boolean;
  /** Last hidden states after the final norm, [B, T, H]. Leaks no tensors. */
  hidden(params: Params, config: CausalConfig, batch: CausalBatch, options: CausalForwardOptions): tf.Tensor3D;
  /**
   * LM-head logits from hidden states h [B, H]: [B, V], or [B, C] for the given vocabulary ids (gathers only those
   * rows); a recorder (recording) is told of the head's rows.
   */
  lmLogits(params: Params, config: CausalConfig, h: tf.Tensor2D, vocabIds?: number[], recorder?: LayerRecorder): tf.Tensor2D;
  /** 'embeddings' (token/position tables), 'head' (the untied LM head; the final norm counts as 'encoder'), else 'encoder'. */
  parameterGroup(name: string, config: CausalConfig): ParameterGroupName;
  /** LoRA targets: the attention and MLP projection weights. */
  readonly loraTarget: RegExp;
  /** How the projection weights are stored: 'out-in' (nn.Linear) or 'in-out' (GPT-2's Conv1D). */
  readonly loraLayout: 'out-in' | 'in-out';
}
