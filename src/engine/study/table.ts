/**
 * The study's table, as the paper lays it out: per task, fine-tuning and each kernel's test metric (F1 for MRPC and
 * QQP), the agreement, the kernel-regime diagnostics and the verdict, for prompt and no prompt side by side, from the
 * seed results in the store (summarised and judged by the same code as a single run). Missing and failed cells are
 * marked, never dropped. Aggregation also rewrites each cell's template report from all of its stored seeds, so the
 * editor's CodeLens and hover see the whole cell.
 */
import type { ResultsStore } from '../report/store';
import type { KernelKind, SeedResult, Stat, TemplateReport } from '../report/types';
import { templateReport } from '../run/experiment';
import { expandJobs, jobSpec, seedJobs, type StudyJob } from './jobs';
import type { StudyMode, StudySpec } from './study-file';
import { jobKeys } from './study-run';

export interface StudyCell {
  mode: StudyMode;
  key?: string;
  seeds: number[];
  /** Seeds with no result, and those whose job failed (with why, from the executor). */
  missing: number[];
  failed: { seed: number; index: number; why: string }[];
  report?: TemplateReport;
}

export interface StudyTable {
  model: string;
  shots: number;
  kinds: KernelKind[];
  rows: { task: string; metric: 'acc' | 'f1'; cells: StudyCell[] }[];
  /** Per mode: tasks judged kernel-like / not / inconclusive / without a verdict (incomplete). */
  summary: Record<string, { kernelLike: string[]; notKernelLike: string[]; inconclusive: string[]; incomplete: string[] }>;
}

/** Builds the tables (one per model × shots) and writes each complete-or-partial cell's template report. */
export async function studyTables(study: StudySpec, store: ResultsStore, opts: { failures?: Map<number, string>; write?: boolean; keys?: (string | undefined)[] } = {}): Promise<StudyTable[]> {
  const jobs = expandJobs(study);
  const keys = opts.keys ?? await jobKeys(study, jobs);
  const kinds = ((study.kernel?.kinds as KernelKind[] | undefined) ?? ['sgd']);
  const tables: StudyTable[] = [];
  for (const model of study.models) {
    for (const shots of study.shots) {
      const table: StudyTable = { model, shots, kinds, rows: [], summary: {} };
      for (const mode of study.modes) table.summary[mode] = { kernelLike: [], notKernelLike: [], inconclusive: [], incomplete: [] };
      for (const task of study.tasks) {
        const metric = task.task.metrics.includes('f1') ? 'f1' : 'acc';
        const cells: StudyCell[] = [];
        for (const mode of study.modes) {
          const cellJobs = seedJobs(jobs).filter((j) => j.model === model && j.shots === shots && j.task === task && j.mode === mode);
          const key = keys[cellJobs[0].index];
          const cell: StudyCell = { mode, key, seeds: [], missing: [], failed: [] };
          const results: SeedResult[] = [];
          for (const j of cellJobs) {
            const r = key ? store.readSeed(key, j.seed) : undefined;
            if (r) { results.push(r); cell.seeds.push(j.seed); continue; }
            const why = opts.failures?.get(j.index);
            if (why) cell.failed.push({ seed: j.seed, index: j.index, why });
            else cell.missing.push(j.seed);
          }
          if (results.length && key) {
            const spec = jobSpec(study, cellJobs[0]);
            cell.report = templateReport(spec, spec.templates[0], key, results, null);
            if (opts.write !== false) {
              store.writeTemplateReport(key, cell.report, {
                specFile: study.file, templateName: cellLabel(cellJobs[0]), model, task: task.task.name,
                createdAt: new Date().toISOString(), classes: task.task.labels,
              });
            }
          }
          const s = table.summary[mode];
          if (cell.missing.length || cell.failed.length || !cell.report) s.incomplete.push(task.task.name);
          else if (cell.report.verdict.status === 'kernel-like') s.kernelLike.push(task.task.name);
          else if (cell.report.verdict.status === 'not-kernel-like') s.notKernelLike.push(task.task.name);
          else s.inconclusive.push(task.task.name);
          cells.push(cell);
        }
        table.rows.push({ task: task.task.name, metric, cells });
      }
      tables.push(table);
    }
  }
  return tables;
}

/** "SST-2 16-shot prompt" (with the model when the study has several): the cell's name in the results index. */
export function cellLabel(job: StudyJob): string {
  return `${job.task.task.name} ${job.shots}-shot ${job.mode} (${job.model})`;
}


