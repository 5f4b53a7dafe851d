/**
 * LoRA fine-tuning that is exactly what the LoRA kernel (kernel/parameter-subsets.ts `loraSubspace`) linearises.
 *
 * For every LoRA target W (the same targets as the kernel: query/key/value/attention-output weights, Hugging Face
 * layout [out, in]) the model reads
 *   W' = W + s·B·A,   B [out, r] = 0 at the start,  A [r, in] = the kernel's A (the very values `loraSubspace` drew),
 *   s = α / r,
 * and the frozen model weights never change. Trained: every B and A (as real LoRA, loralib, trains both) and every
 * 'head' parameter the kernel includes (the reference keeps the MLM head trainable in its LoRA runs; in standard mode
 * the head is the linear classifier HEAD_WEIGHT/HEAD_BIAS, when the kernel's `groupOf` puts it in 'head').
 *
 * Why this is the kernel's model. With G = ∂f/∂W' [out, in]:
 *   ∂f/∂B = s·G·Aᵀ  [out, r]     (the kernel's projection G ↦ s·G·Aᵀ),
 *   ∂f/∂A = s·Bᵀ·G  [r, in]      = 0 exactly while B = 0.
 * So at initialisation the plain eNTK over (B, A, head) is the projected LoRA kernel: the A coordinates add exactly 0
 * to the SGD kernel and, their gradients being exact zeros, sign 0 to the SignGD kernels. After the first step B ≠ 0,
 * A starts to move and the eNTK over the same set (the end-of-training kernel) also sees A.
 *
 * Shapes: out, in of a target weight; r the rank.
 */
import * as tf from '@tensorflow/tfjs';
import { mm } from '../backend';
import type { KernelParameter } from '../kernel/types';
import type { LoraSubspace } from '../kernel/parameter-subsets';
import type { Params } from '../model';

export interface LoraModel {
  /**
   * The model's weights as the LoRA model sees them, to build the classifier on (`promptClassifier(view, …)`,
   * `standardClassifier(view, …)`). `view.get(name)` returns, for a LoRA target, the tensor W + s·B·A computed at
   * that call (so gradients flow to B and A inside a tape, and the temporary belongs to the caller's `tf.tidy`,
   * as in every forward of the model), and the frozen model variable otherwise.
   *
   * Typed `Params` so that the model functions accept it; the values `get` returns for targets are plain tensors,
   * not tf.Variables (nothing on the model's forward path — encode, mlmLogits, the classifiers — uses more than a
   * tensor). Only `get`, `has` and `size` are supported: iterating, `set`, `delete` throw, so the view cannot be
   * mistaken for the model's parameters (never pass it to finetune, selectParameters, loraSubspace, recordingModel
   * or a snapshot/restore: use `trainable` and the model's own Params).
   */
  view: Params;
  /**
   * What fine-tuning trains, by name: `<module>.lora_A` [r, in] and `<module>.lora_B` [out, r] of each target
   * `<module>.weight` (loralib's names), then the kernel's 'head' parameters (the model's own variables, by their own
   * names). Pass it as `finetune({ params: trainable, … })`.
   */
  trainable: Map<string, tf.Variable>;
  /** The same set as KernelParameters (no projections), for `empiricalNtkFn` — at θ0 and after fine-tuning. */
  kernelParameters: KernelParameter[];
  /** s = α / r. */
  scale: number;
  /** Disposes the B and A variables (not the head's, which belong to the model, nor the kernel's A). */
  dispose(): void;
}

interface Factors {
  A: tf.Variable; // [r, in]
  B: tf.Variable; // [out, r]
  /** How the target stores W: [out, in] (nn.Linear) or [in, out] (GPT-2's Conv1D), as the kernel's subspace. */
  layout: 'out-in' | 'in-out';
}

const VIEW_METHODS_REFUSED = ['set', 'delete', 'clear', 'forEach', 'keys', 'values', 'entries'] as const;

/** The read-only LoRA view of the weights (see `LoraModel.view`). */
class LoraView {
  constructor(private readonly base: Params, private readonly factors: Map<string, Factors>, private readonly scale: number) {}

