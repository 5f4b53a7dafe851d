/**
 * `ntk-lens study …`: studies (tasks × modes × seeds × models × shots) from one `*.ntk-study.yaml` file.
 *
 *   study init [FILE]                              write the paper's 16-shot grid (default paper-16shot.ntk-study.yaml)
 *   study check FILE                               every problem found without computing, as file:line:column
 *   study jobs FILE [--json]                       the jobs: index, what it computes, result key, estimate, done
 *   study job FILE [--index I]                     run exactly job I (default: $SLURM_ARRAY_TASK_ID, $JOB_COMPLETION_INDEX)
 *   study run FILE [--workers N]                   all unfinished jobs on this machine, N worker processes
 *   study submit FILE --slurm [...]                a Slurm job array and a dependent aggregation job
 *   study status FILE / study resubmit FILE        per-job state; re-submit the failed or missing jobs
 *   study report FILE [--format md|csv|tex|json]   the paper-style table
 * Every command takes --out DIR (the results store; default .ntk beside the study file).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatSpecError, SpecErrors } from '../spec/types';
import { isAbortError } from '../util/abort';
import { estimateRun } from '../run/estimate';
import { eventLine } from '../run/format';
import { expandJobs, jobSpec, type StudyJob } from './jobs';
import { loadStudy, type StudySpec } from './study-file';
import { checkStudy, doneJobs, jobKeys, runStudyJob, studyStore } from './study-run';
import { formatTables, studyTables, type TableFormat } from './table';
import { paperStudyText } from './init';
import { describeLocalEvent, runLocal, studyJobCommand } from './local-executor';
import { describeSubmit, SlurmError, submitSlurm } from './slurm';
import { describeStatus, resubmitSlurm, studyStatus } from './slurm-status';

export interface StudyIO {
  out(s: string): void;
  err(s: string): void;
}

export const STUDY_USAGE = `usage: ntk-lens study COMMAND ... [--out DIR]
  study init [FILE]                              write the paper's 16-shot grid as a starting study file
  study check FILE                               every problem found without computing (file:line:column)
  study jobs FILE [--json]                       the jobs: index, what each computes, result key, estimate, done
  study job FILE [--index I]                     run exactly job I (default: $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX)
  study run FILE [--workers N]                   every unfinished job on this machine, N worker processes (default: the cores)
  study submit FILE --slurm [--partition P] [--time T] [--mem M] [--gpus-per-job G] [--max-parallel K] [--dry-run]
  study status FILE                              queued / running / done / failed per job
  study resubmit FILE                            re-submit only the failed or missing jobs (Slurm)
  study report FILE [--format md|csv|tex|json]   the paper-style table from the results store`;

class StudyUsage extends Error {}

interface Args { sub: string; file?: string; flags: Map<string, string | true> }

const VALUED = new Set(['--out', '--index', '--workers', '--format', '--partition', '--time', '--mem', '--gpus-per-job', '--max-parallel', '--backend', '--memory-mb']);

function parse(argv: string[]): Args {
  const [sub, ...rest] = argv;
  if (!sub) throw new StudyUsage('no study command given');
  const flags = new Map<string, string | true>();
  let file: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a.startsWith('--')) {
      if (VALUED.has(a)) {
        const v = rest[++i];
        if (v === undefined || v.startsWith('--')) throw new StudyUsage(`${a} needs a value`);
        flags.set(a, v);
      } else flags.set(a, true);
    } else if (file) throw new StudyUsage(`one study file at a time (got '${file}' and '${a}')`);
    else file = a;
  }
  return { sub, file, flags };
}

/** Estimated peak memory and time of one job (run/estimate.ts: a guide for scheduling, not a measurement). */
export function estimateJob(study: StudySpec, job: StudyJob): { memoryMB: number; seconds: number } {
  return estimateRun(jobSpec(study, job), job.shots);
}

