/**
 * Text the editor shows for results and progress: CodeLens titles, the hover table, the status bar. Pure (no vscode).
 */
import type { KernelKind, RunEvent, Stat } from '../engine/report/types';
import type { IndexEntry } from '../engine/report/store';

const KIND_ORDER: readonly KernelKind[] = ['sgd', 'signgd', 'asymmetric-signgd'];
const KIND_LABEL: Record<KernelKind, string> = { sgd: 'SGD', signgd: 'SignGD', 'asymmetric-signgd': 'A-SignGD' };

const pct = (x: number, digits = 1) => (100 * x).toFixed(digits);
const pm = (s: Stat | undefined) => (s ? (s.n > 1 ? `${pct(s.mean)} ± ${pct(s.std)}` : pct(s.mean)) : '–');

/** The kernel kind a one-line summary quotes: the first present in SGD, SignGD, A-SignGD order. */
export function headlineKind(entry: Pick<IndexEntry, 'kernels'>): KernelKind | undefined {
  return KIND_ORDER.find(k => entry.kernels[k] !== undefined);
}

/** "kernel 84.1 · FT 85.3 · agree 93%" */
export function summaryLine(entry: Pick<IndexEntry, 'kernels' | 'finetune' | 'agreement'>): string {
  const kind = headlineKind(entry);
  const parts: string[] = [];
  if (kind) parts.push(`kernel ${pct(entry.kernels[kind]!.mean)}`);
  if (entry.finetune) parts.push(`FT ${pct(entry.finetune.mean)}`);
  const agree = kind && entry.agreement[kind];
  if (agree) parts.push(`agree ${pct(agree.mean, 0)}%`);
  return parts.join(' · ') || 'no figures';
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

/** The hover table: one row per result of the task, kernel accuracy per kind, FT accuracy, agreement, model, date. */
export function resultsTable(entries: IndexEntry[], opts: { title: string; highlightKey?: string }): string {
  if (!entries.length) return `**${cell(opts.title)}**\n\nNo results yet: run the comparison with the ▶ CodeLens.`;
  const kinds = KIND_ORDER.filter(k => entries.some(e => e.kernels[k]));
  const metric = entries[0].metric;
  const head = ['template', ...kinds.map(k => `kernel ${KIND_LABEL[k]}`), 'FT', ...kinds.map(k => `agree ${KIND_LABEL[k]}`), 'model', 'date'];
  const rows = entries.map(e => [
    e.key === opts.highlightKey ? `**${cell(e.templateName)}**` : cell(e.templateName),
    ...kinds.map(k => pm(e.kernels[k])),
    pm(e.finetune),
    ...kinds.map(k => (e.agreement[k] ? `${pct(e.agreement[k]!.mean, 0)}%` : '–')),
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
