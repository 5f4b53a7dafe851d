/**
 * Will this run fit? An estimate of the peak memory of one (template, seed) from the model's shapes and the run's
 * settings, per backend, made before anything is loaded (preflight), so that a run that cannot fit is refused with
 * the figures and the remedy instead of failing an hour in (or, on wasm, corrupting its heap: a failed allocation
 * there does not throw cleanly).
 *
 * The two phases of a seed do not overlap; the weights are shared:
 *   fine-tuning  = θ0 snapshot + best-dev copy (+ Adam's 2 moments) of the TRAINED parameters, plus the larger of
 *                  the backward pass (the activations one batch keeps + the gradients as they are formed) and the
 *                  update after it (the gradients + their clipped copy + the update's and the embedding gradient's
 *                  buffers, 4 × the largest tensor: a tied LM head adds its own): the activations are freed when the
 *                  backward pass ends, before clipping;
 *   kernel       = the held per-example gradients (bounded by the gradient budget the kernel is given) plus the
 *                  structured kernel's recording budget, plus an evaluated example's gradients while they are split
 *                  and transposed (2 vectors).
 * Activations per token and layer, in floats: 80·H + a·I + 12·nh·T. That is what tfjs's tape keeps (every op's inputs
 * and outputs: the norms' ~10 elementwise steps, the heads' transposed copies, dropout masks and outputs, the
 * residuals): measured on each kind of layer (test/unit/engine/run/memory-activations.test.ts: BERT's, ALBERT's
 * shared one, GPT-2's, Llama's) as 74–80·H, a = 5 for the GELUs (layer-ops.ts keeps y' from the forward: the
 * composed tanh GELU had kept its ~10 steps, 20–22·I) and ReLU, 6 for SwiGLU, and 7–12 per score (nh·T). Then 15 %
 * for the allocator and the heap's growth steps (the wasm heap only grows).
 * Checked against the live peaks and heap sizes `npm run bench:models` measures (bench/RESULTS.md): the estimate
 * must stay above them; the bench prints both. (Until session 7 the activation term was 12·H + (2 or 6)·I + 3·nh·T,
 * 4–5× too small: hidden in big models by their parameter terms, it let ALBERT, few parameters and many activations,
 * pass at 2.2 GiB where one step keeps 2.4.)
 * B batch, T tokens (max_length), H hidden, I MLP width, nh heads, L layers, P parameters.
 */

import { isModernBertConfig, type ModelConfig } from '../model/language-model';

/** What the estimate needs of the model (from config.json through its family's expected shapes). */
export interface ModelShape {
  /** Every parameter of the checkpoint (the weights that are loaded). */
  parameters: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  /** Elements of the largest parameter tensor (the token embedding, V·H): the update's transients scale with it. */
  largestTensor?: number;
  /**
   * Activations the MLP keeps per token and layer, in units of its width I: 5 for the GELUs (exact and tanh, each one
   * step with its derivative kept) and ReLU, 6 for SwiGLU, 18 for ModernBERT's layer (GeGLU from one fused Wi [2I, H]:
   * measured at about BERT's layer + 9·I + 3·H per token, which 18·I covers from I = 1.5·H, ModernBERT-base's, up to
   * 4·H; memory-activations.test.ts checks both); the default 22 is the safe side
   * (an activation composed of ~10 kept steps, as the tanh GELU was until session 7). `mlpActivationFactor` gives it
   * from the config's MLP kind (`mlpKindOf`).
   */
  mlpActivations?: number;
}

/** What mlpActivationFactor reads of a model: its hidden_act, or 'geglu' for ModernBERT's gated GELU MLP. */
export function mlpKindOf(config: ModelConfig): string {
  return isModernBertConfig(config) ? 'geglu' : config.hiddenAct;
}

/** The MLP's kept activations per token and layer, in units of I, for a config's MLP kind (mlpKindOf; see ModelShape). */
export function mlpActivationFactor(hiddenAct: string): number {
  // exact and tanh GELU keep y' alone (one fused step each, layer-ops.ts), ReLU its mask
  if (hiddenAct === 'gelu' || hiddenAct === 'gelu_new' || hiddenAct === 'gelu_pytorch_tanh' || hiddenAct === 'relu') return 5;
  if (hiddenAct === 'silu' || hiddenAct === 'swish') return 6;
  if (hiddenAct === 'geglu') return 18;
  return 22; // anything not measured: what a composed activation of ~10 kept steps takes
}

