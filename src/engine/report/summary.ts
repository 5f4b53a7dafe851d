/**
 * Seed results → per-template summary (mean ± population std over seeds, bootstrap intervals) and a plain verdict.
 *
 * The verdict follows the paper's two readings of "kernel-like" fine-tuning:
 *  (a) the eNTK predicts as well as fine-tuning does: the FT − kernel gap of the test metric and the share of test
 *      examples where both predict the same class, each with a 95 % paired bootstrap interval over test examples
 *      (report/uncertainty.ts), averaged over seeds;
 *  (b) fine-tuning stays in the kernel regime: the eNTK barely changes during training (fixed features) and the
 *      fine-tuned model's outputs stay close to the linearised model's at the same step (linearisation); mean and
 *      spread over seeds.
 * A figure passes when its whole interval is within the threshold, fails when its whole interval is outside, and is
 * undecided when the interval straddles the threshold. The verdict is "not kernel-like" when a figure fails,
 * "inconclusive" when one is undecided or when fine-tuning did not train in some seed (report/training-check.ts),
 * "kernel-like" when every figure passes. Its text prints every figure it used with its interval and threshold.
 */
import { argmaxRows, f1Binary, meanStd, accuracy } from './metrics';
import { pairedBootstrap, type BootstrapOptions } from './uncertainty';
import type { Evidence, Interval, KernelKind, SeedResult, Stat, TemplateReport, Verdict } from './types';

export const VERDICT_THRESHOLDS = {
  /** |FT − kernel| test metric (absolute, on the [0, 1] scale): the whole 95 % interval within ±this. */
  maxAccuracyGap: 0.05,
  /** Share of test examples where kernel and FT predict the same class: the whole interval at or above this. */
  minAgreement: 0.8,
  /** ‖K_end − K_0‖_F / ‖K_0‖_F of the SGD train kernel, mean over seeds. */
  maxKernelChange: 0.5,
  /** ‖f_FT − f_lin‖ / ‖f_FT − f_0‖ on test at fine-tuning's kept step, mean over seeds. */
  maxLinearizationDistance: 0.5,
} as const;

type Summary = TemplateReport['summary'];

const metricOf = (s: { acc: number; f1?: number }, metric: 'acc' | 'f1') => (metric === 'f1' ? s.f1 ?? s.acc : s.acc);

/** The test metric of predictions on the examples `idx`. */
function metricOn(metric: 'acc' | 'f1', pred: Int32Array, gold: number[], idx: Int32Array): number {
  const p = new Int32Array(idx.length);
  const g = new Int32Array(idx.length);
  idx.forEach((i, k) => { p[k] = pred[i]; g[k] = gold[i]; });
  return metric === 'f1' ? f1Binary(p, g) : accuracy(p, g);
}

/** A cheap fingerprint of a seed's test set (FNV-1a over the texts): seeds with the same test sentences share resamples. */
function testSetId(s: SeedResult): string {
  let h = 0x811c9dc5;
  for (const t of s.test.text) for (let i = 0; i < t.length; i++) h = Math.imul(h ^ t.charCodeAt(i), 16777619) >>> 0;
  return `${s.test.text.length}:${h.toString(16)}`;
}

/** FT − kernel test metric and agreement of one kernel kind, paired bootstrap over test examples, mean over seeds. */
export function compareWithFinetuning(seeds: SeedResult[], kind: KernelKind, metric: 'acc' | 'f1', opts: BootstrapOptions = {}): { gap: Interval; agreement: Interval } | undefined {
  const rows = seeds.filter((s) => s.finetune && s.kernels[kind]);
  if (rows.length === 0) return undefined;
  const preds = rows.map((s) => {
    const M = s.test.gold.length;
    const C = s.finetune!.testLogits[0]?.length ?? 0;
    return {
      size: M,
      group: testSetId(s),
      gold: s.test.gold,
      ft: argmaxRows(Float64Array.from(s.finetune!.testLogits.flat()), M, C),
      k: argmaxRows(Float64Array.from(s.kernels[kind]!.testScores.flat()), M, C),
    };
  });
  const gap = pairedBootstrap(preds.map((p) => ({
    size: p.size, group: p.group, statistic: (idx) => metricOn(metric, p.ft, p.gold, idx) - metricOn(metric, p.k, p.gold, idx),
  })), opts);
  const agreement = pairedBootstrap(preds.map((p) => ({
    size: p.size, group: p.group, statistic: (idx) => { let same = 0; for (const i of idx) if (p.ft[i] === p.k[i]) same++; return same / idx.length; },
  })), opts);
  return { gap, agreement };
}

