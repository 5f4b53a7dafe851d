/**
 * The state of a study's Slurm jobs: per job index queued / running / done / failed / missing, from slurmctld
 * (`scontrol`, while it still knows the jobs), `sacct` where accounting runs, the jobcomp file, the job logs and the
 * results store (a job is done when its result is there); and re-submission of the failed or missing jobs.
 * Submission itself lives in slurm.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { expandArraySpec, listSubmissions, slurmCommand, SlurmError, submitSlurm, type SlurmSubmission, type SlurmTarget, type SubmitOptions, type SubmitResult } from './slurm';

export type StudyJobState = 'queued' | 'running' | 'done' | 'failed' | 'missing' | 'unknown';

export interface StudyJobStatus {
  index: number;
  /**
   * queued/running: Slurm says so; done: its result is in the store; failed: its latest task ended without a result
   * (exit code, signal or Slurm state say how); missing: never submitted, or no trace of its task (cancelled before
   * it started, forgotten by Slurm); unknown: slurmctld was not asked (or could not be) and nothing else tells.
   */
  state: StudyJobState;
  /** `<arrayJobId>_<index>` of its latest submission. */
  jobId?: string;
  /** Slurm's state (PENDING, RUNNING, COMPLETED, FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY, …). */
  slurmState?: string;
  /** Slurm's reason (pending or failed), or ours. */
  reason?: string;
  exitCode?: number;
  signal?: number;
  /** The task's log, when it exists. */
  log?: string;
  /** Its last lines, for a failed job. */
  logTail?: string;
  /** Where the state came from. */
  source: 'slurmctld' | 'sacct' | 'jobcomp' | 'log' | 'store' | 'none';
}

export interface StudyStatus {
  jobs: StudyJobStatus[];
  counts: Record<StudyJobState, number>;
  /** The latest aggregation job. */
  report?: { jobId: string; slurmState?: string; table: string; tableWritten: boolean };
  /** What could not be asked (sacct without slurmdbd, slurmctld unreachable, …). */
  notes: string[];
}

export interface StatusOptions extends SlurmTarget {
  /** Every job index of the study. */
  indices: number[];
  /** True when the job's result is in the store. */
  isJobDone: (index: number) => boolean | Promise<boolean>;
  /**
   * Ask slurmctld (default true). false reads only the store, sacct and the jobcomp file: a job they do not settle is
   * 'unknown' (it may still be queued or running).
   */
  useController?: boolean;
}

interface SlurmRecord {
  state: string;
  reason?: string;
  exitCode?: number;
  signal?: number;
  log?: string;
  source: 'slurmctld' | 'sacct' | 'jobcomp';
}

const QUEUED = /^(PENDING|CONFIGURING|REQUEUED|REQUEUE_FED|REQUEUE_HOLD|RESV_DEL_HOLD|SUSPENDED|RESIZING|STOPPED)$/;
const RUNNING = /^(RUNNING|COMPLETING|STAGE_OUT|SIGNALING)$/;

/** `Key=Value Key2=Value…` (scontrol -o, jobcomp/filetxt) into a map; a value runs to the next ` Key=`. */
export function parseKeyValues(line: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /(?:^|\s)([A-Za-z][A-Za-z0-9_/:]*)=/g;
  const keys: { key: string; start: number; valueStart: number }[] = [];
  for (let m = re.exec(line); m; m = re.exec(line)) keys.push({ key: m[1], start: m.index, valueStart: m.index + m[0].length });
  keys.forEach((k, i) => out.set(k.key, line.slice(k.valueStart, i + 1 < keys.length ? keys[i + 1].start : line.length).trim()));
  return out;
}

function exitParts(value: string | undefined): { exitCode?: number; signal?: number } {
  const m = /^(\d+):(\d+)$/.exec(value ?? '');
  return m ? { exitCode: Number(m[1]), signal: Number(m[2]) } : {};
}

