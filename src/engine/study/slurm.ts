/**
 * The Slurm executor of a study: one job ARRAY over the study's job indices (task i runs `ntk-lens study job FILE
 * --index i --out DIR`), plus an aggregation job that runs after every task (`--dependency=afterany:<array>`) and
 * writes the table (`study report`) to `<out>/slurm/table.md` and `table.json`. The results store DIR must be on a
 * filesystem every node shares: the tasks write their results there, the aggregation reads them.
 *
 *   <out>/slurm/<stamp>-array.sbatch, <stamp>-report.sbatch   the scripts, as submitted (kept for the record)
 *   <out>/slurm/logs/<arrayJobId>_<index>.out                  one log per task (stdout and stderr)
 *   <out>/slurm/logs/report-<jobId>.out                        the aggregation job's log
 *   <out>/slurm/submissions.json                               every submission { arrayJobId, reportJobId, indices,… }
 *   <out>/slurm/table.md, table.json                           written by the aggregation job (atomically)
 *
 * Slurm is driven through its client commands (sbatch, scontrol, scancel, sacct), run with execFile (no shell) in
 * `env` (default process.env: SLURM_CONF and PATH come from there). A job's state comes from slurmctld while it knows
 * the job (`scontrol -o show job`, MinJobAge after the end), then from sacct (only with slurmdbd), the jobcomp file
 * (JobCompType=jobcomp/filetxt) and the task's log; "done" always means its result is in the store (`isJobDone`).
 */
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { withFileLock } from '../report/lock';
import { writeFileAtomic } from '../report/store';

/** What the executor needs of a study job (the study's `StudyJob` fits). */
export interface SlurmJobRef {
  index: number;
  estimate?: { memoryMB: number; seconds: number };
}

export interface SlurmTarget {
  /** The study file (made absolute). */
  studyFile: string;
  /** The results store: must be on a filesystem shared by the nodes. */
  outDir: string;
  /** Environment of the Slurm commands and, through sbatch's default `--export=ALL`, of the jobs. */
  env?: NodeJS.ProcessEnv;
  /** Limit of each Slurm command in ms (default 60 000: a client without a reachable config retries for 60 s). */
  commandTimeoutMs?: number;
}

export interface SlurmResources {
  partition?: string;
  /** Per task, as Slurm writes it (`90`, `2:00:00`, `1-12:00:00`); default from the estimates (2× + 10 min). */
  time?: string;
  /** Per task: MB as a number, or Slurm's form (`16G`); default from the estimates (1.25×). */
  mem?: number | string;
  /** `--gres=gpu:G` per task. */
  gpusPerJob?: number;
  cpusPerJob?: number;
  /** `%K`: at most K tasks at once. */
  maxParallel?: number;
  account?: string;
  qos?: string;
  /** Further sbatch options for the array, one per element (`--constraint=a100`). */
  sbatchArgs?: string[];
  /** The aggregation job's partition (default: `partition`) and time limit (default 30:00). */
  reportPartition?: string;
  reportTime?: string;
}

export interface SubmitOptions extends SlurmTarget, SlurmResources {
  /** The jobs to run; their indices become the array's task ids. */
  jobs: SlurmJobRef[];
  /** How a task starts ntk-lens (default: `ntkLensCommand()`, from how this process was started). */
  command?: string[];
  /** Shell lines run before the command in each job (`module load nodejs`). */
  prelude?: string[];
  /** Job name (default `ntk-<study name>`; the aggregation job gets `-report`). */
  jobName?: string;
  /** Write the scripts and return them; submit nothing. */
  dryRun?: boolean;
  /** Recorded in submissions.json (default 'submit'). */
  kind?: 'submit' | 'resubmit';
}