export function summarise(seeds: SeedResult[], metric: 'acc' | 'f1', opts: BootstrapOptions = {}): Summary {
  const kinds = new Set<KernelKind>();
  for (const s of seeds) for (const k of Object.keys(s.kernels) as KernelKind[]) kinds.add(k);
  const ft = seeds.filter((s) => s.finetune).map((s) => metricOf(s.finetune!.test, metric));
  const kernels: Summary['kernels'] = {};
  const agree: Summary['agreement'] = {};
  const comparison: Summary['comparison'] = {};
  for (const k of kinds) {
    const rs = seeds.map((s) => s.kernels[k]).filter((r) => r !== undefined);
    kernels[k] = meanStd(rs.map((r) => metricOf(r!.test, metric)));
    agree[k] = meanStd(rs.map((r) => r!.agreement).filter((a) => Number.isFinite(a)));
    const c = compareWithFinetuning(seeds, k, metric, opts);
    if (c) comparison[k] = c;
  }
  const statOf = (xs: (number | undefined)[]): Stat | undefined => {
    const v = xs.filter((x): x is number => x !== undefined && Number.isFinite(x));
    return v.length ? meanStd(v) : undefined;
  };
  return {
    finetune: ft.length ? meanStd(ft) : undefined,
    kernels,
    agreement: agree,
    comparison,
    kernelChange: statOf(seeds.map((s) => s.diagnostics.kernelChange)),
    linearization: statOf(seeds.map((s) => s.diagnostics.linearization?.relative)),
    metric,
  };
}

/** The verdict uses the kernel that matches the optimizer: SGD → the SGD kernel, Adam → A-SignGD (else SignGD, else SGD). */
export function primaryKernel(summary: Summary, optimizer: 'sgd' | 'adam'): KernelKind | undefined {
  const order: KernelKind[] = optimizer === 'sgd' ? ['sgd', 'asymmetric-signgd', 'signgd'] : ['asymmetric-signgd', 'signgd', 'sgd'];
  return order.find((k) => summary.kernels[k] !== undefined);
}

/** Within the threshold over the whole interval (true), outside over the whole interval (false), or straddling (null). */
function judge(test: Evidence['test'], threshold: number, lo: number, hi: number): boolean | null {
  const within = (x: number) => (test === 'abs-max' ? Math.abs(x) <= threshold : test === 'max' ? x <= threshold : x >= threshold);
  if (test === 'abs-max') {
    if (lo >= -threshold && hi <= threshold) return true;
    if (lo > threshold || hi < -threshold) return false;
    return null;
  }
  if (within(lo) && within(hi)) return true;
  if (!within(lo) && !within(hi)) return false;
  return null;
}

/** "gap −1.2 [−3.1, 0.8] pts (|gap| ≤ 5)", "agreement 88 [85, 91] % (≥ 80)", "kernel change 0.12 ± 0.03 (≤ 0.5)". */
export function evidenceText(e: Evidence): string {
  const scaled = e.unit === 'ratio' ? 1 : 100;
  const digits = e.unit === 'ratio' ? 2 : e.unit === 'percent' ? 0 : 1;
  const num = (x: number) => (x * scaled).toFixed(digits).replace(/^-/, '−');
  const threshold = String(Number((e.threshold * scaled).toPrecision(6)));
  const unit = e.unit === 'points' ? ' pts' : e.unit === 'percent' ? ' %' : '';
  const test = e.test === 'abs-max' ? `|${e.name}| ≤ ${threshold}` : `${e.test === 'min' ? '≥' : '≤'} ${threshold}`;
  const interval = e.interval ? ` [${num(e.interval[0])}, ${num(e.interval[1])}]` : '';
  const spread = !e.interval && e.spread && e.spread.n > 1 ? ` ± ${num(e.spread.std)}` : '';
  return `${e.name} ${num(e.value)}${interval}${spread}${unit} (${test})`;
}

