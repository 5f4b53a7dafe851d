import * as tf from '@tensorflow/tfjs';
import type { KernelParameter } from './types';

/** The model's parameter groups (model/ `parameterGroup(name, config)`). */
export type ParameterGroup = 'embeddings' | 'encoder' | 'head';

/**
 * Which parameters enter the kernel (reference code, §3.2 of docs/paper-and-reference-code.md):
 * - 'all': every parameter (the default eNTK);
 * - 'no-embeddings': all but the 'embeddings' group (reference `--exclude_embeddings`; an untied MLM decoder is in
 *   the 'head' group and stays);
 * - 'head': only the 'head' group (the kernel of training the head alone);
 * - 'biases': only tensors whose name contains "bias" (reference `--only_biases`, the BitFit kernel).
 * Never the attention key biases of the masked LMs (`…attention.self.key.bias`, DistilBERT's `…attention.k_lin.bias`,
 * ALBERT's shared `…albert_layers.0.attention.key.bias`, zero at every depth so zero in sum): adding b_k to every key adds q·b_k to all scores of a
 * query, which the softmax ignores, so ∂f/∂b_k ≡ 0. They add exactly nothing to the SGD kernel; computed in floating
 * point they only add rounding noise, whose random signs would count ±1 each in the sign kernels (the reference code
 * includes them; README "Where we deviate").
 */
export const IDENTICALLY_ZERO_GRADIENT = /attention\.(self\.key|k_lin)\.bias$|albert_layers\.\d+\.attention\.key\.bias$/; // BERT/RoBERTa/XLM-R/ELECTRA; DistilBERT; ALBERT

export type ParameterSubset = 'all' | 'no-embeddings' | 'head' | 'biases';

export function selectParameters(
  params: Map<string, tf.Variable>,
  subset: ParameterSubset,
  groupOf: (name: string) => ParameterGroup,
): KernelParameter[] {
  const keep: Record<ParameterSubset, (name: string) => boolean> = {
    all: () => true,
    'no-embeddings': (name) => groupOf(name) !== 'embeddings',
    head: (name) => groupOf(name) === 'head',
    biases: (name) => name.includes('bias'),
  };
  if (!(subset in keep)) {
    throw new Error(`kernel/parameter-subsets.ts: unknown parameter subset '${subset}'; use all, no-embeddings, head or biases`);
  }
  const selected = [...params].filter(([name]) => keep[subset](name) && !IDENTICALLY_ZERO_GRADIENT.test(name)).map(([name, variable]) => ({ name, variable }));
  if (selected.length === 0) {
    throw new Error(`kernel/parameter-subsets.ts: the subset '${subset}' selects no parameter of this model; choose another subset`);
  }
  return selected;
}

/** BERT/RoBERTa attention matrices (Hugging Face names): query, key, value and the attention output projection. */
export const ATTENTION_WEIGHT = /attention\.(self\.(query|key|value)|output\.dense)\.weight$/;

export interface LoraOptions {
  rank: number;
  /** LoRA's α: the update is (α / r)·B·A. */
  alpha: number;
  /** Seed of the random A matrices. */
  seed: number;
  /** Which weights get LoRA factors. Default: `ATTENTION_WEIGHT` (query, key, value, attention output). */
  isTarget?: (name: string) => boolean;
  /**
   * How the variable stores W: 'out-in' (the Hugging Face / PyTorch nn.Linear layout [out, in], the default) or
   * 'in-out' (Wᵀ). Attention matrices are square, so the layout cannot be inferred from the shape.
   */
  layout?: 'out-in' | 'in-out';
}

export interface LoraSubspace {
  /** The kernel parameters: each target W with its LoRA projection, plus every 'head' parameter unprojected. */
  parameters: KernelParameter[];
  /** The random A [r, in] of each target, by name. */
  loraA: Map<string, tf.Tensor2D>;
  dispose(): void;
}

/**
 * The LoRA kernel at initialisation, as a projection of the full gradients.
 *
 * LoRA (Hu et al. 2021) trains W' = W + (α/r)·B·A with B [out, r] = 0 and A [r, in] random (loralib's
 * kaiming_uniform(a = √5): A ~ U(−1/√in, 1/√in)). At initialisation, with s = α/r and G = ∂f/∂W [out, in]:
 *   ∂f/∂B = s·G·Aᵀ   [out, r],       ∂f/∂A = s·Bᵀ·G = 0   (B = 0).
 * So the LoRA eNTK is Σ_W ⟨s·G_W(x)·Aᵀ, s·G_W(x')·Aᵀ⟩ + the head's terms (the MLM head stays trainable in the
 * reference's LoRA runs, §3.2), computed here by projecting each full gradient G_W with G ↦ s·G·Aᵀ.
 *
 * Subspace argument (paper §7): ⟨G·Aᵀ, G'·Aᵀ⟩ = ⟨G, G'·AᵀA⟩ and E[AᵀA] = r·Var(A)·I = (r / (3·in))·I, so the
 * projected kernel is, in expectation, a fixed multiple of the attention weights' eNTK, and by a Johnson–Lindenstrauss
 * argument it concentrates around it as r grows: the LoRA kernel stays close to (a rescaling of) the full eNTK.
 *
 * The caller disposes the returned A matrices with `dispose()` (the variables are the model's own).
 */
export function loraSubspace(
  params: Map<string, tf.Variable>,
  groupOf: (name: string) => ParameterGroup,
  options: LoraOptions,
): LoraSubspace {
  const { rank, alpha, seed } = options;
  if (!Number.isInteger(rank) || rank < 1) throw new Error(`kernel/parameter-subsets.ts: LoRA rank ${rank} must be a positive integer`);
  const isTarget = options.isTarget ?? ((name: string) => ATTENTION_WEIGHT.test(name));
  const layout = options.layout ?? 'out-in';
  const scale = alpha / rank;
  const loraA = new Map<string, tf.Tensor2D>();
  const parameters: KernelParameter[] = [];
  let index = 0;
  for (const [name, variable] of params) {
    if (isTarget(name)) {
      if (variable.rank !== 2) throw new Error(`kernel/parameter-subsets.ts: LoRA target '${name}' has shape [${variable.shape}], expected a matrix`);
      const [rows, cols] = variable.shape as number[];
      const fanIn = layout === 'out-in' ? cols : rows;
      const bound = 1 / Math.sqrt(fanIn);
      const A = tf.randomUniform([rank, fanIn], -bound, bound, 'float32', seed * 1009 + index++) as tf.Tensor2D; // [r, in]
      loraA.set(name, A);
      parameters.push({
        name,
        variable,
        // 'out-in': G [out, in] ↦ s·G·Aᵀ [out, r];  'in-out': G = (∂f/∂W)ᵀ [in, out] ↦ s·A·G [r, out] (same inner products).
        project: (g) => (layout === 'out-in' ? tf.matMul(g as tf.Tensor2D, A, false, true) : tf.matMul(A, g as tf.Tensor2D)).mul(scale),
      });
    } else if (groupOf(name) === 'head') {
      parameters.push({ name, variable });
    }
  }
  if (loraA.size === 0) {
    throw new Error('kernel/parameter-subsets.ts: no LoRA target matched (query/key/value/attention output weights); check `isTarget`');
  }
  return { parameters, loraA, dispose: () => loraA.forEach((a) => a.dispose()) };
}