const pct = (s?: Stat) => (!s || s.n === 0 ? '—' : s.n > 1 ? `${(100 * s.mean).toFixed(1)} ± ${(100 * s.std).toFixed(1)}` : (100 * s.mean).toFixed(1));
const ratio = (s?: Stat) => (!s || s.n === 0 ? '—' : s.n > 1 ? `${s.mean.toFixed(2)} ± ${s.std.toFixed(2)}` : s.mean.toFixed(2));
const KIND_LABEL: Record<KernelKind, string> = { sgd: 'K[SGD]', signgd: 'K[SignGD]', 'asymmetric-signgd': 'K[A-SignGD]' };

/** The header and the cell texts of one table (shared by md, csv and tex). */
function grid(t: StudyTable, modes: StudyMode[]): { header: string[]; rows: string[][] } {
  const perMode = ['FT', ...t.kinds.map((k) => KIND_LABEL[k]), 'agree', 'kernel Δ', 'lin.', 'verdict'];
  const header = ['task', 'metric', ...modes.flatMap((m) => perMode.map((h) => `${m} ${h}`))];
  const rows = t.rows.map((r) => [r.task, r.metric, ...r.cells.flatMap((c) => cellTexts(c, t.kinds))]);
  return { header, rows };
}

function cellTexts(c: StudyCell, kinds: KernelKind[]): string[] {
  const n = 4 + kinds.length + 1;
  const s = c.report?.summary;
  if (!s) return Array.from({ length: n }, (_, i) => (i === n - 1 ? status(c) : '—'));
  const primary = kinds.find((k) => s.agreement[k]);
  return [pct(s.finetune), ...kinds.map((k) => pct(s.kernels[k])), pct(primary ? s.agreement[primary] : undefined), ratio(s.kernelChange), ratio(s.linearization), status(c)];
}

function status(c: StudyCell): string {
  const parts: string[] = [];
  if (c.report) parts.push(c.report.verdict.status);
  if (c.failed.length) parts.push(`FAILED seed ${c.failed.map((f) => `${f.seed} (job ${f.index}: ${f.why})`).join(', ')}`);
  if (c.missing.length) parts.push(`missing seed${c.missing.length > 1 ? 's' : ''} ${c.missing.join(', ')}`);
  return parts.join('; ') || '—';
}

function summaryLines(t: StudyTable): string[] {
  return Object.entries(t.summary).map(([mode, s]) => {
    const total = s.kernelLike.length + s.notKernelLike.length + s.inconclusive.length + s.incomplete.length;
    return `${mode}: kernel-like on ${s.kernelLike.length} of ${total} tasks${s.kernelLike.length ? ` (${s.kernelLike.join(', ')})` : ''}; not kernel-like: ${s.notKernelLike.join(', ') || 'none'}; inconclusive: ${s.inconclusive.join(', ') || 'none'}${s.incomplete.length ? `; incomplete: ${s.incomplete.join(', ')}` : ''}`;
  });
}

export type TableFormat = 'md' | 'csv' | 'tex' | 'json';

export function formatTables(tables: StudyTable[], study: StudySpec, format: TableFormat): string {
  if (format === 'json') {
    return JSON.stringify(tables.map((t) => ({ ...t, rows: t.rows.map((r) => ({ ...r, cells: r.cells.map(({ report, ...c }) => ({ ...c, summary: report?.summary, verdict: report?.verdict })) })) })), null, 2);
  }
  const out: string[] = [];
  for (const t of tables) {
    const { header, rows } = grid(t, study.modes);
    const title = `${t.model}, ${t.shots}-shot, ${study.seeds.length} seeds (test metric %, mean ± std over seeds; verdict per cell)`;
    if (format === 'md') {
      out.push(`### ${title}`, '', `| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`), '', ...summaryLines(t).map((l) => `- ${l}`), '');
    } else if (format === 'csv') {
      const q = (x: string) => (/[",\n]/.test(x) ? `"${x.replace(/"/g, '""')}"` : x);
      out.push(['model', 'shots', ...header].map(q).join(','), ...rows.map((r) => [t.model, String(t.shots), ...r].map(q).join(',')));
    } else {
      const esc = (x: string) => x.replace(/([&%$#_{}])/g, '\\$1').replace(/±/g, '$\\pm$').replace(/—/g, '--').replace(/Δ/g, '$\\Delta$');
      out.push(`% ${title}`, `\\begin{tabular}{${'l'.repeat(header.length)}}`, '\\hline', `${header.map(esc).join(' & ')} \\\\`, '\\hline',
        ...rows.map((r) => `${r.map(esc).join(' & ')} \\\\`), '\\hline', '\\end{tabular}', ...summaryLines(t).map((l) => `% ${l}`), '');
    }
  }
  return out.join('\n');
}