/** One entry of `<out>/slurm/submissions.json`. */
export interface SlurmSubmission {
  kind: 'submit' | 'resubmit';
  arrayJobId: string;
  reportJobId: string;
  indices: number[];
  /** The `--array` value. */
  array: string;
  submittedAt: string;
  studyFile: string;
  arrayScript: string;
  reportScript: string;
  /** Task logs: `<logDir>/<arrayJobId>_<index>.out`. */
  logDir: string;
  table: string;
  command: string[];
}

export interface SubmitResult {
  dryRun: boolean;
  /** Absent in a dry run. */
  submission?: SlurmSubmission;
  arrayScript: { path: string; text: string };
  reportScript: { path: string; text: string };
  /** The sbatch command lines (the report's holds `<arrayJobId>` in a dry run). */
  sbatch: { array: string[]; report: string[] };
  /** Time spent in the two sbatch calls (ms). */
  submitMs?: number;
}

/** A Slurm command that could not run, or that Slurm answered with an error; `message` carries Slurm's own words. */
export class SlurmError extends Error {
  constructor(
    message: string,
    readonly kind: 'missing' | 'rejected' | 'timeout' | 'failed',
    readonly stderr = '',
  ) {
    super(message);
    this.name = 'SlurmError';
  }
}

export function slurmPaths(outDir: string): { dir: string; logs: string; submissions: string; table: string; tableJson: string } {
  const dir = path.join(path.resolve(outDir), 'slurm');
  return {
    dir,
    logs: path.join(dir, 'logs'),
    submissions: path.join(dir, 'submissions.json'),
    table: path.join(dir, 'table.md'),
    tableJson: path.join(dir, 'table.json'),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// how a task starts ntk-lens

/**
 * The command a Slurm task uses to start ntk-lens, from how this process was started:
 * the installed bin (`ntk-lens` on PATH: its absolute path), `node <repo>/dist/cli.js` (the bundle), or, from a
 * checkout run with tsx, `node --require …/tsx/dist/preflight.cjs --import …/tsx/dist/loader.mjs <repo>/src/…/cli.ts`
 * (tsx's own absolute loader flags: no npx on the node). Otherwise (e.g. inside tests) the bundle next to this code.
 * The node binary is this process's; pass `command` to submitSlurm where nodes need another one.
 */
export function ntkLensCommand(
  argv: readonly string[] = process.argv,
  execArgv: readonly string[] = process.execArgv,
  execPath: string = process.execPath,
): string[] {
  const script = argv[1] ? path.resolve(argv[1]) : '';
  const base = path.basename(script);
  if (base === 'ntk-lens') return [script];
  if (base === 'cli.js' && path.basename(path.dirname(script)) === 'dist' && fs.existsSync(script)) return [execPath, script];
  if (/^cli\.[cm]?ts$/.test(base) && fs.existsSync(script)) {
    const loader: string[] = [];
    for (let i = 0; i + 1 < execArgv.length; i++) {
      if ((execArgv[i] === '--require' || execArgv[i] === '--import') && /[\\/]tsx[\\/]/.test(execArgv[i + 1])) {
        loader.push(execArgv[i], execArgv[++i]);
      }
    }
    if (loader.length) return [execPath, ...loader, script];
  }
  for (const bundle of [path.join(__dirname, 'cli.js'), path.resolve(__dirname, '../../../dist/cli.js')]) {
    if (fs.existsSync(bundle)) return [execPath, bundle];
  }
  throw new Error('cannot tell how a Slurm job should start ntk-lens (no dist/cli.js, not run from the bin or tsx): give the command explicitly');
}

/** Splits a command line as a POSIX shell would for plain words and '…'/"…" quoting (no expansions). */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "'" || c === '"') {
      const end = line.indexOf(c, i + 1);
      if (end < 0) throw new Error(`unbalanced ${c} in: ${line}`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i];
    } else word = (word ?? '') + c;
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** Quotes a word for bash (unchanged when it needs no quoting). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

// ---------------------------------------------------------------------------------------------------------------
// the scripts

/** `0-4,7,9-10` (sorted, runs compressed) plus `%K`. */
export function arraySpec(indices: readonly number[], maxParallel?: number): string {
  const sorted = [...new Set(indices)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(j > i ? `${sorted[i]}-${sorted[j]}` : `${sorted[i]}`);
    i = j + 1;
  }
  return parts.join(',') + (maxParallel ? `%${maxParallel}` : '');
}

/** Expands a Slurm task list (`2-9%2`, `1,3-5`, `0-10:2`, `[4-6]`) into indices. */
export function expandArraySpec(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.replace(/^\[|\]$/g, '').replace(/%\d+$/, '').split(',')) {
    const m = /^(\d+)(?:-(\d+)(?::(\d+))?)?$/.exec(part.trim());
    if (!m) continue;
    const [a, b, step] = [Number(m[1]), m[2] === undefined ? Number(m[1]) : Number(m[2]), Number(m[3] ?? 1)];
    for (let i = a; i <= b; i += step) out.push(i);
  }
  return out;
}

