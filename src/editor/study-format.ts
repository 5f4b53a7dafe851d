/**
 * Text the editor shows for studies: the CodeLens titles, the study table's cells and summary lines (the panel,
 * webview/study.ts, imports this module; the figures are written as `study report --format md` writes them), and
 * the hover on a task. Pure (no vscode, no runtime imports).
 */
import type { IndexEntry } from '../engine/report/store';
import type { KernelKind, Stat } from '../engine/report/types';
import type { StudyCellJson, StudyTableJson } from './study-protocol';

export const KIND_LABEL: Record<KernelKind, string> = { sgd: 'K[SGD]', signgd: 'K[SignGD]', 'asymmetric-signgd': 'K[A-SignGD]' };

/** "40 s", "12 min", "3.5 h". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

/**
 * The run lens: "▶ Run study (N jobs, ~T)"; with the estimate of the jobs still to compute once `study jobs` answered
 * (T: the engine's per-job estimates summed, one core per job), and how many are done already.
 */
export function runLensTitle(jobs: number, estimate?: { seconds: number; done: number }): string {
  const n = plural(jobs, 'job');
  if (!estimate) return `▶ Run study (${n})`;
  if (estimate.done >= jobs) return `▶ Run study (${n}, all done)`;
  if (estimate.done > 0) return `▶ Run study (${n}, ${estimate.done} done, ~${formatDuration(estimate.seconds)} left)`;
  return `▶ Run study (${n}, ~${formatDuration(estimate.seconds)})`;
}

/** The lens while the study runs: "$(sync~spin) study: 3/10 done, 1 failed, 2 running". */
export function runningLensTitle(c: { total: number; done: number; failed: number; running: number }): string {
  return `$(sync~spin) study: ${c.done}/${c.total} done${c.failed ? `, ${c.failed} failed` : ''}${c.running ? `, ${c.running} running` : ''}`;
}

// Figures as table.ts writes them (md/csv/tex), so the panel and an export agree digit for digit.
export const pct = (s?: Stat) => (!s || s.n === 0 ? '—' : s.n > 1 ? `${(100 * s.mean).toFixed(1)} ± ${(100 * s.std).toFixed(1)}` : (100 * s.mean).toFixed(1));
export const ratio = (s?: Stat) => (!s || s.n === 0 ? '—' : s.n > 1 ? `${s.mean.toFixed(2)} ± ${s.std.toFixed(2)}` : s.mean.toFixed(2));

/** The column heads of one mode: FT, each kernel kind, agree, kernel Δ, lin., verdict. */
export function cellHeads(kinds: KernelKind[]): string[] {
  return ['FT', ...kinds.map(k => KIND_LABEL[k]), 'agree', 'kernel Δ', 'lin.', 'verdict'];
}

/** A cell's status: the verdict status, failed seeds (job and why), missing seeds; '—' when nothing. */
export function cellStatus(c: StudyCellJson): string {
  const parts: string[] = [];
  if (c.verdict) parts.push(c.verdict.status);
  if (c.failed.length) parts.push(`FAILED seed ${c.failed.map(f => `${f.seed} (job ${f.index}: ${f.why})`).join(', ')}`);
  if (c.missing.length) parts.push(`missing seed${c.missing.length > 1 ? 's' : ''} ${c.missing.join(', ')}`);
  return parts.join('; ') || '—';
}

/** The texts of one cell under cellHeads(kinds): as table.ts's md export. */
export function cellTexts(c: StudyCellJson, kinds: KernelKind[]): string[] {
  const n = 4 + kinds.length + 1;
  const s = c.summary;
  if (!s) return Array.from({ length: n }, (_, i) => (i === n - 1 ? cellStatus(c) : '—'));
  const primary = kinds.find(k => s.agreement[k]);
  return [pct(s.finetune), ...kinds.map(k => pct(s.kernels[k])), pct(primary ? s.agreement[primary] : undefined), ratio(s.kernelChange), ratio(s.linearization), cellStatus(c)];
}

/** "complete" (every seed in), "partial" (some), "failed" (a seed failed), "missing" (none yet). */
export function cellState(c: StudyCellJson): 'complete' | 'partial' | 'failed' | 'missing' {
  if (c.failed.length) return 'failed';
  if (!c.summary) return 'missing';
  return c.missing.length ? 'partial' : 'complete';
}

/** The table's summary lines, as `study report --format md` ends each table. */
export function summaryLines(t: StudyTableJson): string[] {
  return Object.entries(t.summary).map(([mode, s]) => {
    const total = s.kernelLike.length + s.notKernelLike.length + s.inconclusive.length + s.incomplete.length;
    return `${mode}: kernel-like on ${s.kernelLike.length} of ${total} tasks${s.kernelLike.length ? ` (${s.kernelLike.join(', ')})` : ''}; not kernel-like: ${s.notKernelLike.join(', ') || 'none'}; inconclusive: ${s.inconclusive.join(', ') || 'none'}${s.incomplete.length ? `; incomplete: ${s.incomplete.join(', ')}` : ''}`;
  });
}

/** The name a study cell's result has in the results index (table.ts cellLabel): "SST-2 16-shot prompt (ntk-mini)". */
export function cellIndexName(task: string, shots: number, mode: string, model: string): string {
  return `${task} ${shots}-shot ${mode} (${model})`;
}

const idx = (s?: Stat) => (s ? (s.n > 1 ? `${(100 * s.mean).toFixed(1)} ± ${(100 * s.std).toFixed(1)}` : (100 * s.mean).toFixed(1)) : '—');
const VERDICT_WORDS: Record<string, string> = { 'kernel-like': 'kernel-like', 'not-kernel-like': 'not kernel-like', inconclusive: 'inconclusive', none: 'no verdict' };

/**
 * The hover on a task of a study file: one row per (model, shots, mode) cell with a stored result (from the results
 * index: FT, each kernel, agreement of the first kernel, verdict, seeds, date), then the verdict reasons.
 */
export function taskHoverMarkdown(task: string, cells: { model: string; shots: number; mode: string; entry?: IndexEntry }[], kinds: KernelKind[]): string {
  const found = cells.filter(c => c.entry);
  if (!found.length) return `**${task}**: no results in the store yet — run the study (▶ Run study above the first line).`;
  const many = new Set(cells.map(c => `${c.model}|${c.shots}`)).size > 1;
  const head = ['cell', 'FT', ...kinds.map(k => KIND_LABEL[k]), 'agree', 'verdict', 'seeds', 'computed'];
  const rows = cells.map(c => {
    const name = many ? `${c.mode}, ${c.shots}-shot, ${c.model}` : c.mode;
    const e = c.entry;
    if (!e) return [name, ...head.slice(1, -1).map(() => '—'), 'not yet'];
    const primary = kinds.find(k => e.agreement[k]);
    return [name, idx(e.finetune), ...kinds.map(k => idx(e.kernels[k])), idx(primary ? e.agreement[primary] : undefined),
      e.verdictStatus ? VERDICT_WORDS[e.verdictStatus] ?? e.verdictStatus : '–', String(e.finetune?.n ?? e.kernels[kinds[0]]?.n ?? '?'), e.createdAt.slice(0, 10)];
  });
  const why = found.filter(c => c.entry!.verdictReason).map(c => `- *${many ? `${c.mode}, ${c.shots}-shot, ${c.model}` : c.mode}:* ${c.entry!.verdictReason}`);
  return [`**${task}** (test ${found[0].entry!.metric} %, mean ± std over seeds)`, '', `| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`,
    ...rows.map(r => `| ${r.join(' | ')} |`), ...(why.length ? ['', ...why] : [])].join('\n');
}
