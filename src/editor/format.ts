/**
 * Text the editor shows for results and progress: CodeLens titles, the hover table, the status bar, and the verdict
 * cells of the results panel (webview/main.ts imports this module). Pure (no vscode, no runtime imports).
 */
import type { Evidence, KernelKind, RunEvent, RunWarning, Stat, VerdictStatus } from '../engine/report/types';
import type { IndexEntry } from '../engine/report/store';

const KIND_ORDER: readonly KernelKind[] = ['sgd', 'signgd', 'asymmetric-signgd'];
const KIND_LABEL: Record<KernelKind, string> = { sgd: 'SGD', signgd: 'SignGD', 'asymmetric-signgd': 'A-SignGD' };

const pct = (x: number, digits = 1) => (100 * x).toFixed(digits);
const pm = (s: Stat | undefined) => (s ? (s.n > 1 ? `${pct(s.mean)} ± ${pct(s.std)}` : pct(s.mean)) : '–');

/** The kernel kind a one-line summary quotes: the first present in SGD, SignGD, A-SignGD order. */
export function headlineKind(entry: Pick<IndexEntry, 'kernels'>): KernelKind | undefined {
  return KIND_ORDER.find(k => entry.kernels[k] !== undefined);
}

const STATUS_LABEL: Record<VerdictStatus, string> = {
  'kernel-like': 'kernel-like',
  'not-kernel-like': 'not kernel-like',
  inconclusive: 'inconclusive',
  none: 'no verdict',
};

/** "kernel-like", "not kernel-like", "inconclusive", "no verdict"; '–' for a result from before report schema 2. */
export function verdictLabel(status: VerdictStatus | undefined): string {
  return (status && STATUS_LABEL[status]) ?? '–';
}

/** The style class of a verdict status or an evidence result: good (kernel-like, pass), bad (not, fail), neutral. */
export function verdictTone(status: VerdictStatus | boolean | null | undefined): 'good' | 'bad' | 'neutral' {
  return status === 'kernel-like' || status === true ? 'good' : status === 'not-kernel-like' || status === false ? 'bad' : 'neutral';
}

/** "kernel 84.1 · FT 85.3 · agree 93% · inconclusive" (no status for an index entry from before report schema 2). */
export function summaryLine(entry: Pick<IndexEntry, 'kernels' | 'finetune' | 'agreement'> & Partial<Pick<IndexEntry, 'verdictStatus'>>): string {
  const kind = headlineKind(entry);
  const parts: string[] = [];
  if (kind) parts.push(`kernel ${pct(entry.kernels[kind]!.mean)}`);
  if (entry.finetune) parts.push(`FT ${pct(entry.finetune.mean)}`);
  const agree = kind && entry.agreement[kind];
  if (agree) parts.push(`agree ${pct(agree.mean, 0)}%`);
  if (entry.verdictStatus) parts.push(verdictLabel(entry.verdictStatus));
  return parts.join(' · ') || 'no figures';
}

/** The summary CodeLens's tooltip: the verdict text, then "why: <reason>" when there is one. */
export function verdictTooltip(entry: Pick<IndexEntry, 'verdict'> & Partial<Pick<IndexEntry, 'verdictReason'>>): string {
  return entry.verdictReason ? `${entry.verdict}\nwhy: ${entry.verdictReason}` : entry.verdict;
}

/** One row of the panel's evidence table: the figure, its value with the 95 % interval (or ± std over seeds), the test, the outcome. */
export interface EvidenceCells {
  name: string;
  value: string;
  threshold: string;
  result: 'pass' | 'fail' | 'undecided';
}

/**
 * The cells of one evidence figure, in the units of report/summary.ts evidenceText: 'points' and 'percent' ×100
 * (1 and 0 decimals), 'ratio' as is (2 decimals); the interval where there is one, else ± the std over seeds (n > 1).
 * "−1.2 [−3.1, 0.8] pts" · "|gap| ≤ 5 pts" · "pass"
 */