/** Seconds as Slurm's `[D-]HH:MM:SS`. */
export function slurmTime(seconds: number): string {
  const s = Math.max(60, Math.ceil(seconds));
  const d = Math.floor(s / 86400);
  const hms = [Math.floor((s % 86400) / 3600), Math.floor((s % 3600) / 60), s % 60].map((n) => String(n).padStart(2, '0')).join(':');
  return d ? `${d}-${hms}` : hms;
}

/** Per-task memory (MB, 1.25× the largest estimate) and time (2× the longest + 10 min) from the jobs' estimates. */
export function resourcesFromEstimates(jobs: readonly SlurmJobRef[]): { memMB?: number; time?: string } {
  const est = jobs.map((j) => j.estimate).filter((e): e is NonNullable<SlurmJobRef['estimate']> => !!e);
  if (!est.length) return {};
  const mem = Math.max(...est.map((e) => e.memoryMB));
  const secs = Math.max(...est.map((e) => e.seconds));
  return {
    memMB: mem > 0 ? Math.ceil((mem * 1.25) / 256) * 256 : undefined,
    time: secs > 0 ? slurmTime(secs * 2 + 600) : undefined,
  };
}

function directive(option: string, value?: string | number): string {
  if (value === undefined) return `#SBATCH ${option}`;
  const v = String(value);
  if (/[\n\r]/.test(v)) throw new Error(`${option}: a line break in '${v}'`);
  return `#SBATCH ${option}=${/[\s"']/.test(v) ? `"${v.replace(/"/g, '\\"')}"` : v}`;
}

function studyName(studyFile: string): string {
  return path.basename(studyFile).replace(/\.ntk-study\.ya?ml$|\.ya?ml$/, '').replace(/[^A-Za-z0-9_.-]+/g, '-') || 'study';
}

interface Scripts {
  array: string;
  report: string;
  spec: string;
}