/** Task records of one array from `scontrol -o show job <id>`; `undefined` when slurmctld no longer knows it. */
async function fromController(arrayJobId: string, target: SlurmTarget): Promise<Map<number, SlurmRecord> | undefined> {
  let stdout: string;
  try {
    ({ stdout } = await slurmCommand('scontrol', ['-o', 'show', 'job', arrayJobId], target));
  } catch (err) {
    if (err instanceof SlurmError && /Invalid job id/i.test(err.message)) return undefined;
    throw err;
  }
  const tasks = new Map<number, SlurmRecord>();
  for (const line of stdout.split('\n')) {
    const kv = parseKeyValues(line);
    if (kv.get('ArrayJobId') !== arrayJobId || !kv.get('ArrayTaskId')) continue;
    const record: SlurmRecord = {
      state: (kv.get('JobState') ?? 'UNKNOWN').split(/\s/)[0],
      reason: kv.get('Reason') && kv.get('Reason') !== 'None' ? kv.get('Reason') : undefined,
      ...exitParts(kv.get('ExitCode')),
      log: kv.get('StdOut'),
      source: 'slurmctld',
    };
    for (const i of expandArraySpec(kv.get('ArrayTaskId')!)) tasks.set(i, record);
  }
  return tasks;
}

/** Task records from sacct (needs slurmdbd); `undefined` (and a note) when accounting is not available. */
async function fromSacct(arrayJobIds: string[], target: SlurmTarget, notes: string[]): Promise<Map<string, SlurmRecord> | undefined> {
  let stdout: string;
  try {
    ({ stdout } = await slurmCommand('sacct', ['-n', '-P', '-X', '-j', arrayJobIds.join(','), '-o', 'JobID,State,ExitCode'], target));
  } catch (err) {
    notes.push(`sacct: ${(err as Error).message.split('\n')[0]} (job accounting needs slurmdbd)`);
    return undefined;
  }
  const out = new Map<string, SlurmRecord>();
  for (const line of stdout.split('\n')) {
    const [jobId, state, exit] = line.split('|');
    const m = /^(\d+)_(\[?[\d,\-:%]+\]?)$/.exec(jobId ?? '');
    if (!m) continue;
    for (const i of expandArraySpec(m[2])) out.set(`${m[1]}_${i}`, { state: state.split(/\s/)[0], ...exitParts(exit), source: 'sacct' });
  }
  return out;
}

/** `JobCompLoc` when `JobCompType=jobcomp/filetxt`, from the slurm.conf this environment uses. */
function jobcompFile(env: NodeJS.ProcessEnv): string | undefined {
  const conf = env.SLURM_CONF || '/etc/slurm/slurm.conf';
  let text: string;
  try {
    text = fs.readFileSync(conf, 'utf8');
  } catch {
    return undefined;
  }
  const get = (key: string) => new RegExp(`^\\s*${key}\\s*=\\s*(\\S+)`, 'im').exec(text)?.[1];
  return get('JobCompType')?.toLowerCase() === 'jobcomp/filetxt' ? get('JobCompLoc') : undefined;
}

/** The last `maxBytes` of the jobcomp file, as records keyed `<arrayJobId>_<taskId>`. */
function fromJobcomp(file: string, arrayJobIds: Set<string>, maxBytes = 32 << 20): Map<string, SlurmRecord> {
  const out = new Map<string, SlurmRecord>();
  let text: string;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const start = Math.max(0, size - maxBytes);
      const buf = Buffer.alloc(size - start);
      fs.readSync(fd, buf, 0, buf.length, start);
      text = buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    if (!line.includes('ArrayJobId=')) continue;
    const kv = parseKeyValues(line);
    const array = kv.get('ArrayJobId');
    const task = kv.get('ArrayTaskId');
    if (!array || !task || !arrayJobIds.has(array)) continue;
    for (const i of expandArraySpec(task)) {
      out.set(`${array}_${i}`, { state: (kv.get('JobState') ?? 'UNKNOWN').split(/\s/)[0], ...exitParts(kv.get('ExitCode')), source: 'jobcomp' });
    }
  }
  return out;
}

