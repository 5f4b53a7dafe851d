import type { KernelBlock } from '../kernel/types';
import { throwIfAborted } from '../util/abort';
import { batchSchedule } from './batches';
import { clipCoefficient } from './clip';
import { lossAndGradient, type LossKind } from './losses';
import { linearWarmupDecay } from './schedule';

/**
 * Function-space dynamics of the LINEARISED model f_lin(x; θ) = f0(x) + J(x)(θ − θ0), driven by the same batches,
 * schedule and clipping as fine-tuning (loop.ts), computed from kernel blocks only (no parameters).
 *
 * SGD ('sgd', with the SGD kernel K = J Jᵀ). For a batch b with logit gradients g_i = ∂L/∂f(x_i) (L the batch mean
 * loss, so g_i carries the 1/B), the parameter step is Δθ = −η_t·κ_t·Σ_{i∈b} J(x_i)ᵀ g_i, hence for every point x
 *   f_{t+1}(x) = f_t(x) − η_t·κ_t·Σ_{i∈b} Σ_c K[i, c, x, c']·g_{i,c},
 * where κ_t = min(1, maxGradNorm / (‖∇θL‖ + 1e-6)) is global-norm clipping with the linearised gradient norm
 *   ‖∇θL‖² = gᵀ K_bb g = Σ_{i,j∈b} Σ_{c,c'} g_{i,c} K[i, c, j, c'] g_{j,c'}.
 * This is exact: it equals parameter-space training of f_lin step by step.
 *
 * Sign-based ('sign', with the asymmetric SignGD kernel K[n, c, m, c'] = ⟨sign ∇f_c(x_n), ∇f_c'(x_m)⟩): the analogue
 * the paper uses for early-stage Adam (whose first steps move each coordinate by ≈ ±η). SignGD on f_lin moves
 * Δθ = −η_t·sign(Σ_{i∈b} Σ_c g_{i,c} ∇f_c(x_i)); replacing the sign of the sum by the mean over the batch of the
 * per-(example, class) signs, sign(g_{i,c})·sign(∇f_c(x_i)), gives
 *   f_{t+1}(x) = f_t(x) − η_t·(1/B)·Σ_{i∈b} Σ_c sign(g_{i,c})·K[i, c, x, c'].
 * This is EXACT only for one example per batch and one output (C = 1, the reference's `--binary_classification`
 * form, which its A-SignGD runs require); otherwise it is the approximation. Clipping does not change a sign and
 * is not applied.
 */
export interface LinearizedOptions {
  /** `train` [N, C, N, C] and one block [N, C, M, C] per evaluated set: the SGD kernel for 'sgd', A-SignGD for 'sign'. */
  kernel: Record<string, KernelBlock>;
  /** Initial logits f0, row-major: `train` [N·C] and one [M·C] per evaluated set (same names as `kernel`). */
  f0: Record<string, Float64Array>;
  /** Training labels (class ids), length N. */
  labels: number[];
  loss: LossKind;
  update: 'sgd' | 'sign';
  /** Steps to take. */
  steps: number;
  /**
   * Length of the learning-rate schedule (the fine-tuning run's `steps`), when only its first `steps` are taken: the
   * linearised model read at fine-tuning's best-dev step must have seen the same decayed rates. Default `steps`.
   */
  scheduleSteps?: number;
  batchSize: number;
  /** The fine-tuning seed: the same batches as `finetune` with this seed. */
  seed: number;
  learningRate: number;
  warmupSteps?: number;
  maxGradNorm?: number;
  signal?: AbortSignal;
  /** Called after every step with the current logits (live arrays: copy what you keep). */
  onStep?: (info: { step: number; loss: number; learningRate: number; logits: Record<string, Float64Array> }) => void;
}

export interface LinearizedResult {
  /** Logits of the linearised model after `steps` steps, [N·C] for `train`, [M·C] per evaluated set. */
  logits: Record<string, Float64Array>;
  lossCurve: { step: number; loss: number }[];
}

export function linearizedDynamics(o: LinearizedOptions): LinearizedResult {
  const train = o.kernel.train;
  if (!train) throw new Error("finetune/linearized.ts: the kernel has no 'train' block");
  const [N, C, N2, C2] = train.shape;
  if (N2 !== N || C2 !== C) throw new Error(`finetune/linearized.ts: the train block has shape [${train.shape}], expected [N, C, N, C]`);
  if (o.labels.length !== N) throw new Error(`finetune/linearized.ts: ${o.labels.length} labels for ${N} training examples`);
  const names = Object.keys(o.kernel);
  const logits: Record<string, Float64Array> = {};
  for (const name of names) {
    const [n, c, M, c2] = o.kernel[name].shape;
    if (n !== N || c !== C || c2 !== C) throw new Error(`finetune/linearized.ts: block '${name}' has shape [${o.kernel[name].shape}], expected [${N}, ${C}, M, ${C}]`);
    const f0 = o.f0[name];
    if (!f0 || f0.length !== M * C) throw new Error(`finetune/linearized.ts: f0 for '${name}' must hold ${M}·${C} logits`);
    logits[name] = Float64Array.from(f0);
  }
  const maxGradNorm = o.maxGradNorm ?? 1.0;
  const batches = batchSchedule(N, o.batchSize, o.seed, o.steps);
  const lossCurve: LinearizedResult['lossCurve'] = [];
  for (let s = 0; s < o.steps; s++) {
    throwIfAborted(o.signal, `linearised dynamics (before step ${s + 1} of ${o.steps})`);
    const batch = batches[s];
    const B = batch.length;
    const lr = linearWarmupDecay(s, { learningRate: o.learningRate, warmupSteps: o.warmupSteps ?? 0, totalSteps: o.scheduleSteps ?? o.steps });
    const fb = new Float64Array(B * C);
    batch.forEach((i, b) => fb.set(logits.train.subarray(i * C, i * C + C), b * C));
    const { loss, grad } = lossAndGradient(o.loss, fb, batch.map((i) => o.labels[i]), C);
    lossCurve.push({ step: s + 1, loss });

    // The coefficients w_{i,c} of the kernel rows: Δf(x, c') = −Σ_{i∈b} Σ_c w_{i,c} K[i, c, x, c'].
    const w = new Float64Array(B * C);
    if (o.update === 'sgd') {
      let sq = 0; // gᵀ K_bb g
      for (let a = 0; a < B; a++) for (let c = 0; c < C; c++) for (let b = 0; b < B; b++) for (let c2 = 0; c2 < C; c2++) {
        sq += grad[a * C + c] * train.data[((batch[a] * C + c) * N + batch[b]) * C + c2] * grad[b * C + c2];
      }
      const coef = clipCoefficient(Math.sqrt(Math.max(0, sq)), maxGradNorm);
      for (let k = 0; k < B * C; k++) w[k] = lr * coef * grad[k];
    } else {
      for (let k = 0; k < B * C; k++) w[k] = (lr * Math.sign(grad[k])) / B;
    }
    for (const name of names) {
      const K = o.kernel[name];
      const M = K.shape[2];
      const f = logits[name];
      for (let a = 0; a < B; a++) for (let c = 0; c < C; c++) {
        const wa = w[a * C + c];
        if (wa === 0) continue;
        const row = (batch[a] * C + c) * M * C;
        for (let x = 0; x < M * C; x++) f[x] -= wa * K.data[row + x];
      }
    }
    o.onStep?.({ step: s + 1, loss, learningRate: lr, logits });
  }
  return { logits, lossCurve };
}