function buildScripts(opts: SubmitOptions, command: string[]): Scripts {
  const studyFile = path.resolve(opts.studyFile);
  const outDir = path.resolve(opts.outDir);
  const paths = slurmPaths(outDir);
  const indices = opts.jobs.map((j) => j.index);
  const spec = arraySpec(indices, opts.maxParallel);
  const name = opts.jobName ?? `ntk-${studyName(studyFile)}`;
  const fromEstimates = resourcesFromEstimates(opts.jobs);
  const mem = opts.mem ?? fromEstimates.memMB;
  const time = opts.time ?? fromEstimates.time;
  const cmd = command.map(shellQuote).join(' ');
  const file = shellQuote(studyFile);
  const out = shellQuote(outDir);
  const prelude = opts.prelude?.length ? [...opts.prelude, ''] : [];
  const common = [
    ...(opts.account ? [directive('--account', opts.account)] : []),
    ...(opts.qos ? [directive('--qos', opts.qos)] : []),
  ];

  const array = [
    '#!/bin/bash',
    `# ntk-lens study ${studyFile}: job array over study job indices ${spec}`,
    `# (written by ntk-lens; task $SLURM_ARRAY_TASK_ID runs study job $SLURM_ARRAY_TASK_ID)`,
    directive('--job-name', name),
    directive('--array', spec),
    directive('--output', path.join(paths.logs, '%A_%a.out')),
    ...(opts.partition ? [directive('--partition', opts.partition)] : []),
    ...(time ? [directive('--time', time)] : []),
    ...(mem !== undefined ? [directive('--mem', typeof mem === 'number' ? `${Math.ceil(mem)}M` : mem)] : []),
    ...(opts.gpusPerJob ? [directive('--gres', `gpu:${opts.gpusPerJob}`)] : []),
    ...(opts.cpusPerJob ? [directive('--cpus-per-task', opts.cpusPerJob)] : []),
    ...common,
    ...(opts.sbatchArgs ?? []).map((a) => {
      const m = /^(--?[^=\s]+)(?:=(.*))?$/s.exec(a);
      if (!m) throw new Error(`sbatch option '${a}' does not start with -`);
      return directive(m[1], m[2]);
    }),
    '',
    ...prelude,
    `echo "ntk-lens study job $SLURM_ARRAY_TASK_ID: array job $SLURM_ARRAY_JOB_ID on $(hostname), $(date -u +%FT%TZ)" >&2`,
    `exec ${cmd} study job ${file} --index "$SLURM_ARRAY_TASK_ID" --out ${out}`,
    '',
  ].join('\n');

  const table = shellQuote(paths.table);
  const tableJson = shellQuote(paths.tableJson);
  const reportPartition = opts.reportPartition ?? opts.partition;
  const report = [
    '#!/bin/bash',
    `# ntk-lens study ${studyFile}: the table, once every task of the array has ended (any state)`,
    directive('--job-name', `${name}-report`),
    directive('--output', path.join(paths.logs, 'report-%j.out')),
    ...(reportPartition ? [directive('--partition', reportPartition)] : []),
    directive('--time', opts.reportTime ?? '30:00'),
    ...common,
    '',
    ...prelude,
    '# each table is written to a temporary file, then renamed: a reader never sees half a table',
    `${cmd} study report ${file} --out ${out} --format md > ${table}.$SLURM_JOB_ID.tmp; md=$?`,
    `mv -f ${table}.$SLURM_JOB_ID.tmp ${table}`,
    `${cmd} study report ${file} --out ${out} --format json > ${tableJson}.$SLURM_JOB_ID.tmp; json=$?`,
    `mv -f ${tableJson}.$SLURM_JOB_ID.tmp ${tableJson}`,
    `echo "table: ${paths.table.replace(/["$`\\]/g, '\\$&')} (study report exit codes: md $md, json $json)" >&2`,
    'exit $(( md != 0 ? md : json ))',
    '',
  ].join('\n');
  return { array, report, spec };
}

// ---------------------------------------------------------------------------------------------------------------
// running Slurm's commands

interface Run {
  stdout: string;
  stderr: string;
}

export function slurmCommand(program: string, args: string[], target: Pick<SlurmTarget, 'env' | 'commandTimeoutMs'>): Promise<Run> {
  const env = target.env ?? process.env;
  const timeout = target.commandTimeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    execFile(program, args, { env, timeout, maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve({ stdout, stderr });
      const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: string | number };
      const said = (stderr || stdout).trim();
      if (e.code === 'ENOENT') {
        reject(
          new SlurmError(
            `${program} was not found on PATH (${env.PATH ?? ''}): Slurm's client commands (sbatch, scontrol, scancel) must be ` +
              `installed here, as on a cluster's login node (or \`module load slurm\`); --dry-run writes the scripts without them`,
            'missing',
          ),
        );
      } else if (e.killed) {
        reject(new SlurmError(`${program} did not answer within ${timeout / 1000} s${said ? `: ${said}` : ''}`, 'timeout', said));
      } else reject(new SlurmError(said || `${program} ${args.join(' ')} failed (exit ${e.code})`, 'rejected', said));
    });
  });
}