export async function studyMain(argv: string[], io: StudyIO): Promise<number> {
  let a: Args;
  try {
    a = parse(argv);
    if (a.flags.has('--help') || a.sub === '--help' || a.sub === 'help') { io.out(`${STUDY_USAGE}\n`); return 0; }
    if (a.sub === 'init') return init(a, io);
    if (!a.file) throw new StudyUsage('no study file given');
    if (!fs.existsSync(a.file)) throw new StudyUsage(`${a.file}: no such file`);
  } catch (e) {
    if (e instanceof StudyUsage) { io.err(`ntk-lens study: ${e.message}\n${STUDY_USAGE}\n`); return 2; }
    throw e;
  }
  const out = typeof a.flags.get('--out') === 'string' ? path.resolve(a.flags.get('--out') as string) : undefined;
  let study: StudySpec;
  try {
    study = loadStudy(a.file!);
  } catch (e) {
    if (e instanceof SpecErrors) { io.err(`${e.message}\n`); return 2; }
    throw e;
  }
  const store = studyStore(study, out);
  switch (a.sub) {
    case 'check': {
      const problems = await checkStudy(study);
      for (const p of problems) io.out(`${formatSpecError(p)}\n`);
      if (!problems.length) io.out(`${study.file}: no problems (${expandJobs(study).length} jobs)\n`);
      return problems.some((p) => p.severity === 'error') ? 2 : 0;
    }
    case 'jobs': {
      const jobs = expandJobs(study);
      const [keys, done] = [await jobKeys(study, jobs), await doneJobs(study, store, jobs)];
      const rows = jobs.map((j, i) => ({ index: j.index, label: j.label, model: j.model, task: j.task.task.name, shots: j.shots, mode: j.mode, seed: j.seed, key: keys[i] ?? null, done: done[i], estimate: estimateJob(study, j) }));
      if (a.flags.has('--json')) io.out(`${JSON.stringify(rows, null, 2)}\n`);
      else for (const r of rows) io.out(`${String(r.index).padStart(4)}  ${r.done ? 'done ' : '     '} ${r.label}  key ${r.key ?? '(model not downloaded)'}  ~${r.estimate.memoryMB} MB, ~${r.estimate.seconds} s\n`);
      return 0;
    }
    case 'job': {
      const raw = a.flags.get('--index') ?? process.env.SLURM_ARRAY_TASK_ID ?? process.env.JOB_COMPLETION_INDEX;
      const index = Number(raw);
      if (raw === undefined || raw === true || !Number.isInteger(index) || index < 0) {
        io.err(`ntk-lens study job: give --index I (or run it where $SLURM_ARRAY_TASK_ID or $JOB_COMPLETION_INDEX is set)\n`);
        return 2;
      }
      const problems = (await checkStudy(study)).filter((p) => p.severity === 'error');
      if (problems.length) { io.err(`${problems.map(formatSpecError).join('\n')}\n`); return 2; }
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.on('SIGINT', onSigint);
      try {
        const job = expandJobs(study)[index];
        io.err(`job ${index}: ${job ? job.label : '(none)'}\n`);
        await runStudyJob(study, index, { out, signal: controller.signal, onEvent: (e) => { const l = eventLine(e); if (l) io.err(`${l}\n`); } });
        io.err(`job ${index} done\n`);
        return 0;
      } catch (e) {
        if (isAbortError(e)) { io.err(`job ${index}: cancelled\n`); return 130; }
        if (e instanceof SpecErrors || e instanceof RangeError) { io.err(`${(e as Error).message}\n`); return 2; }
        io.err(`job ${index} failed: ${(e as Error).message}\n`);
        return 1;
      } finally {
        process.off('SIGINT', onSigint);
      }
    }
    case 'run': {
      const problems = (await checkStudy(study)).filter((p) => p.severity === 'error');
      if (problems.length) { io.err(`${problems.map(formatSpecError).join('\n')}\n`); return 2; }
      const workersFlag = a.flags.get('--workers');
      const workers = workersFlag === undefined ? undefined : Number(workersFlag);
      if (workers !== undefined && !(Number.isInteger(workers) && workers >= 1)) { io.err('ntk-lens study run: --workers needs an integer ≥ 1\n'); return 2; }
      const jobs = expandJobs(study);
      const keys = await jobKeys(study, jobs);
      const done = await doneJobs(study, store, jobs, keys);
      const events = a.flags.has('--events');
      const emit = (o: object) => io.out(`${JSON.stringify(o)}\n`);
      const failures = new Map<number, string>();
      const table = async () => studyTables(study, store, { keys, failures });
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.on('SIGINT', onSigint);
      try {
        const result = await runLocal({
          jobs: jobs.map((j) => ({ index: j.index, label: j.label, estimate: estimateJob(study, j) })),
          command: studyJobCommand(study.file, store.root),
          workers,
          isDone: (i) => done[i],
          logDir: path.join(store.root, 'study-logs', path.basename(study.file, '.ntk-study.yaml')),
          signal: controller.signal,
          onEvent: (e) => {
            if (e.type === 'job' && e.state === 'failed') failures.set(e.index, `${e.reason ?? `exit ${e.exitCode}`}; log ${e.logFile}`);
            if (!events) { io.err(`${describeLocalEvent(e)}\n`); return; }
            emit(e.type === 'plan' ? { ...e, jobs: e.counts.total } : e);
            if (e.type === 'job' && (e.state === 'done' || e.state === 'failed')) void table().then((t) => emit({ type: 'table', tables: JSON.parse(formatTables(t, study, 'json')) }));
          },
        });
        const tables = await table();
        if (events) {
          emit({ type: 'table', tables: JSON.parse(formatTables(tables, study, 'json')) });
          emit({ type: 'done', done: result.done.length, failed: result.failed.length, skipped: result.skipped.length, cancelled: result.cancelled.length, seconds: result.seconds, workers: result.workers });
        } else {
          io.out(`${formatTables(tables, study, 'md')}\n`);
          io.out(`${result.done.length} jobs done, ${result.skipped.length} already done, ${result.failed.length} failed${result.cancelled.length ? `, ${result.cancelled.length} cancelled` : ''} in ${result.seconds.toFixed(1)} s on ${result.workers} worker${result.workers === 1 ? '' : 's'}; job logs in ${result.logDir}\n`);
          for (const f of result.failed) io.out(`  job ${f.index} failed: ${f.reason} (log ${f.logFile})\n`);
        }
        return controller.signal.aborted ? 130 : result.failed.length ? 1 : 0;
      } finally {
        process.off('SIGINT', onSigint);
      }
    }
    case 'submit':
    case 'resubmit':
    case 'status': {
      const jobs = expandJobs(study);
      const done = await doneJobs(study, store, jobs);
      const target = { studyFile: study.file, outDir: store.root };
      try {
        if (a.sub === 'status') {
          const status = await studyStatus({ ...target, indices: jobs.map((j) => j.index), isJobDone: (i) => done[i] });
          io.out(`${describeStatus(status)}\n`);
          return 0;
        }
        if (a.sub === 'submit' && !a.flags.has('--slurm')) { io.err('ntk-lens study submit: say where: --slurm (the local executor is `study run`)\n'); return 2; }
        const problems = (await checkStudy(study)).filter((p) => p.severity === 'error');
        if (problems.length) { io.err(`${problems.map(formatSpecError).join('\n')}\n`); return 2; }
        const num = (k: string) => (a.flags.get(k) === undefined ? undefined : Number(a.flags.get(k)));
        const options = {
          ...target,
          jobs: jobs.map((j) => ({ index: j.index, estimate: estimateJob(study, j) })),
          partition: a.flags.get('--partition') as string | undefined,
          time: a.flags.get('--time') as string | undefined,
          mem: a.flags.get('--mem') as string | undefined,
          gpusPerJob: num('--gpus-per-job'),
          maxParallel: num('--max-parallel'),
          dryRun: a.flags.has('--dry-run'),
        };
        if (a.sub === 'submit') {
          // Only the unfinished jobs: a finished job is never computed again.
          const pending = options.jobs.filter((j) => !done[j.index]);
          if (!pending.length) { io.out(`every job of ${study.file} is done; \`ntk-lens study report\` prints the table\n`); return 0; }
          io.out(`${describeSubmit(await submitSlurm({ ...options, jobs: pending }))}\n`);
          return 0;
        }
        const r = await resubmitSlurm({ ...options, isJobDone: (i) => done[i] });
        io.out(r.result ? `re-submitted ${r.resubmitted.length} job(s): ${r.resubmitted.join(', ')}\n${describeSubmit(r.result)}\n` : `nothing to re-submit: ${describeStatus(r.status)}\n`);
        return 0;
      } catch (e) {
        if (e instanceof SlurmError) { io.err(`ntk-lens study ${a.sub}: ${e.message}\n`); return 1; }
        throw e;
      }
    }
    case 'report': {
      const format = (a.flags.get('--format') ?? 'md') as TableFormat;
      if (!['md', 'csv', 'tex', 'json'].includes(format)) { io.err(`ntk-lens study report: --format is md, csv, tex or json (got ${format})\n`); return 2; }
      const tables = await studyTables(study, store);
      io.out(`${formatTables(tables, study, format)}\n`);
      return 0;
    }
    default:
      io.err(`ntk-lens study: unknown command '${a.sub}'\n${STUDY_USAGE}\n`);
      return 2;
  }
}

function init(a: Args, io: StudyIO): number {
  const file = path.resolve(a.file ?? 'paper-16shot.ntk-study.yaml');
  if (!file.endsWith('.ntk-study.yaml')) { io.err(`ntk-lens study init: the file name must end in .ntk-study.yaml (got ${file})\n`); return 2; }
  if (fs.existsSync(file)) { io.err(`ntk-lens study init: ${file} exists; not overwritten\n`); return 2; }
  fs.writeFileSync(file, paperStudyText());
  io.out(`wrote ${file}: 14 tasks × {prompt, standard} × 5 seeds = 140 jobs; edit model and data, then \`ntk-lens study run ${path.basename(file)}\`\n`);
  return 0;
}