export function verdict(seeds: SeedResult[], summary: Summary, optimizer: 'sgd' | 'adam'): Verdict {
  const kind = primaryKernel(summary, optimizer);
  if (!kind || !summary.finetune) return { status: 'none', kernelLike: null, text: 'no verdict: needs fine-tuning and at least one kernel', evidence: [] };
  const T = VERDICT_THRESHOLDS;
  const evidence: Evidence[] = [];
  const cmp = summary.comparison[kind];
  const perSeed = (f: (s: SeedResult) => number | undefined) => meanStd(seeds.map(f).filter((x): x is number => x !== undefined && Number.isFinite(x)));
  if (cmp) {
    const gapSpread = perSeed((s) => (s.finetune && s.kernels[kind] ? metricOf(s.finetune.test, summary.metric) - metricOf(s.kernels[kind]!.test, summary.metric) : undefined));
    evidence.push({
      name: 'gap', value: cmp.gap.value, interval: [cmp.gap.lo, cmp.gap.hi], spread: gapSpread, test: 'abs-max', threshold: T.maxAccuracyGap,
      unit: 'points', pass: judge('abs-max', T.maxAccuracyGap, cmp.gap.lo, cmp.gap.hi),
    });
    evidence.push({
      name: 'agreement', value: cmp.agreement.value, interval: [cmp.agreement.lo, cmp.agreement.hi], spread: summary.agreement[kind], test: 'min',
      threshold: T.minAgreement, unit: 'percent', pass: judge('min', T.minAgreement, cmp.agreement.lo, cmp.agreement.hi),
    });
  }
  if (summary.kernelChange) {
    const v = summary.kernelChange.mean;
    evidence.push({ name: 'kernel change', value: v, spread: summary.kernelChange, test: 'max', threshold: T.maxKernelChange, unit: 'ratio', pass: v <= T.maxKernelChange });
  }
  if (summary.linearization) {
    const v = summary.linearization.mean;
    evidence.push({ name: 'linearisation', value: v, spread: summary.linearization, test: 'max', threshold: T.maxLinearizationDistance, unit: 'ratio', pass: v <= T.maxLinearizationDistance });
  }
  const figures = `K[${kind}] vs FT (${summary.metric}, ${seeds.length} seed${seeds.length === 1 ? '' : 's'}): ${evidence.map(evidenceText).join(', ')}`;

  const untrained = seeds.filter((s) => s.finetune && !s.finetune.check.trained);
  if (untrained.length) {
    const first = untrained[0].finetune!.check;
    const reason = `fine-tuning did not train (seed${untrained.length > 1 ? 's' : ''} ${untrained.map((s) => s.seed).join(', ')}: ${first.reasons.join('; ')}); ${first.remedy ?? ''}`.trim();
    return { status: 'inconclusive', kernelLike: null, text: `inconclusive: fine-tuning did not train — ${figures}`, reason, evidence };
  }
  const failed = evidence.filter((e) => e.pass === false);
  const undecided = evidence.filter((e) => e.pass === null);
  if (failed.length) {
    const reason = `${failed.map((e) => e.name).join(' and ')} outside the threshold`;
    return { status: 'not-kernel-like', kernelLike: false, text: `not kernel-like: ${figures}`, reason, evidence };
  }
  if (undecided.length) {
    const reason = `the interval of ${undecided.map((e) => e.name).join(' and ')} straddles its threshold: more test examples (test_limit) or seeds would decide`;
    return { status: 'inconclusive', kernelLike: null, text: `inconclusive: ${figures}`, reason, evidence };
  }
  return { status: 'kernel-like', kernelLike: true, text: `kernel-like: ${figures}`, evidence };
}