/** `sbatch --parsable` prints `jobid[;cluster]`. */
async function sbatch(args: string[], target: SlurmTarget): Promise<string> {
  const { stdout } = await slurmCommand('sbatch', ['--parsable', ...args], target);
  const id = stdout.trim().split('\n').pop()?.split(';')[0] ?? '';
  if (!/^\d+$/.test(id)) throw new SlurmError(`sbatch printed no job id: '${stdout.trim()}'`, 'failed');
  return id;
}

function explainRejection(message: string, indices: readonly number[]): string {
  if (/Invalid job array specification/i.test(message) && Math.max(...indices) >= 1000) {
    return `${message} (the largest index is ${Math.max(...indices)}: Slurm's MaxArraySize, 1001 by default, bounds it; see \`scontrol show config | grep MaxArraySize\`)`;
  }
  return message;
}

// ---------------------------------------------------------------------------------------------------------------
// submit

function readSubmissions(file: string): SlurmSubmission[] {
  try {
    const data = JSON.parse(fs.readFileSync(file, 'utf8')) as { submissions?: SlurmSubmission[] };
    return Array.isArray(data.submissions) ? data.submissions : [];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

/** Every submission recorded for the store, oldest first. */
export function listSubmissions(outDir: string): SlurmSubmission[] {
  return readSubmissions(slurmPaths(outDir).submissions);
}

async function recordSubmission(outDir: string, entry: SlurmSubmission): Promise<void> {
  const paths = slurmPaths(outDir);
  await withFileLock(path.join(paths.dir, 'submissions.lock'), async () => {
    const submissions = [...readSubmissions(paths.submissions), entry];
    writeFileAtomic(paths.submissions, JSON.stringify({ version: 1, submissions }, null, 2) + '\n');
  });
}

/**
 * Writes the array and aggregation scripts and submits them with `sbatch --parsable` (the aggregation with
 * `--dependency=afterany:<array>`), then appends the submission to `<out>/slurm/submissions.json`.
 * Throws SlurmError with Slurm's own message when sbatch is missing or Slurm rejects a job; nothing stays submitted
 * (an accepted array whose aggregation job is rejected is cancelled, and the message says so).
 */
export async function submitSlurm(opts: SubmitOptions): Promise<SubmitResult> {
  const indices = opts.jobs.map((j) => j.index);
  if (!indices.length) throw new Error('no study jobs to submit');
  const bad = indices.find((i) => !Number.isInteger(i) || i < 0);
  if (bad !== undefined) throw new Error(`study job index ${bad} is not an integer ≥ 0`);
  if (new Set(indices).size !== indices.length) throw new Error('a study job index is listed twice');
  if (opts.maxParallel !== undefined && !(Number.isInteger(opts.maxParallel) && opts.maxParallel > 0)) {
    throw new Error(`max-parallel: ${opts.maxParallel} is not an integer ≥ 1`);
  }
  if (opts.gpusPerJob !== undefined && !(Number.isInteger(opts.gpusPerJob) && opts.gpusPerJob >= 0)) {
    throw new Error(`gpus-per-job: ${opts.gpusPerJob} is not an integer ≥ 0`);
  }
  const command = opts.command ?? ntkLensCommand();
  const target: SlurmTarget = { ...opts, studyFile: path.resolve(opts.studyFile), outDir: path.resolve(opts.outDir) };
  const paths = slurmPaths(target.outDir);
  const scripts = buildScripts({ ...opts, ...target }, command);

  const now = new Date();
  const stamp = `${now.toISOString().replace(/[-:]|\.\d+/g, '')}-${crypto.randomBytes(2).toString('hex')}`;
  const arrayPath = path.join(paths.dir, `${stamp}-array.sbatch`);
  const reportPath = path.join(paths.dir, `${stamp}-report.sbatch`);
  fs.mkdirSync(paths.logs, { recursive: true });
  writeFileAtomic(arrayPath, scripts.array);
  writeFileAtomic(reportPath, scripts.report);
  const arrayArgs = ['sbatch', '--parsable', arrayPath];
  const reportArgs = (id: string): string[] => ['sbatch', '--parsable', `--dependency=afterany:${id}`, reportPath];
  const result: SubmitResult = {
    dryRun: !!opts.dryRun,
    arrayScript: { path: arrayPath, text: scripts.array },
    reportScript: { path: reportPath, text: scripts.report },
    sbatch: { array: arrayArgs, report: reportArgs('<arrayJobId>') },
  };
  if (opts.dryRun) return result;

  const t0 = Date.now();
  let arrayJobId: string;
  try {
    arrayJobId = await sbatch([arrayPath], target);
  } catch (err) {
    if (!(err instanceof SlurmError) || err.kind === 'missing') throw err;
    throw new SlurmError(`Slurm refused the job array (nothing was submitted): ${explainRejection(err.message, indices)}`, err.kind, err.stderr);
  }
  let reportJobId: string;
  try {
    reportJobId = await sbatch(reportArgs(arrayJobId).slice(2), target);
  } catch (err) {
    const said = err instanceof Error ? err.message : String(err);
    try {
      await slurmCommand('scancel', [arrayJobId], target);
    } catch (cancelErr) {
      throw new SlurmError(
        `Slurm refused the aggregation job: ${said}. The job array ${arrayJobId} had been accepted, and cancelling it failed ` +
          `(${(cancelErr as Error).message}): cancel it yourself with \`scancel ${arrayJobId}\``,
        'rejected',
        said,
      );
    }
    throw new SlurmError(
      `Slurm refused the aggregation job: ${said}. The job array ${arrayJobId} had been accepted and was cancelled (scancel ${arrayJobId}): nothing is left submitted`,
      'rejected',
      said,
    );
  }
  result.submitMs = Date.now() - t0;
  result.sbatch.report = reportArgs(arrayJobId);
  result.submission = {
    kind: opts.kind ?? 'submit',
    arrayJobId,
    reportJobId,
    indices: [...indices].sort((a, b) => a - b),
    array: scripts.spec,
    submittedAt: now.toISOString(),
    studyFile: target.studyFile,
    arrayScript: arrayPath,
    reportScript: reportPath,
    logDir: paths.logs,
    table: paths.table,
    command,
  };
  try {
    await recordSubmission(target.outDir, result.submission);
  } catch (err) {
    throw new Error(
      `submitted (array ${arrayJobId}, aggregation ${reportJobId}) but could not record it in ${paths.submissions}: ${(err as Error).message}`,
    );
  }
  return result;
}

/** Human-readable lines for a submission or a dry run (the scripts in full for a dry run). */
export function describeSubmit(result: SubmitResult): string {
  if (result.dryRun) {
    return [
      `dry run: nothing submitted. ${result.arrayScript.path}:`,
      result.arrayScript.text,
      `${result.reportScript.path}:`,
      result.reportScript.text,
      `would run: ${result.sbatch.array.join(' ')}`,
      `then:      ${result.sbatch.report.join(' ')}`,
    ].join('\n');
  }
  const s = result.submission!;
  return [
    `submitted job array ${s.arrayJobId} (${s.indices.length} job${s.indices.length === 1 ? '' : 's'}: --array=${s.array})`,
    `and the aggregation job ${s.reportJobId} (after every task): the table goes to ${s.table}`,
    `logs: ${path.join(s.logDir, `${s.arrayJobId}_<index>.out`)}`,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// status
