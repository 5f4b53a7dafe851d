import * as tf from '@tensorflow/tfjs';
import { wasmAdamWUpdate } from '../backend/wasm-kernels';

/**
 * The reference's optimizers (§5.1 of docs/paper-and-reference-code.md), as step functions on tf.Variables.
 * Gradients come in the order of the variables; a null gradient (the loss does not reach the parameter) leaves the
 * parameter and its optimizer state untouched, as PyTorch skips parameters whose `.grad` is None.
 */
export type OptimizerName = 'sgd' | 'signgd' | 'adamw';

/** Hugging Face's no-decay rule: biases and LayerNorm weights get no weight decay. */
export const noWeightDecay = (name: string): boolean => name.includes('bias') || name.includes('LayerNorm.weight');

export interface AdamWHyper {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}
export const ADAMW_DEFAULTS: AdamWHyper = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

/** Plain SGD without momentum (torch.optim.SGD): θ ← θ − η·(g + λ·θ), λ the (coupled, L2) weight decay. */
export function sgdStep(vars: tf.Variable[], grads: (tf.Tensor | null)[], lr: number, decay: number[] = []): void {
  vars.forEach((v, i) => {
    const g = grads[i];
    if (g == null) return;
    tf.tidy(() => v.assign(tf.sub(v, tf.mul(decay[i] ? tf.add(g, tf.mul(v, decay[i])) : g, lr))));
  });
}

/** SignGD (the reference's `--optimizer_variant signgd` of SGD): θ ← θ − η·(sign(g) + λ·θ). */
export function signSgdStep(vars: tf.Variable[], grads: (tf.Tensor | null)[], lr: number, decay: number[] = []): void {
  const signs = grads.map((g) => (g == null ? null : tf.sign(g)));
  try { sgdStep(vars, signs, lr, decay); } finally { signs.forEach((s) => s?.dispose()); }
}

export interface AdamWState {
  step: number;
  m: (tf.Variable | null)[];
  v: (tf.Variable | null)[];
}

export function createAdamWState(vars: tf.Variable[]): AdamWState {
  return { step: 0, m: vars.map(() => null), v: vars.map(() => null) };
}

/**
 * One AdamW step exactly as Hugging Face's `transformers.AdamW` (4.4.2, correct_bias = True):
 *   t ← t + 1;  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
 *   θ ← θ − η·sqrt(1−β2^t)/(1−β1^t) · m / (sqrt(v) + ε);
 *   θ ← θ − η·λ·θ   (decoupled weight decay, after the Adam update, on parameters with decay[i] = λ > 0).
 */
export function adamWStep(state: AdamWState, vars: tf.Variable[], grads: (tf.Tensor | null)[], lr: number, hyper: AdamWHyper, decay: number[] = []): void {
  const { beta1, beta2, eps } = hyper;
  state.step += 1;
  const t = state.step;
  const stepSize = (lr * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
  vars.forEach((p, i) => {
    const g = grads[i];
    if (g == null) return;
    const m = (state.m[i] ??= zeroState(p));
    const v = (state.v[i] ??= zeroState(p));
    const fused = wasmAdamWUpdate(p, g, m, v, { beta1, beta2, eps, stepSize, decay: decay[i] ? lr * decay[i] : 0 });
    if (fused) { // one pass of adamw.c, the same float32 operations as below
      m.assign(fused.m);
      v.assign(fused.v);
      p.assign(fused.p);
      tf.dispose([fused.m, fused.v, fused.p]);
      return;
    }
    tf.tidy(() => {
      m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
      v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
      let next = tf.sub(p, tf.mul(tf.div(m, tf.add(tf.sqrt(v), eps)), stepSize));
      if (decay[i]) next = tf.sub(next, tf.mul(next, lr * decay[i]));
      p.assign(next);
    });
  });
}

function zeroState(p: tf.Variable): tf.Variable {
  const zeros = tf.zerosLike(p);
  const state = tf.variable(zeros, false);
  zeros.dispose();
  return state;
}

export interface Optimizer {
  readonly name: OptimizerName;
  step(grads: (tf.Tensor | null)[], lr: number): void;
  dispose(): void;
}

/**
 * An optimizer over named variables. `weightDecay` applies to every parameter except those `exempt` (default: the
 * Hugging Face rule `noWeightDecay`); AdamW decays decoupled, SGD/SignGD as L2 (torch.optim.SGD).
 */
export function createOptimizer(
  name: OptimizerName,
  params: [string, tf.Variable][],
  options: { weightDecay?: number; exempt?: (name: string) => boolean; adam?: Partial<AdamWHyper> } = {},
): Optimizer {
  const vars = params.map(([, v]) => v);
  const exempt = options.exempt ?? noWeightDecay;
  const decay = params.map(([n]) => (exempt(n) ? 0 : options.weightDecay ?? 0));
  switch (name) {
    case 'sgd':
      return { name, step: (g, lr) => sgdStep(vars, g, lr, decay), dispose: () => {} };
    case 'signgd':
      return {
        name,
        step: (g, lr) => signSgdStep(vars, g, lr, decay),
        dispose: () => {},
      };
    case 'adamw': {
      const state = createAdamWState(vars);
      const hyper = { ...ADAMW_DEFAULTS, ...options.adam, weightDecay: options.weightDecay ?? 0 };
      return {
        name,
        step: (g, lr) => adamWStep(state, vars, g, lr, hyper, decay),
        dispose: () => { state.m.forEach((t) => t?.dispose()); state.v.forEach((t) => t?.dispose()); },
      };
    }
    default:
      throw new Error(`finetune/optimizers.ts: unknown optimizer '${name as string}'; use sgd, signgd or adamw`);
  }
}
