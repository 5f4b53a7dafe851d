/**
 * Reading `ntk-lens study run FILE --events`: stdout is one JSON object per line (plan, job, table, done); anything
 * else on stdout is a plain line for the log. Each line is checked before it is believed (a stray print, a partial
 * line or a newer CLI's extra event must not corrupt the panel): `parseStudyEvent` returns undefined for what it does
 * not know. `applyStudyEvent` folds the events into the panel's state. Pure (no vscode).
 */
import type { StudyEvent, StudyJobRow, StudyJobState, StudyPanelState, StudyTableJson } from './study-protocol';

const JOB_STATES: readonly StudyJobState[] = ['queued', 'started', 'done', 'failed', 'skipped', 'retried', 'cancelled'];
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

/** The shape of a `study report --format json` table, checked as deep as the panel reads it. */
export function isStudyTables(v: unknown): v is StudyTableJson[] {
  return Array.isArray(v) && v.every(t => isObject(t) && typeof t.model === 'string' && isCount(t.shots) && Array.isArray(t.kinds) &&
    isObject(t.summary) && Array.isArray(t.rows) && t.rows.every(r => isObject(r) && typeof r.task === 'string' && Array.isArray(r.cells) &&
      r.cells.every(c => isObject(c) && typeof c.mode === 'string' && Array.isArray(c.seeds) && Array.isArray(c.missing) && Array.isArray(c.failed) &&
        (c.key === undefined || c.key === null || typeof c.key === 'string') && (c.summary === undefined || isObject(c.summary)))));
}

/** One stdout line → a StudyEvent, or undefined (not JSON, not an object, an unknown type, or a field of the wrong type). */
export function parseStudyEvent(line: string): StudyEvent | undefined {
  const text = line.trim();
  if (!text.startsWith('{')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(v)) return undefined;
  switch (v.type) {
    case 'plan': {
      // `jobs` as the brief's event has it; the local executor's plan carries counts.total instead
      const jobs = isCount(v.jobs) ? v.jobs : isObject(v.counts) && isCount(v.counts.total) ? v.counts.total : undefined;
      return jobs !== undefined && isCount(v.workers) ? { type: 'plan', jobs, workers: v.workers } : undefined;
    }
    case 'job': {
      if (!isCount(v.index) || !JOB_STATES.includes(v.state as StudyJobState)) return undefined;
      const e: Extract<StudyEvent, { type: 'job' }> = { type: 'job', index: v.index, state: v.state as StudyJobState };
      if (typeof v.label === 'string') e.label = v.label;
      if (typeof v.logFile === 'string') e.logFile = v.logFile;
      if (v.exitCode === null || Number.isInteger(v.exitCode)) e.exitCode = v.exitCode as number | null;
      if (typeof v.reason === 'string') e.reason = v.reason;
      return e;
    }
    case 'table':
      return isStudyTables(v.tables) ? { type: 'table', tables: v.tables } : undefined;
    case 'done':
      return isCount(v.done) && isCount(v.failed) ? { type: 'done', done: v.done, failed: v.failed } : undefined;
    case 'warning':
      return typeof v.message === 'string' ? { type: 'warning', message: v.message } : undefined;
    case 'cancel':
      return { type: 'note', message: `cancel: SIGINT to running job(s) ${Array.isArray(v.running) ? v.running.join(', ') : '?'}, SIGKILL after ${v.graceMs ?? '?'} ms` };
    case 'kill':
      return { type: 'note', message: `job ${v.index ?? '?'} did not stop within ${v.graceMs ?? '?'} ms of SIGINT: killed` };
    default:
      return undefined;
  }
}

/** Splits a stream's chunks into lines (a line may arrive in pieces); `end()` returns a last unterminated line. */
export class LineSplitter {
  private rest = '';
  constructor(private readonly onLine: (line: string) => void) {}
  push(chunk: string | Buffer): void {
    const parts = (this.rest + chunk.toString()).split(/\r?\n/);
    this.rest = parts.pop() ?? '';
    for (const p of parts) this.onLine(p);
  }
  end(): void {
    if (this.rest) this.onLine(this.rest);
    this.rest = '';
  }
}

/** The job rows before a run: the expanded jobs, 'done' where `study jobs --json` says so, else 'unknown'. */
export function initialJobs(labels: string[], done?: boolean[]): StudyJobRow[] {
  return labels.map((label, index) => ({ index, label, state: done?.[index] ? 'done' : 'unknown' }));
}

/** Folds one event into the panel state (a new object; jobs beyond the known list are added). */
export function applyStudyEvent(state: StudyPanelState, e: StudyEvent): StudyPanelState {
  switch (e.type) {
    case 'plan':
      return { ...state, workers: e.workers };
    case 'job': {
      const jobs = state.jobs.slice();
      const old: StudyJobRow = jobs[e.index] ?? { index: e.index, label: e.label ?? `job ${e.index}`, state: 'unknown' };
      const row: StudyJobRow = { ...old, state: e.state, label: e.label ?? old.label };
      if (e.logFile !== undefined) row.logFile = e.logFile;
      if (e.exitCode !== undefined) row.exitCode = e.exitCode;
      if (e.reason !== undefined) row.reason = e.reason;
      else if (e.state === 'started') delete row.reason;
      jobs[e.index] = row;
      for (let i = 0; i < jobs.length; i++) jobs[i] ??= { index: i, label: `job ${i}`, state: 'unknown' };
      return { ...state, jobs };
    }
    case 'table':
      return { ...state, tables: e.tables, tableSource: 'event' };
    case 'done':
      return { ...state, finished: { done: e.done, failed: e.failed } };
    case 'warning':
    case 'note':
      return state;
  }
}

/** Jobs done, failed, running and total, for the CodeLens and the progress notification. */
export function jobCounts(jobs: StudyJobRow[]): { total: number; done: number; failed: number; running: number } {
  let done = 0, failed = 0, running = 0;
  for (const j of jobs) {
    if (j.state === 'done' || j.state === 'skipped') done++;
    else if (j.state === 'failed') failed++;
    else if (j.state === 'started') running++;
  }
  return { total: jobs.length, done, failed, running };
}
