/**
 * Writes tiny random decoder-only (causal) LM checkpoints for tests — config.json + model.safetensors (F32) — with
 * the tensor names of the Hugging Face *ForCausalLM (from reference-causal.ts, independent of src/engine/model), and
 * returns the float64 weights (exactly the float32 values written) under their canonical names for the reference.
 * Norm weights are 1 + noise and biases are noise (never 1 / 0), so a missed or misplaced norm or bias shows.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { causalRefShapes, type CausalRefConfig, type CausalRefWeights } from './reference-causal';
import { prng, safetensorsBytes } from './tiny-checkpoint';

export type TinyCausalModelType = 'gpt2' | 'gpt_neox' | 'llama' | 'mistral' | 'qwen2';

export interface TinyCausalSpec {
  modelType: TinyCausalModelType;
  seed?: number;
  vocab?: number; // V, default 40
  hidden?: number; // H, default 16
  layers?: number; // default 2
  heads?: number; // nh, default 4 (gpt_neox: 2, so that a quarter of the head size is a whole number of pairs)
  kvHeads?: number; // nkv (Llama layout), default heads
  intermediate?: number; // default 24 (GPT-2: n_inner null, i.e. 4H)
  maxPositions?: number; // default 32
  tied?: boolean; // LM head tied to the token embeddings (Llama layout / NeoX; GPT-2 is always tied)
  /** GPT-2 only: store keys as the hub's gpt2 files do, without the `transformer.` prefix. */
  hubStyle?: boolean;
  /**
   * Also store the non-parameter buffers real checkpoints carry, which a loader must ignore: GPT-2 `attn.bias`
   * (the causal mask) and `attn.masked_bias`, NeoX `attention.bias`/`attention.masked_bias`/`attention.rotary_emb.inv_freq`,
   * Llama-layout `self_attn.rotary_emb.inv_freq`, and for tied models an `lm_head.weight` / `embed_out.weight` copy.
   */
  buffers?: boolean;
  /** config.json keys to add or override (e.g. rope_scaling, sliding_window, attention_bias, head_dim). */
  config?: Record<string, unknown>;
}

export interface TinyCausalCheckpoint { dir: string; config: CausalRefConfig; weights: CausalRefWeights }

function baseConfig(spec: TinyCausalSpec): CausalRefConfig {
  const V = spec.vocab ?? 40;
  const H = spec.hidden ?? 16;
  const L = spec.layers ?? 2;
  const maxPos = spec.maxPositions ?? 32;
  switch (spec.modelType) {
    case 'gpt2':
      return {
        architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', vocab_size: V, n_embd: H, n_layer: L,
        n_head: spec.heads ?? 4, n_positions: maxPos, n_ctx: maxPos, n_inner: spec.intermediate ?? null,
        activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, resid_pdrop: 0.1, embd_pdrop: 0.1, attn_pdrop: 0.1,
        initializer_range: 0.02, scale_attn_weights: true, bos_token_id: V - 1, eos_token_id: V - 1,
      };
    case 'gpt_neox':
      return {
        architectures: ['GPTNeoXForCausalLM'], model_type: 'gpt_neox', vocab_size: V, hidden_size: H,
        num_hidden_layers: L, num_attention_heads: spec.heads ?? 2, intermediate_size: spec.intermediate ?? 24,
        hidden_act: 'gelu', rotary_pct: 0.25, rotary_emb_base: 10000, max_position_embeddings: maxPos,
        layer_norm_eps: 1e-5, use_parallel_residual: true, tie_word_embeddings: spec.tied ?? false,
        attention_dropout: 0, hidden_dropout: 0, bos_token_id: 0, eos_token_id: 0, initializer_range: 0.02,
      };
    default: {
      const nh = spec.heads ?? 4;
      const common = {
        vocab_size: V, hidden_size: H, intermediate_size: spec.intermediate ?? 24, num_hidden_layers: L,
        num_attention_heads: nh, num_key_value_heads: spec.kvHeads ?? nh, hidden_act: 'silu',
        max_position_embeddings: maxPos, rms_norm_eps: 1e-5, rope_theta: 1000, tie_word_embeddings: spec.tied ?? false,
        initializer_range: 0.02, attention_dropout: 0, bos_token_id: 1, eos_token_id: 2,
      };
      if (spec.modelType === 'llama') {
        return { architectures: ['LlamaForCausalLM'], model_type: 'llama', ...common, rope_scaling: null,
          attention_bias: false, mlp_bias: false, pretraining_tp: 1 };
      }
      if (spec.modelType === 'mistral') {
        return { architectures: ['MistralForCausalLM'], model_type: 'mistral', ...common, sliding_window: null };
      }
      return { architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', ...common, use_sliding_window: false,
        sliding_window: maxPos, max_window_layers: L };
    }
  }
}