export interface FitSettings {
  /** Parameters that fine-tuning trains (= the kernel's parameter set; LoRA: the factors and the head). */
  trainedParameters: number;
  optimizer: 'sgd' | 'adam';
  batchSize: number;
  /** max_length (tokens per input). */
  maxLength: number;
  /** Fine-tuning runs (false for `ntk-lens kernel`). */
  finetune: boolean;
  /** Kernels are computed (false for fine-tuning only). */
  kernels: boolean;
  /** Bytes the kernel may hold in per-example gradients (the budget it is given). */
  gradientBudgetBytes: number;
  /** Bytes one structured recording may keep. */
  recordBudgetBytes: number;
  /** Gradient clipping (finetune.max_grad_norm > 0, the default): a full copy of the gradients while it runs. */
  clipGradients?: boolean;
}

export interface MemoryItem { what: string; bytes: number }

export interface MemoryEstimate {
  items: MemoryItem[];
  /** Peak bytes: the weights plus the larger of the two phases. */
  peakBytes: number;
  /** The phase that sets the peak. */
  peakPhase: 'fine-tuning' | 'kernel';
  /** The activations of one fine-tuning batch (0 without fine-tuning): the batch-size remedy scales them. */
  activationBytes: number;
  /** The backend's hard limit, where it has one (wasm: its 32-bit heap). */
  limitBytes?: number;
  fits: boolean;
}

/** tfjs-wasm's heap is a 32-bit WebAssembly memory: 4 GiB at most, whatever the machine has. */
export const WASM_HEAP_BYTES = 4 * 2 ** 30;
const F32 = 4;

/** Share of the peak added for the allocator's fragmentation and the heap's growth steps. */
export const ALLOCATOR_SLACK = 0.15;

/** The activation bytes one training batch keeps for its backward pass (see the file comment). */
export function activationBytes(shape: ModelShape, batchSize: number, maxLength: number): number {
  const { hiddenSize: H, intermediateSize: I, numHeads: nh, numLayers: L } = shape;
  const T = maxLength;
  return F32 * batchSize * T * L * (80 * H + (shape.mlpActivations ?? 22) * I + 12 * nh * T);
}

export function estimateMemory(shape: ModelShape, s: FitSettings, backend: string): MemoryEstimate {
  const weights = F32 * shape.parameters;
  const Pt = s.trainedParameters;
  const largest = Math.min(Pt, shape.largestTensor ?? 0);
  // The backward pass keeps the activations while the gradients form; after it, the activations are gone and the
  // gradients meet their clipped copy and the update's buffers: the larger of the two counts (one item, both named).
  const activations = activationBytes(shape, s.batchSize, s.maxLength);
  const clip = s.clipGradients ?? true;
  const backward = activations + F32 * Pt;
  const update = F32 * Pt * (clip ? 2 : 1) + 4 * F32 * largest;
  const ft: MemoryItem[] = s.finetune ? [
    { what: 'θ0 snapshot and best-dev copy of the trained parameters', bytes: 2 * F32 * Pt },
    ...(s.optimizer === 'adam' ? [{ what: 'Adam moments (2 per trained parameter)', bytes: 2 * F32 * Pt }] : []),
    {
      what: `the larger of the backward pass (activations of one batch, batch_size ${s.batchSize} × max_length ${s.maxLength}: `
        + `${fmtBytes(activations)}, and the gradients: ${fmtBytes(F32 * Pt)}) and the update after it (the gradients`
        + `${clip ? ', their clipped copy (max_grad_norm)' : ''} and 4 × the largest tensor for the update's and the embedding gradient's buffers: ${fmtBytes(update)})`,
      bytes: Math.max(backward, update),
    },
  ] : [];
  const kernel: MemoryItem[] = s.kernels ? [
    { what: 'held per-example gradients (the kernel\'s gradient budget)', bytes: s.gradientBudgetBytes },
    { what: 'an evaluated example\'s gradients while split and transposed (2 vectors)', bytes: 2 * F32 * Pt },
    { what: 'one structured recording (activations and cotangents)', bytes: s.recordBudgetBytes },
  ] : [];
  const sum = (xs: MemoryItem[]) => xs.reduce((a, x) => a + x.bytes, 0);
  const peakPhase = sum(ft) >= sum(kernel) ? 'fine-tuning' : 'kernel';
  const live = weights + Math.max(sum(ft), sum(kernel));
  const slack = { what: `allocator and heap growth (${ALLOCATOR_SLACK * 100} %)`, bytes: Math.round(ALLOCATOR_SLACK * live) };
  const peakBytes = live + slack.bytes;
  const limitBytes = backend === 'wasm' ? WASM_HEAP_BYTES : undefined;
  return {
    items: [{ what: `weights (${fmtCount(shape.parameters)} parameters)`, bytes: weights }, ...ft, ...kernel, slack],
    peakBytes,
    peakPhase,
    activationBytes: s.finetune ? activations : 0,
    limitBytes,
    fits: limitBytes === undefined || peakBytes <= limitBytes,
  };
}