function logTail(file: string, lines = 5, maxBytes = 8192): string | undefined {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const buf = Buffer.alloc(Math.min(size, maxBytes));
      fs.readSync(fd, buf, 0, buf.length, size - buf.length);
      return buf.toString('utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/**
 * Per job index: queued / running (Slurm says so), done (result in the store), failed (ended without a result:
 * exit code, signal, Slurm state, log), missing or unknown. Uses each index's latest submission in
 * `<out>/slurm/submissions.json`; asks slurmctld while it knows the jobs, then sacct (when slurmdbd runs), the jobcomp
 * file (when configured) and the task logs.
 */
export async function studyStatus(opts: StatusOptions): Promise<StudyStatus> {
  const target: SlurmTarget = { ...opts, outDir: path.resolve(opts.outDir) };
  const env = opts.env ?? process.env;
  const notes: string[] = [];
  const submissions = listSubmissions(target.outDir);
  const latest = new Map<number, SlurmSubmission>();
  for (const s of submissions) for (const i of s.indices) latest.set(i, s);
  const arrays = [...new Set([...latest.values()].map((s) => s.arrayJobId))];

  // what Slurm says, keyed `<arrayJobId>_<index>`
  const records = new Map<string, SlurmRecord>();
  let controllerDown = false;
  const forgotten: string[] = [];
  if (opts.useController !== false) {
    for (const id of arrays) {
      try {
        const tasks = await fromController(id, target);
        if (!tasks) forgotten.push(id);
        else for (const [i, r] of tasks) records.set(`${id}_${i}`, r);
      } catch (err) {
        controllerDown = true;
        notes.push(`slurmctld could not be asked: ${(err as Error).message.split('\n').slice(-1)[0]}`);
        break;
      }
    }
  }
  const unresolved = opts.useController === false || controllerDown ? arrays : forgotten;
  if (unresolved.length) {
    const acct = await fromSacct(unresolved, target, notes);
    for (const [k, r] of acct ?? []) if (!records.has(k)) records.set(k, r);
    const jobcomp = jobcompFile(env);
    if (jobcomp) for (const [k, r] of fromJobcomp(jobcomp, new Set(unresolved))) if (!records.has(k)) records.set(k, r);
  }

  const jobs: StudyJobStatus[] = [];
  for (const index of opts.indices) {
    const sub = latest.get(index);
    const jobId = sub ? `${sub.arrayJobId}_${index}` : undefined;
    const rec = jobId ? records.get(jobId) : undefined;
    const logFile = rec?.log && fs.existsSync(rec.log) ? rec.log : sub ? path.join(sub.logDir, `${jobId}.out`) : undefined;
    const log = logFile && fs.existsSync(logFile) ? logFile : undefined;
    const base = { index, jobId, log };
    const slurm = rec ? { slurmState: rec.state, reason: rec.reason, exitCode: rec.exitCode, signal: rec.signal } : {};
    let status: StudyJobStatus;
    if (rec && QUEUED.test(rec.state)) status = { ...base, ...slurm, state: 'queued', source: rec.source };
    else if (rec && RUNNING.test(rec.state)) status = { ...base, ...slurm, state: 'running', source: rec.source };
    else if (await opts.isJobDone(index)) status = { ...base, ...slurm, state: 'done', source: 'store' };
    else if (rec) {
      const reason = rec.state === 'COMPLETED' ? 'the task exited 0 but its result is not in the store' : rec.reason;
      status = { ...base, ...slurm, reason, state: 'failed', source: rec.source };
    } else if (!sub) status = { ...base, state: 'missing', reason: 'never submitted', source: 'none' };
    else if (controllerDown || opts.useController === false) {
      // without slurmctld a task with no record may still be queued or running
      status = { ...base, state: 'unknown', reason: 'slurmctld was not asked and nothing else tells', source: log ? 'log' : 'none' };
    } else if (log) {
      status = { ...base, state: 'failed', reason: 'its task ended without a result (Slurm no longer lists it; see the log)', source: 'log' };
    } else status = { ...base, state: 'missing', reason: 'no trace of its task (cancelled before it started?)', source: 'none' };
    if (status.state === 'failed' && log) status.logTail = logTail(log);
    jobs.push(status);
  }

  const counts: Record<StudyJobState, number> = { queued: 0, running: 0, done: 0, failed: 0, missing: 0, unknown: 0 };
  for (const j of jobs) counts[j.state]++;
  const last = submissions[submissions.length - 1];
  let report: StudyStatus['report'];
  if (last) {
    let slurmState: string | undefined;
    if (opts.useController !== false && !controllerDown) {
      try {
        const { stdout } = await slurmCommand('scontrol', ['-o', 'show', 'job', last.reportJobId], target);
        slurmState = parseKeyValues(stdout.split('\n')[0]).get('JobState');
      } catch {
        /* forgotten: the table file tells */
      }
    }
    report = { jobId: last.reportJobId, slurmState, table: last.table, tableWritten: fs.existsSync(last.table) };
  }
  return { jobs, counts, report, notes };
}

/** One line per job that is not done, after a summary line. */
export function describeStatus(status: StudyStatus): string {
  const c = status.counts;
  const summary = (Object.keys(c) as StudyJobState[]).filter((k) => c[k]).map((k) => `${c[k]} ${k}`).join(', ');
  const lines = [`${status.jobs.length} jobs: ${summary}`];
  for (const j of status.jobs) {
    if (j.state === 'done') continue;
    const how = [
      j.slurmState,
      j.exitCode !== undefined ? `exit ${j.exitCode}${j.signal ? `, signal ${j.signal}` : ''}` : undefined,
      j.reason,
    ].filter(Boolean);
    lines.push(`  job ${j.index}: ${j.state}${j.jobId ? ` (${j.jobId})` : ''}${how.length ? `: ${how.join('; ')}` : ''}${j.log ? `; log ${j.log}` : ''}`);
  }
  if (status.report) {
    lines.push(`aggregation job ${status.report.jobId}: ${status.report.slurmState ?? 'no longer listed'}; table ${status.report.tableWritten ? status.report.table : 'not written yet'}`);
  }
  for (const n of status.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// resubmit

export interface ResubmitOptions extends SubmitOptions {
  /** True when the job's result is in the store. */
  isJobDone: (index: number) => boolean | Promise<boolean>;
  useController?: boolean;
}

/**
 * Submits again only the jobs (of `jobs`: pass every job of the study) that failed or are missing, as an array over
 * their explicit indices (`--array=3,7,12`), plus a new aggregation job. `result` is undefined when nothing needs it.
 * Refuses while slurmctld cannot be asked (it could not tell a running job from a lost one).
 */
export async function resubmitSlurm(opts: ResubmitOptions): Promise<{ status: StudyStatus; resubmitted: number[]; result?: SubmitResult }> {
  const status = await studyStatus({ ...opts, indices: opts.jobs.map((j) => j.index) });
  if (status.counts.unknown) {
    throw new SlurmError(`cannot tell which jobs failed: ${status.notes.join('; ')}`, 'failed');
  }
  const wanted = new Set(status.jobs.filter((j) => j.state === 'failed' || j.state === 'missing').map((j) => j.index));
  const jobs = opts.jobs.filter((j) => wanted.has(j.index));
  if (!jobs.length) return { status, resubmitted: [] };
  const result = await submitSlurm({ ...opts, jobs, kind: 'resubmit' });
  return { status, resubmitted: jobs.map((j) => j.index), result };
}