export function evidenceCells(e: Evidence): EvidenceCells {
  const scaled = e.unit === 'ratio' ? 1 : 100;
  const digits = e.unit === 'ratio' ? 2 : e.unit === 'percent' ? 0 : 1;
  const num = (x: number) => (x * scaled).toFixed(digits).replace(/^-/, '−');
  const unit = e.unit === 'points' ? ' pts' : e.unit === 'percent' ? ' %' : '';
  const interval = e.interval ? ` [${num(e.interval[0])}, ${num(e.interval[1])}]` : '';
  const spread = !e.interval && e.spread && e.spread.n > 1 ? ` ± ${num(e.spread.std)}` : '';
  const threshold = String(Number((e.threshold * scaled).toPrecision(6)));
  const test = e.test === 'abs-max' ? `|${e.name}| ≤ ${threshold}` : `${e.test === 'min' ? '≥' : '≤'} ${threshold}`;
  return {
    name: e.name,
    value: `${num(e.value)}${interval}${spread}${unit}`,
    threshold: `${test}${unit}`,
    result: e.pass === true ? 'pass' : e.pass === false ? 'fail' : 'undecided',
  };
}

const PHASE_LABEL: Record<string, string> = {
  load: 'loading model',
  data: 'reading data',
  finetune: 'fine-tuning',
  kernel: 'kernel rows',
  linearize: 'linearising',
  solve: 'solving',
  diagnostics: 'diagnostics',
  download: 'downloading',
  done: 'done',
};

/** "fine-tuning 412/1000" for a step event, the phase label for a phase event. */
export function progressLine(e: RunEvent): string | undefined {
  const seed = 'seed' in e && e.seed !== undefined ? ` (seed ${e.seed})` : '';
  switch (e.type) {
    case 'step': {
      const eta = e.etaSeconds !== undefined ? ` · ${formatDuration(e.etaSeconds)} left` : '';
      return `${PHASE_LABEL[e.phase] ?? e.phase} ${e.step}/${e.total}${seed}${eta}`;
    }
    case 'phase':
      return `${PHASE_LABEL[e.phase] ?? e.phase}${seed}`;
    case 'seed-done':
      return `seed ${e.seed} done`;
    default:
      return undefined;
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/**
 * The hover table: one row per result of the task, kernel accuracy per kind, FT accuracy, agreement, the verdict's
 * status ('–' for results from before report schema 2), model, date.
 */
export function resultsTable(entries: IndexEntry[], opts: { title: string; highlightKey?: string }): string {
  if (!entries.length) return `**${cell(opts.title)}**\n\nNo results yet: run the comparison with the ▶ CodeLens.`;
  const kinds = KIND_ORDER.filter(k => entries.some(e => e.kernels[k]));
  const metric = entries[0].metric;
  const head = ['template', ...kinds.map(k => `kernel ${KIND_LABEL[k]}`), 'FT', ...kinds.map(k => `agree ${KIND_LABEL[k]}`), 'verdict', 'model', 'date'];
  const rows = entries.map(e => [
    e.key === opts.highlightKey ? `**${cell(e.templateName)}**` : cell(e.templateName),
    ...kinds.map(k => pm(e.kernels[k])),
    pm(e.finetune),
    ...kinds.map(k => (e.agreement[k] ? `${pct(e.agreement[k]!.mean, 0)}%` : '–')),
    verdictLabel(e.verdictStatus),
    cell(e.model),
    e.createdAt.slice(0, 10),
  ]);
  return [
    `**${cell(opts.title)}** (test ${metric}, %, mean ± std over seeds)`,
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map(r => `| ${r.join(' | ')} |`),
  ].join('\n');
}

const MAX_HOVER_WARNINGS = 5;

/**
 * Below the hover table, for the template under the cursor: its full verdict text, the reason (why inconclusive or
 * not kernel-like, and what to do), and its warnings (count, then each; `undefined`: report.json not readable).
 */
export function templateVerdictMarkdown(name: string, entry: Pick<IndexEntry, 'verdict'> & Partial<Pick<IndexEntry, 'verdictReason'>>, opts: { stale: boolean; warnings?: RunWarning[] }): string {
  const out = [`${opts.stale ? '*stale:* ' : ''}**${name}**: ${entry.verdict}`];
  if (entry.verdictReason) out.push(`*why:* ${entry.verdictReason}`);
  const w = opts.warnings;
  if (w && w.length) {
    const shown = w.slice(0, MAX_HOVER_WARNINGS).map(x => `- ${x.message.replace(/\n/g, ' ')}`);
    if (w.length > MAX_HOVER_WARNINGS) shown.push(`- … ${w.length - MAX_HOVER_WARNINGS} more in the results panel`);
    out.push(`$(warning) **${w.length} warning${w.length === 1 ? '' : 's'}**:\n${shown.join('\n')}`);
  } else if (w) out.push('no warnings');
  return out.join('\n\n');
}
