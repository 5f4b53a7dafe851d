/** Plain-text rendering of reports and progress for the CLI (stdout table, stderr progress lines). */
import type { Report, RunEvent, Stat, TemplateReport } from '../report/types';

export function pct(x: number | undefined): string {
  return x === undefined || Number.isNaN(x) ? '—' : (100 * x).toFixed(1);
}

export function statText(s: Stat | undefined): string {
  if (!s || s.n === 0) return '—';
  return s.n > 1 ? `${pct(s.mean)} ± ${pct(s.std)}` : pct(s.mean);
}

/** One line per template: FT, each kernel, agreement, verdict. */
export function reportTable(report: Report): string {
  const kinds = Array.from(new Set(report.templates.flatMap((t) => Object.keys(t.summary.kernels)))) as (keyof TemplateReport['summary']['kernels'])[];
  const header = ['template', 'mode', `FT ${report.templates[0]?.summary.metric ?? 'acc'}`, ...kinds.map((k) => `K[${k}]`), ...kinds.map((k) => `agree[${k}]`), 'verdict'];
  const rows = report.templates.map((t) => [
    t.name,
    t.mode,
    statText(t.summary.finetune),
    ...kinds.map((k) => statText(t.summary.kernels[k])),
    ...kinds.map((k) => statText(t.summary.agreement[k])),
    t.verdict.text,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  const out = [
    `task ${report.task} · model ${report.model.id} (${report.model.parameterCount.toLocaleString('en-US')} parameters) · backend ${report.backend} · ${report.seconds.toFixed(1)} s`,
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    `results: ${report.outDir}`,
  ];
  return out.join('\n');
}

/** A one-line rendering of a progress event for stderr. */
export function eventLine(e: RunEvent): string | null {
  const where = 'template' in e && e.template !== undefined ? `[${typeof e.template === 'string' ? e.template : e.template.name}${'seed' in e && e.seed !== undefined ? ` seed ${e.seed}` : ''}] ` : '';
  switch (e.type) {
    case 'phase':
      return `${where}${e.phase}: ${e.message}`;
    case 'step': {
      const loss = e.loss !== undefined ? ` loss ${e.loss.toFixed(4)}` : '';
      const eta = e.etaSeconds !== undefined && Number.isFinite(e.etaSeconds) ? ` ETA ${Math.round(e.etaSeconds)} s` : '';
      return `${where}${e.phase} ${e.step}/${e.total}${loss}${eta}`;
    }
    case 'seed-done':
      return `${where}seed ${e.seed} ${e.reused ? 'reused from disk' : 'done'}`;
    case 'template-done':
      return `[${e.template.name}] ${e.template.verdict.text}`;
    case 'log':
      return `${e.level}: ${e.message}`;
  }
}