/** The refusal (or nothing): every figure, then the remedies that apply, most effective first. */
export function fitProblem(e: MemoryEstimate, s: FitSettings, backend: string): string | undefined {
  if (e.fits) return undefined;
  const lines = e.items.map((i) => `  ${fmtBytes(i.bytes).padStart(9)}  ${i.what}`);
  const remedies: string[] = [];
  const act = e.activationBytes;
  if (e.peakPhase === 'fine-tuning') {
    if (s.optimizer === 'adam' || s.trainedParameters > 1e7) remedies.push("'parameters: lora' (trains and differentiates only the LoRA factors and the head)");
    if (act > 0.25 * e.peakBytes && s.batchSize > 1) remedies.push(`a smaller finetune.batch_size (activations scale with it: ${s.batchSize} → ${Math.max(1, s.batchSize >> 1)} halves ${fmtBytes(act)})`);
    if (s.optimizer === 'adam') remedies.push("optimizer: sgd (no Adam moments)");
  } else {
    remedies.push('a smaller memory budget for the kernel (--memory-mb / ntkLens.memoryBudgetMB): more passes, same kernel');
  }
  remedies.push(`backend: tensorflow (@tensorflow/tfjs-node has no ${fmtBytes(e.limitBytes ?? 0)} heap limit)`);
  return `this run needs about ${fmtBytes(e.peakBytes)} at its peak (${e.peakPhase}), more than the ${backend} backend's ${fmtBytes(e.limitBytes ?? 0)} heap:\n`
    + `${lines.join('\n')}\nRemedies: ${remedies.join('; or ')}.`;
}

export function fmtBytes(b: number): string {
  if (b >= 2 ** 30) return `${(b / 2 ** 30).toFixed(1)} GiB`;
  if (b >= 2 ** 20) return `${(b / 2 ** 20).toFixed(0)} MiB`;
  return `${(b / 2 ** 10).toFixed(0)} KiB`;
}

function fmtCount(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)} B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : `${n}`;
}

/**
 * How many parameters fine-tuning trains for a parameter set (= the kernel's set, run/seed-run.ts
 * `trainedParameters`), from the checkpoint's shapes: all, no-embeddings, head, biases, or LoRA (r·(in + out) per
 * target, plus the head group). Standard mode trains the linear-probe head (C·H + C) instead of the LM head.
 */
export function trainedParameterCount(
  shapes: Map<string, number[]>,
  set: 'all' | 'no-embeddings' | 'head' | 'biases' | 'lora',
  o: {
    groupOf: (name: string) => 'embeddings' | 'encoder' | 'head';
    isLoraTarget: (name: string) => boolean;
    loraRank: number;
    /** Standard (no-prompt) mode: the LP head's C and H. */
    standardHead?: { classes: number; hidden: number };
  },
): number {
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const lpHead = o.standardHead ? o.standardHead.classes * (o.standardHead.hidden + 1) : 0;
  // Standard mode reads the LP head, not the LM head: the 'head' group neither trains nor enters the kernel.
  const entries = [...shapes].filter(([n]) => !(o.standardHead && o.groupOf(n) === 'head'));
  const count = (keep: (name: string) => boolean) => entries.filter(([n]) => keep(n)).reduce((a, [, s]) => a + size(s), 0);
  switch (set) {
    case 'all': return count(() => true) + lpHead;
    case 'no-embeddings': return count((n) => o.groupOf(n) !== 'embeddings') + lpHead;
    case 'head': return count((n) => o.groupOf(n) === 'head') + lpHead;
    case 'biases': return count((n) => n.includes('bias')) + (o.standardHead ? o.standardHead.classes : 0);
    case 'lora':
      return entries.filter(([n, s]) => o.isLoraTarget(n) && s.length === 2).reduce((a, [, s]) => a + o.loraRank * (s[0] + s[1]), 0)
        + count((n) => o.groupOf(n) === 'head') + lpHead;
  }
}