/** Writes config.json and model.safetensors into dir; returns the config and the float64 weights (canonical names). */
export async function writeTinyCausalCheckpoint(dir: string, spec: TinyCausalSpec): Promise<TinyCausalCheckpoint> {
  const config: CausalRefConfig = { ...baseConfig(spec), ...(spec.config ?? {}) };
  const rand = prng(spec.seed ?? 4321);
  const normalish = (): number => (rand() + rand() + rand() - 1.5) * 2; // mean 0, std 1, bounded by 3
  const weights: CausalRefWeights = new Map();
  const raw: { name: string; dtype: string; shape: number[]; bytes: Uint8Array }[] = [];
  const f32 = (values: Float64Array): Uint8Array => new Uint8Array(Float32Array.from(values).buffer);
  const storedName = (name: string): string =>
    spec.hubStyle && config.model_type === 'gpt2' && name.startsWith('transformer.') ? name.slice('transformer.'.length) : name;
  for (const [name, shape] of causalRefShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const isNormWeight = /(ln_\d|ln_f|layernorm|layer_norm|norm)\.weight$/.test(name);
    const isBias = name.endsWith('.bias');
    const isTable = /(wte|wpe|embed_in|embed_tokens|embed_out|lm_head)\.weight$/.test(name);
    // Conv1D stores [in, out]; nn.Linear [out, in]: scale by the fan-in either way.
    const fanIn = config.model_type === 'gpt2' ? shape[0] : shape[shape.length - 1];
    const scale = isNormWeight ? 0.2 : isBias ? 0.1 : isTable ? 0.5 : 1 / Math.sqrt(fanIn);
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) values[i] = Math.fround((isNormWeight ? 1 : 0) + scale * normalish());
    weights.set(name, { shape, values });
    raw.push({ name: storedName(name), dtype: 'F32', shape, bytes: f32(values) });
  }
  if (spec.buffers) {
    const L = config.model_type === 'gpt2' ? (config.n_layer as number) : (config.num_hidden_layers as number);
    const maxPos = spec.maxPositions ?? 32;
    const mask = (): Uint8Array => {
      const m = new Float64Array(maxPos * maxPos);
      for (let i = 0; i < maxPos; i++) for (let j = 0; j <= i; j++) m[i * maxPos + j] = 1;
      return f32(m);
    };
    for (let l = 0; l < L; l++) {
      if (config.model_type === 'gpt2') {
        raw.push({ name: storedName(`transformer.h.${l}.attn.bias`), dtype: 'F32', shape: [1, 1, maxPos, maxPos], bytes: mask() });
        raw.push({ name: storedName(`transformer.h.${l}.attn.masked_bias`), dtype: 'F32', shape: [], bytes: f32(Float64Array.of(-1e4)) });
      } else if (config.model_type === 'gpt_neox') {
        const b = `gpt_neox.layers.${l}.attention.`;
        raw.push({ name: `${b}bias`, dtype: 'F32', shape: [1, 1, maxPos, maxPos], bytes: mask() });
        raw.push({ name: `${b}masked_bias`, dtype: 'F32', shape: [], bytes: f32(Float64Array.of(-1e9)) });
        raw.push({ name: `${b}rotary_emb.inv_freq`, dtype: 'F32', shape: [1], bytes: f32(Float64Array.of(1)) });
      } else {
        raw.push({ name: `model.layers.${l}.self_attn.rotary_emb.inv_freq`, dtype: 'F32', shape: [2], bytes: f32(Float64Array.of(1, 0.1)) });
      }
    }
    const tiedCopy = config.model_type === 'gpt2' ? ['lm_head.weight', 'transformer.wte.weight']
      : config.model_type === 'gpt_neox' ? ['embed_out.weight', 'gpt_neox.embed_in.weight']
        : ['lm_head.weight', 'model.embed_tokens.weight'];
    const table = weights.get(tiedCopy[1]);
    if (table && !weights.has(tiedCopy[0]) && (config.model_type === 'gpt2' || config.tie_word_embeddings === true)) {
      raw.push({ name: tiedCopy[0], dtype: 'F32', shape: table.shape, bytes: f32(table.values) });
    }
  }
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'config.json'), JSON.stringify(config, null, 2));
  await fs.writeFile(path.join(dir, 'model.safetensors'), safetensorsBytes(raw));
  return { dir, config, weights };
}