  get(name: string): tf.Tensor | undefined {
    const w = this.base.get(name);
    const f = this.factors.get(name);
    if (!w || !f) return w;
    // W + s·(B·A): [out, in] + [out, r]·[r, in]; in-out: W + s·(B·A)ᵀ = W + s·Aᵀ·Bᵀ. `mm`: no transposed product in the
    // gradient (webgpu, backend/matmul.ts).
    const delta = f.layout === 'out-in' ? mm(f.B, f.A) : mm(tf.transpose(f.A) as tf.Tensor2D, tf.transpose(f.B) as tf.Tensor2D);
    return tf.add(w, tf.mul(delta, this.scale));
  }

  has(name: string): boolean {
    return this.base.has(name);
  }

  get size(): number {
    return this.base.size;
  }

  [Symbol.iterator](): never {
    return refuse('iterate');
  }
}
for (const m of VIEW_METHODS_REFUSED) {
  Object.defineProperty(LoraView.prototype, m, { value: () => refuse(m) });
}

function refuse(what: string): never {
  throw new Error(`classifier/lora.ts: the LoRA view of the weights only supports get/has (asked to ${what}); `
    + 'train `trainable`, and snapshot or restore the model\'s own Params');
}

/**
 * The LoRA model over `params` with the A matrices and targets of the LoRA kernel `sub` (from `loraSubspace(params,
 * groupOf, { rank, alpha, seed, layout })`) and the same rank, α and layout ('out-in' [out, in], the Hugging Face
 * nn.Linear default; 'in-out' [in, out], GPT-2's Conv1D).
 * B starts at 0; A is a trainable copy of the kernel's A (the kernel's own tensors stay as drawn). The caller
 * disposes the result (`dispose()`) before disposing `sub`'s A or the model.
 */
export function loraModel(params: Params, sub: LoraSubspace, opts: { rank: number; alpha: number; layout?: 'out-in' | 'in-out' }): LoraModel {
  const { rank, alpha } = opts;
  const layout = opts.layout ?? 'out-in';
  if (!Number.isInteger(rank) || rank < 1) throw new Error(`classifier/lora.ts: LoRA rank ${rank} must be a positive integer`);
  if (!Number.isFinite(alpha)) throw new Error(`classifier/lora.ts: LoRA alpha ${alpha} must be a finite number`);
  const scale = alpha / rank;
  const factors = new Map<string, Factors>();
  const trainable = new Map<string, tf.Variable>();
  const disposeFactors = () => factors.forEach(({ A, B }) => { A.dispose(); B.dispose(); });
  try {
    const heads: [string, tf.Variable][] = [];
    for (const p of sub.parameters) {
      const name = p.name;
      if (name === undefined) throw new Error('classifier/lora.ts: a LoRA kernel parameter has no name; build the subspace with loraSubspace');
      if (params.get(name) !== p.variable) {
        throw new Error(`classifier/lora.ts: the LoRA kernel's '${name}' is not this model's variable; build the subspace from the same Params`);
      }
      if (!p.project) { heads.push([name, p.variable]); continue; }
      const A0 = sub.loraA.get(name);
      if (!A0) throw new Error(`classifier/lora.ts: the LoRA kernel has no A matrix for its target '${name}'`);
      const [out, inDim] = (layout === 'out-in' ? p.variable.shape : [p.variable.shape[1], p.variable.shape[0]]) as [number, number];
      if (p.variable.rank !== 2 || A0.shape[0] !== rank || A0.shape[1] !== inDim) {
        throw new Error(`classifier/lora.ts: target '${name}' [${p.variable.shape}] with A [${A0.shape}]: expected a matrix `
          + `${layout === 'out-in' ? '[out, in]' : '[in, out]'} ('${layout}' layout) and A [${rank}, in]; build the subspace with rank ${rank} and the same layout`);
      }
      const module = name.replace(/\.weight$/, '');
      const A = tf.tidy(() => tf.variable(A0.clone(), true)); // unnamed: tfjs variable names are global; the Map names it
      const B = tf.tidy(() => tf.variable(tf.zeros([out, rank]), true));
      factors.set(name, { A, B, layout });
      trainable.set(`${module}.lora_A`, A);
      trainable.set(`${module}.lora_B`, B);
    }
    if (factors.size === 0) throw new Error('classifier/lora.ts: the LoRA kernel has no target (no projected parameter)');
    for (const [name, v] of heads) trainable.set(name, v);
  } catch (e) {
    disposeFactors();
    throw e;
  }
  const view = new LoraView(params, factors, scale) as unknown as Params;
  const kernelParameters: KernelParameter[] = [...trainable].map(([name, variable]) => ({ name, variable }));
  return { view, trainable, kernelParameters, scale, dispose: disposeFactors };
}
