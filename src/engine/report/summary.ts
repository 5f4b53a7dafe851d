/**
 * Seed results → per-template summary (mean ± population std over seeds) and a plain-language verdict.
 *
 * The verdict follows the paper's two readings of "kernel-like" fine-tuning:
 *  (a) the eNTK predicts as well as fine-tuning does (accuracy gap, and per-example agreement), and
 *  (b) fine-tuning stays in the kernel regime (the eNTK barely changes during training — fixed features — and the
 *      fine-tuned model's outputs stay close to the linearised model's).
 * The thresholds are written into the verdict's evidence, so every report says what it compared against.
 */
import { meanStd } from './metrics';
import type { KernelKind, SeedResult, Stat, TemplateReport, Verdict } from './types';

export const VERDICT_THRESHOLDS = {
  /** |FT − kernel| test metric, mean over seeds (absolute, on the [0, 1] scale). */
  maxAccuracyGap: 0.05,
  /** Share of test examples where kernel and FT predict the same class. */
  minAgreement: 0.8,
  /** ‖K_end − K_0‖_F / ‖K_0‖_F of the SGD train kernel. */
  maxKernelChange: 0.5,
  /** ‖f_FT − f_lin‖ / ‖f_FT − f_0‖ on test. */
  maxLinearizationDistance: 0.5,
} as const;

const metricOf = (s: { acc: number; f1?: number }, metric: 'acc' | 'f1') => (metric === 'f1' ? s.f1 ?? s.acc : s.acc);

export function summarise(seeds: SeedResult[], metric: 'acc' | 'f1'): TemplateReport['summary'] {
  const kinds = new Set<KernelKind>();
  for (const s of seeds) for (const k of Object.keys(s.kernels) as KernelKind[]) kinds.add(k);
  const ft = seeds.filter((s) => s.finetune).map((s) => metricOf(s.finetune!.test, metric));
  const kernels: Partial<Record<KernelKind, Stat>> = {};
  const agree: Partial<Record<KernelKind, Stat>> = {};
  for (const k of kinds) {
    const rs = seeds.map((s) => s.kernels[k]).filter((r) => r !== undefined);
    kernels[k] = meanStd(rs.map((r) => metricOf(r!.test, metric)));
    agree[k] = meanStd(rs.map((r) => r!.agreement).filter((a) => Number.isFinite(a)));
  }
  return { finetune: ft.length ? meanStd(ft) : undefined, kernels, agreement: agree, metric };
}

/** The verdict uses the kernel that matches the optimizer: SGD → the SGD kernel, Adam → A-SignGD (else SignGD, else SGD). */
export function primaryKernel(summary: TemplateReport['summary'], optimizer: 'sgd' | 'adam'): KernelKind | undefined {
  const order: KernelKind[] = optimizer === 'sgd' ? ['sgd', 'asymmetric-signgd', 'signgd'] : ['asymmetric-signgd', 'signgd', 'sgd'];
  return order.find((k) => summary.kernels[k] !== undefined);
}

export function verdict(seeds: SeedResult[], summary: TemplateReport['summary'], optimizer: 'sgd' | 'adam'): Verdict {
  const kind = primaryKernel(summary, optimizer);
  if (!kind || !summary.finetune) return { kernelLike: null, text: 'no verdict: needs fine-tuning and at least one kernel', evidence: [] };
  const T = VERDICT_THRESHOLDS;
  const gap = Math.abs(summary.finetune.mean - summary.kernels[kind]!.mean);
  const evidence: Verdict['evidence'] = [
    { name: `|FT − K[${kind}]| ${summary.metric}`, value: gap, threshold: T.maxAccuracyGap, pass: gap <= T.maxAccuracyGap },
  ];
  const ag = summary.agreement[kind];
  if (ag && ag.n > 0) evidence.push({ name: `agreement K[${kind}] vs FT`, value: ag.mean, threshold: T.minAgreement, pass: ag.mean >= T.minAgreement });
  const change = seeds.map((s) => s.diagnostics.kernelChange).filter((x): x is number => x !== undefined);
  if (change.length) {
    const v = meanStd(change).mean;
    evidence.push({ name: 'eNTK relative change during FT', value: v, threshold: T.maxKernelChange, pass: v <= T.maxKernelChange });
  }
  const lin = seeds.map((s) => s.diagnostics.linearizationDistance).filter((x): x is number => x !== undefined);
  if (lin.length) {
    const v = meanStd(lin).mean;
    evidence.push({ name: 'distance FT vs linearised model', value: v, threshold: T.maxLinearizationDistance, pass: v <= T.maxLinearizationDistance });
  }
  const kernelLike = evidence.every((e) => e.pass);
  const failed = evidence.filter((e) => !e.pass).map((e) => e.name);
  const text = kernelLike
    ? `kernel-like: K[${kind}] tracks fine-tuning (gap ${(100 * gap).toFixed(1)} points${ag ? `, agreement ${(100 * ag.mean).toFixed(0)}%` : ''})`
    : `not kernel-like: ${failed.join('; ')} outside the threshold`;
  return { kernelLike, text, evidence };
}
