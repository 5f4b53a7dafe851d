/**
 * The local executor of a study (issue 12 §2): runs a list of study jobs on this machine, each in its own child
 * process (by default `ntk-lens study job FILE --index I --out DIR`), N at a time.
 *
 * - N (`workers`) defaults to the number of cores (os.availableParallelism()) and is lowered so that N × the largest
 *   estimated job memory fits the memory budget (default 80 % of the machine's memory, or of the cgroup limit when it
 *   is lower); a `plan` event says when and why, with the numbers. Never more workers than jobs to run.
 * - Jobs start in index order. Each job's stdout and stderr go to `<logDir>/job-<index>.log` (truncated when the job
 *   first starts in this run; a retry appends, after a header line).
 * - `isDone(index)` true (the results store holds the job's results): skipped at once, and again when the job's turn
 *   comes (another process or machine may have finished it meanwhile).
 * - A child killed from outside (SIGKILL: the OOM killer, `kill -9`; or exit code 137, how a relaying parent reports
 *   it) is re-run `retries` times (default 1), before the queued jobs. Any other non-zero exit is a failure: reported
 *   with its exit code, signal and log file; the other jobs go on.
 * - Cancel (`signal` aborts): nothing new starts; every running child's process group gets SIGINT (an ntk-lens run
 *   stops after its current step and keeps its finished seeds); whatever still runs after `cancelGraceMs` gets SIGKILL.
 *   The promise resolves (never rejects on cancel) once every child has exited.
 *
 * Processes: on POSIX each child leads its own process group (`detached`), so a job's own children (the tsx relay of
 * a checkout, helpers) are signalled and killed with it, and after a child exits its group is SIGKILLed to leave no
 * stray process. A terminal's Ctrl-C therefore does not reach the children: the caller turns its SIGINT into the
 * AbortSignal (the CLI does). If this process exits (process.exit, an uncaught error) while children run, they are
 * SIGKILLed; only a SIGKILL of this process itself can orphan them.
 *
 * No engine (tfjs) import: the extension host may use this module directly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface LocalJob {
  index: number;
  label: string;
  estimate: { memoryMB: number; seconds: number };
}

/** How to start one job as a child process. `env` is added to this process's environment. */
export interface JobCommand {
  file: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export type JobState = 'queued' | 'started' | 'done' | 'failed' | 'skipped' | 'retried' | 'cancelled';

export interface LocalCounts {
  total: number;
  /** Waiting for a worker (includes jobs re-queued for a retry). */
  queued: number;
  running: number;
  done: number;
  failed: number;
  skipped: number;
  cancelled: number;
}

export type LocalEvent =
  | ({ type: 'plan'; logDir: string; counts: LocalCounts; at: number } & WorkerPlan)
  | {
      type: 'job';
      state: JobState;
      index: number;
      label: string;
      /** 1 for the first run, 2 for the first retry, … (0 for a job that never started). */
      attempt: number;
      /** Seconds this attempt ran (done / failed / retried / cancelled after starting); 0 otherwise. */
      elapsed: number;
      /** Seconds since runLocal started. */
      at: number;
      pid?: number;
      exitCode?: number | null;
      signal?: NodeJS.Signals | null;
      logFile: string;
      /** failed: the reason in words (exit code, signal, cannot start). */
      reason?: string;
      counts: LocalCounts;
    }
  | { type: 'cancel'; running: number[]; graceMs: number; at: number; counts: LocalCounts }
  | { type: 'kill'; index: number; pid?: number; graceMs: number; at: number }
  | { type: 'warning'; message: string; at: number };

export interface LocalOptions {
  jobs: LocalJob[];
  /** How to start job `index` (see `studyJobCommand` for the CLI's). */
  command: (index: number) => JobCommand;
  /** At most this many at once (default: os.availableParallelism()); lowered by the memory budget. */
  workers?: number;
  /** Memory all running jobs' estimates must fit in (default: 80 % of total memory, or of the cgroup limit). */
  memoryBudgetMB?: number;
  /** Where `job-<index>.log` go (created; default: a new folder under os.tmpdir()). */
  logDir?: string;
  isDone?: (index: number) => boolean;
  signal?: AbortSignal;
  onEvent?: (e: LocalEvent) => void;
  /** Re-runs of a job whose process was killed from outside (default 1). */
  retries?: number;
  /** After a cancel, how long children may take to stop after SIGINT before SIGKILL (default 10 000 ms). */
  cancelGraceMs?: number;
}

export interface FailedJob {
  index: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  logFile: string;
  reason: string;
}

/** One attempt of one job. Times in seconds since runLocal started. */
export interface JobRun {
  index: number;
  attempt: number;
  /** The worker slot (0 … workers−1) it ran in. */
  slot: number;
  pid?: number;
  start: number;
  end: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  outcome: 'done' | 'failed' | 'retried' | 'cancelled';
}

export interface LocalResult {
  /** Sorted by index. */
  done: number[];
  failed: FailedJob[];
  skipped: number[];
  /** Queued or running when the run was cancelled, and not finished. */
  cancelled: number[];
  seconds: number;
  workers: number;
  logDir: string;
  runs: JobRun[];
}

const MB = 1024 * 1024;
const DEFAULT_GRACE_MS = 10_000;
const POSIX = process.platform !== 'win32';

/** Memory this process may plan with: total memory, or the cgroup limit when lower (containers). */
export function machineMemoryMB(): { mb: number; source: string } {
  const total = os.totalmem() / MB;
  const constrained = typeof process.constrainedMemory === 'function' ? (process.constrainedMemory() ?? 0) / MB : 0;
  if (constrained > 0 && constrained < total) return { mb: constrained, source: `the container's memory limit ${fmtMB(constrained)}` };
  return { mb: total, source: `${fmtMB(total)} total memory` };
}

export interface WorkerPlan {
  /** Worker processes that will run at once. */
  workers: number;
  /** `workers` as asked for (default: cores). */
  requested: number;
  cores: number;
  memoryBudgetMB: number;
  /** Where the budget comes from, e.g. "80 % of 15.6 GB total memory". */
  budgetSource: string;
  /** The largest estimated memory of a job to run, and that job's index (undefined when nothing runs). */
  largestJobMB: number;
  largestJobIndex?: number;
  /** Set when the memory budget lowered the worker count; `reason` is a sentence with the numbers. */
  lowered?: { from: number; to: number; reason: string };
  /** Set when even one job is estimated above the budget (it runs anyway, alone at most). */
  overBudget?: string;
}

/**
 * The number of workers for `jobs`: `workers` (default `cores`), lowered so that workers × the largest estimated
 * memory ≤ the budget, at least 1, at most the number of jobs.
 */
export function planWorkers(
  jobs: readonly LocalJob[],
  opts: { workers?: number; memoryBudgetMB?: number; cores?: number; machineMB?: { mb: number; source: string } } = {},
): WorkerPlan {
  const cores = opts.cores ?? os.availableParallelism();
  const requested = opts.workers ?? cores;
  if (!Number.isInteger(requested) || requested < 1) throw new Error(`local executor: workers must be a whole number ≥ 1, not ${requested}`);
  let memoryBudgetMB: number;
  let budgetSource: string;
  if (opts.memoryBudgetMB !== undefined) {
    if (!(opts.memoryBudgetMB > 0)) throw new Error(`local executor: the memory budget must be > 0 MB, not ${opts.memoryBudgetMB}`);
    memoryBudgetMB = opts.memoryBudgetMB;
    budgetSource = 'the memory budget given';
  } else {
    const machine = opts.machineMB ?? machineMemoryMB();
    memoryBudgetMB = 0.8 * machine.mb;
    budgetSource = `80 % of ${machine.source}`;
  }
  let largestJobMB = 0;
  let largestJobIndex: number | undefined;
  for (const j of jobs) {
    const m = Number.isFinite(j.estimate?.memoryMB) ? Math.max(0, j.estimate.memoryMB) : 0;
    if (largestJobIndex === undefined || m > largestJobMB) {
      largestJobMB = m;
      largestJobIndex = j.index;
    }
  }
  let workers = Math.max(1, Math.min(requested, jobs.length));
  const plan: WorkerPlan = { workers, requested, cores, memoryBudgetMB, budgetSource, largestJobMB, largestJobIndex };
  if (largestJobMB > 0) {
    const fit = Math.floor(memoryBudgetMB / largestJobMB);
    if (fit < workers) {
      const to = Math.max(1, fit);
      const largest = jobs.find(j => j.index === largestJobIndex);
      plan.lowered = {
        from: workers,
        to,
        reason:
          `workers lowered from ${workers} to ${to}: the largest job (${largestJobIndex}${largest?.label ? `, ${largest.label}` : ''}) ` +
          `is estimated at ${fmtMB(largestJobMB)}, and ${workers} × ${fmtMB(largestJobMB)} = ${fmtMB(workers * largestJobMB)} ` +
          `exceeds the memory budget ${fmtMB(memoryBudgetMB)} (${budgetSource})` +
          (fit >= 1 ? `; ${to} × ${fmtMB(largestJobMB)} = ${fmtMB(to * largestJobMB)} fits` : ''),
      };
      if (fit < 1) {
        plan.overBudget =
          `job ${largestJobIndex} is estimated at ${fmtMB(largestJobMB)}, more than the memory budget ${fmtMB(memoryBudgetMB)} ` +
          `(${budgetSource}): the jobs run one at a time and may still run out of memory`;
      }
      workers = to;
      plan.workers = workers;
    }
  }
  return plan;
}

function fmtMB(mb: number): string {
  return `${Math.round(mb).toLocaleString('en-US')} MB`;
}

/**
 * The default job command: this package's CLI, `study job FILE --index I --out DIR`, run by this Node
 * (`process.execPath`; under Electron with ELECTRON_RUN_AS_NODE). From the bundle: dist/cli.js beside this module's
 * bundle; from a checkout: src/engine/run/cli.ts with tsx's require hook. `cli` overrides the entry script (a .ts
 * entry gets the tsx hook).
 */
export function studyJobCommand(studyFile: string, outDir: string, opts: { cli?: string; env?: NodeJS.ProcessEnv } = {}): (index: number) => JobCommand {
  const cli = opts.cli ?? defaultCliEntry();
  const nodeArgs = cli.endsWith('.ts') ? ['--require', require.resolve('tsx/cjs')] : [];
  const env: NodeJS.ProcessEnv = { ...opts.env };
  if (process.versions.electron) env.ELECTRON_RUN_AS_NODE = '1';
  const file = path.resolve(studyFile);
  const out = path.resolve(outDir);
  return (index: number) => ({ file: process.execPath, args: [...nodeArgs, cli, 'study', 'job', file, '--index', String(index), '--out', out], env });
}

/** The CLI entry: src/engine/run/cli.ts from a checkout, else dist/cli.js (this module is bundled into dist/*.js). */
export function defaultCliEntry(): string {
  if (__filename.endsWith('.ts')) return path.resolve(__dirname, '../run/cli.ts');
  return path.basename(__filename) === 'cli.js' ? __filename : path.join(__dirname, 'cli.js');
}

interface Running {
  job: LocalJob;
  attempt: number;
  slot: number;
  child?: ChildProcess;
  pid?: number;
  startMs: number;
  logFile: string;
  /** SIGINT sent (cancel): sent once only, as a second one makes ntk-lens quit at once. */
  interrupted?: boolean;
}

function signalGroup(r: Running, sig: NodeJS.Signals): void {
  const pid = r.child?.pid;
  if (pid === undefined) return;
  if (sig === 'SIGINT') {
    if (r.interrupted) return;
    r.interrupted = true;
  }
  try {
    if (POSIX) process.kill(-pid, sig);
    else r.child!.kill(sig);
  } catch {
    /* already gone */
  }
}

/** After a child exited: SIGKILL what is left of its process group (grandchildren), if anything. */
function reapGroup(pid: number | undefined): void {
  if (!POSIX || pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* ESRCH: nothing left */
  }
}

/** Killed from outside, so worth one more try: SIGKILL (OOM killer, kill -9), or 137 = 128 + 9 from a relaying parent. */
function killedFromOutside(code: number | null, signal: NodeJS.Signals | null): boolean {
  return signal === 'SIGKILL' || code === 137;
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `killed by ${signal}`;
  return `exit code ${code}`;
}

/** Runs `opts.jobs` in child processes, at most `workers` at a time. Resolves when all have finished or stopped (also
 * on cancel); rejects only for bad options (duplicate indices, workers < 1, retries < 0, budget ≤ 0). */
export async function runLocal(opts: LocalOptions): Promise<LocalResult> {
  const t0 = Date.now();
  const at = () => (Date.now() - t0) / 1000;
  const emit = (e: LocalEvent) => {
    try {
      opts.onEvent?.(e);
    } catch {
      /* a listener's error must not stop the jobs */
    }
  };
  const seen = new Set<number>();
  for (const j of opts.jobs) {
    if (!Number.isInteger(j.index) || j.index < 0) throw new Error(`local executor: job index ${j.index} is not a whole number ≥ 0`);
    if (seen.has(j.index)) throw new Error(`local executor: job ${j.index} is listed twice`);
    seen.add(j.index);
  }
  const retries = opts.retries ?? 1;
  if (!Number.isInteger(retries) || retries < 0) throw new Error(`local executor: retries must be a whole number ≥ 0, not ${retries}`);
  const graceMs = opts.cancelGraceMs ?? DEFAULT_GRACE_MS;
  const logDir = path.resolve(opts.logDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-lens-study-')));
  fs.mkdirSync(logDir, { recursive: true });
  const logFile = (index: number) => path.join(logDir, `job-${index}.log`);

  const jobs = [...opts.jobs].sort((a, b) => a.index - b.index);
  const done: number[] = [];
  const failed: FailedJob[] = [];
  const skipped: number[] = [];
  const cancelled: number[] = [];
  const runs: JobRun[] = [];
  const running = new Map<number, Running>();
  const attempts = new Map<number, number>();
  const counts: LocalCounts = { total: jobs.length, queued: 0, running: 0, done: 0, failed: 0, skipped: 0, cancelled: 0 };
  const snapshot = (): LocalCounts => ({ ...counts });

  const isDone = (index: number): boolean => {
    if (!opts.isDone) return false;
    try {
      return opts.isDone(index);
    } catch (err) {
      emit({ type: 'warning', message: `cannot tell whether job ${index} is done (${(err as Error).message}); running it`, at: at() });
      return false;
    }
  };
  const jobEvent = (state: JobState, job: LocalJob, extra: Partial<Extract<LocalEvent, { type: 'job' }>> = {}) =>
    emit({ type: 'job', state, index: job.index, label: job.label, attempt: attempts.get(job.index) ?? 0, elapsed: 0, at: at(), logFile: logFile(job.index), counts: snapshot(), ...extra });

  // Done jobs are skipped at once; the rest are queued in index order.
  const queue: LocalJob[] = [];
  const initiallySkipped: LocalJob[] = [];
  for (const j of jobs) (isDone(j.index) ? initiallySkipped : queue).push(j);
  const plan = planWorkers(queue, { workers: opts.workers, memoryBudgetMB: opts.memoryBudgetMB });
  const workers = plan.workers;
  counts.queued = queue.length;
  emit({ type: 'plan', ...plan, logDir, counts: snapshot(), at: at() });
  for (const j of initiallySkipped) {
    skipped.push(j.index);
    counts.skipped++;
    jobEvent('skipped', j);
  }
  // queued events after the plan, each with the counts as they stand
  for (const j of queue) jobEvent('queued', j);

  return new Promise<LocalResult>(resolve => {
    const freeSlots = Array.from({ length: workers }, (_, i) => workers - 1 - i); // pop() gives the lowest
    let cancelling = false;
    let killTimer: NodeJS.Timeout | undefined;
    let settled = false;

    const onProcessExit = () => {
      for (const r of running.values()) signalGroup(r, 'SIGKILL');
    };
    process.on('exit', onProcessExit);

    const finish = () => {
      if (settled || running.size > 0 || (queue.length > 0 && !cancelling)) return;
      settled = true;
      if (killTimer) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      process.off('exit', onProcessExit);
      const byIndex = (a: number, b: number) => a - b;
      resolve({
        done: done.sort(byIndex),
        failed: failed.sort((a, b) => a.index - b.index),
        skipped: skipped.sort(byIndex),
        cancelled: cancelled.sort(byIndex),
        seconds: at(),
        workers,
        logDir,
        runs,
      });
    };

    const onAbort = () => {
      if (cancelling) return;
      cancelling = true;
      emit({ type: 'cancel', running: [...running.keys()].sort((a, b) => a - b), graceMs, at: at(), counts: snapshot() });
      for (const j of queue.splice(0)) {
        counts.queued--;
        counts.cancelled++;
        cancelled.push(j.index);
        jobEvent('cancelled', j);
      }
      for (const r of running.values()) signalGroup(r, 'SIGINT');
      if (running.size > 0) {
        killTimer = setTimeout(() => {
          for (const r of running.values()) {
            emit({ type: 'kill', index: r.job.index, pid: r.pid, graceMs, at: at() });
            signalGroup(r, 'SIGKILL');
          }
        }, graceMs);
      }
      finish();
    };

    const start = (job: LocalJob, slot: number) => {
      const attempt = (attempts.get(job.index) ?? 0) + 1;
      attempts.set(job.index, attempt);
      const file = logFile(job.index);
      const r: Running = { job, attempt, slot, startMs: Date.now(), logFile: file };
      running.set(job.index, r);
      counts.queued--;
      counts.running++;
      let fd: number | undefined;
      let settledRun = false;
      const ended = (exitCode: number | null, signal: NodeJS.Signals | null, startError?: string) => {
        if (settledRun) return;
        settledRun = true;
        reapGroup(r.pid);
        running.delete(job.index);
        counts.running--;
        freeSlots.push(slot);
        freeSlots.sort((a, b) => b - a);
        const elapsed = (Date.now() - r.startMs) / 1000;
        const run: JobRun = { index: job.index, attempt, slot, pid: r.pid, start: (r.startMs - t0) / 1000, end: at(), exitCode, signal, outcome: 'done' };
        const what = startError ?? describeExit(exitCode, signal);
        try {
          fs.appendFileSync(file, `\n# ntk-lens study: job ${job.index} attempt ${attempt}: ${exitCode === 0 ? 'done' : what} after ${elapsed.toFixed(1)} s\n`);
        } catch {
          /* the log folder went away: nothing to record it in */
        }
        const extra = { attempt, elapsed, pid: r.pid, exitCode, signal };
        if (exitCode === 0 && !startError) {
          done.push(job.index);
          counts.done++;
          jobEvent('done', job, extra);
        } else if (cancelling) {
          run.outcome = 'cancelled';
          cancelled.push(job.index);
          counts.cancelled++;
          jobEvent('cancelled', job, extra);
        } else if (!startError && killedFromOutside(exitCode, signal) && attempt <= retries) {
          run.outcome = 'retried';
          queue.unshift(job); // runs next, before the jobs still queued
          counts.queued++;
          jobEvent('retried', job, { ...extra, reason: `${what} from outside; running it again (attempt ${attempt + 1} of ${retries + 1})` });
        } else {
          run.outcome = 'failed';
          const reason = killedFromOutside(exitCode, signal) && attempt > 1 ? `${what} (attempt ${attempt} of ${retries + 1})` : what;
          failed.push({ index: job.index, exitCode, signal, logFile: file, reason });
          counts.failed++;
          jobEvent('failed', job, { ...extra, reason });
        }
        runs.push(run);
        pump();
      };
      try {
        const cmd = opts.command(job.index);
        const header =
          `${attempt > 1 ? '\n' : ''}# ntk-lens study: job ${job.index} (${job.label}) attempt ${attempt}, ${new Date().toISOString()}\n` +
          `# ${[cmd.file, ...cmd.args].map(a => (/[\s"'$]/.test(a) ? JSON.stringify(a) : a)).join(' ')}\n`;
        // the first attempt in this run starts the log afresh; every write after that appends (O_APPEND)
        if (attempt === 1) fs.writeFileSync(file, header);
        fd = fs.openSync(file, 'a');
        if (attempt > 1) fs.writeSync(fd, header);
        const child = spawn(cmd.file, cmd.args, {
          cwd: cmd.cwd,
          env: { ...process.env, ...cmd.env },
          stdio: ['ignore', fd, fd],
          detached: POSIX,
          windowsHide: true,
        });
        r.child = child;
        r.pid = child.pid;
        child.on('error', err => {
          try {
            fs.appendFileSync(file, `# cannot start: ${err.message}\n`);
          } catch {
            /* ignore */
          }
          ended(null, null, `cannot start: ${err.message}`);
        });
        child.on('exit', (code, signal) => ended(code, signal));
      } catch (err) {
        const message = `cannot start: ${(err as Error).message}`;
        try {
          fs.appendFileSync(file, `# ${message}\n`);
        } catch {
          /* the log folder is not writable: the event and the result still say why */
        }
        setImmediate(() => ended(null, null, message));
      } finally {
        if (fd !== undefined) fs.closeSync(fd); // the child holds its own copy
      }
      if (r.pid !== undefined) jobEvent('started', job, { attempt, pid: r.pid });
      // aborted while starting (from a listener): this child gets the same treatment as the others
      if (cancelling) signalGroup(r, 'SIGINT');
    };

    const pump = () => {
      while (!cancelling && freeSlots.length > 0 && queue.length > 0) {
        const job = queue.shift()!;
        if ((attempts.get(job.index) ?? 0) === 0 && isDone(job.index)) {
          counts.queued--;
          counts.skipped++;
          skipped.push(job.index);
          jobEvent('skipped', job);
          continue;
        }
        start(job, freeSlots.pop()!);
      }
      finish();
    };

    if (opts.signal?.aborted) onAbort();
    else {
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      pump();
    }
  });
}

/** One line for a CLI: `[3/12 done, 2 running, 1 failed] job 4 (SST-2 prompt seed 13) done in 81.2 s`. */
export function describeLocalEvent(e: LocalEvent): string {
  switch (e.type) {
    case 'plan': {
      const c = e.counts;
      const head = `${c.total} jobs (${c.skipped} already done), ${e.workers} worker${e.workers === 1 ? '' : 's'}`;
      return [head, e.lowered?.reason, e.overBudget, `logs in ${e.logDir}`].filter(Boolean).join('; ');
    }
    case 'job': {
      const c = e.counts;
      const tally = `[${c.done + c.skipped}/${c.total} done, ${c.running} running${c.failed ? `, ${c.failed} failed` : ''}${c.cancelled ? `, ${c.cancelled} cancelled` : ''}]`;
      const who = `job ${e.index} (${e.label})`;
      const took = `${e.elapsed.toFixed(1)} s`;
      switch (e.state) {
        case 'queued': return `${tally} ${who} queued`;
        case 'started': return `${tally} ${who} started${e.attempt > 1 ? ` (attempt ${e.attempt})` : ''}, pid ${e.pid}`;
        case 'done': return `${tally} ${who} done in ${took}`;
        case 'skipped': return `${tally} ${who} skipped: already done`;
        case 'retried': return `${tally} ${who} ${e.reason ?? 'retried'} after ${took}`;
        case 'failed': return `${tally} ${who} failed after ${took} (${e.reason ?? describeExit(e.exitCode ?? null, e.signal ?? null)}); log: ${e.logFile}`;
        case 'cancelled': return `${tally} ${who} cancelled${e.attempt > 0 ? ` after ${took}` : ''}`;
      }
      return `${tally} ${who} ${e.state}`;
    }
    case 'cancel':
      return `cancelling: SIGINT to ${e.running.length} running job${e.running.length === 1 ? '' : 's'} (finished seeds are kept); SIGKILL after ${(e.graceMs / 1000).toFixed(0)} s`;
    case 'kill':
      return `job ${e.index} did not stop within ${(e.graceMs / 1000).toFixed(0)} s of SIGINT: SIGKILL`;
    case 'warning':
      return `warning: ${e.message}`;
  }
}
