/**
 * Benchmark of the local study executor (not a test): on one machine, in one run, the jobs of a study file
 *   1. one after another (each `ntk-lens study job FILE --index I --out DIR` in turn, no executor), then
 *   2. with the local executor (src/engine/study/local-executor.ts) on all cores (or --workers N),
 * each into its own fresh results folder (so neither reuses the other's results), and prints both wall times, the
 * speed-up, and the executor's own overhead: its wall time minus the busiest worker slot's busy time, the gaps
 * between one job's end and the next start in the same slot, and the time before the first start and after the last
 * end. It also prints how much slower a job runs beside others (mean job time in parallel ÷ one after another): the
 * cost of sharing cores, memory bandwidth and caches, which the executor cannot remove.
 *
 * Usage: npx tsx bench/study-local.ts FILE.ntk-study.yaml [--workers N] [--jobs 0,3,5 | --limit K]
 *          [--cli PATH] [--memory-mb N] [--skip-sequential] [--keep] [--json OUT.json]
 *   --cli       the CLI entry (default: src/engine/run/cli.ts from this checkout, run with tsx's hook; or dist/cli.js)
 *   --keep      keep the two results folders and the logs (default: removed at the end)
 * Contract used: `ntk-lens study jobs FILE --json` → [{ index, label, task, mode, seed, model, key?, estimate:
 * { memoryMB, seconds } }] (also accepted: { jobs: [...] }); `ntk-lens study job FILE --index I --out DIR` → exit 0.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeLocalEvent, runLocal, studyJobCommand, type JobRun, type LocalJob } from '../src/engine/study/local-executor';

interface Args {
  file: string;
  workers?: number;
  only?: number[];
  limit?: number;
  cli?: string;
  memoryMB?: number;
  sequential: boolean;
  keep: boolean;
  json?: string;
}

const USAGE = 'usage: npx tsx bench/study-local.ts FILE.ntk-study.yaml [--workers N] [--jobs 0,3,5 | --limit K] [--cli PATH] [--memory-mb N] [--skip-sequential] [--keep] [--json OUT.json]';

function parseArgs(argv: string[]): Args {
  let file: string | undefined;
  const a: Omit<Args, 'file'> = { sequential: true, keep: false };
  const num = (v: string | undefined, name: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} needs a whole number, not ${v}\n${USAGE}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i];
    if (v === '--workers') a.workers = num(argv[++i], v);
    else if (v === '--jobs') a.only = argv[++i].split(',').map(s => num(s, v));
    else if (v === '--limit') a.limit = num(argv[++i], v);
    else if (v === '--cli') a.cli = path.resolve(argv[++i]);
    else if (v === '--memory-mb') a.memoryMB = num(argv[++i], v);
    else if (v === '--skip-sequential') a.sequential = false;
    else if (v === '--keep') a.keep = true;
    else if (v === '--json') a.json = argv[++i];
    else if (v.startsWith('--') || file) throw new Error(`unknown argument ${v}\n${USAGE}`);
    else file = path.resolve(v);
  }
  if (!file) throw new Error(USAGE);
  return { file, ...a };
}

/** `study jobs FILE --json` through the same CLI the jobs run with. */
function listJobs(args: Args): LocalJob[] {
  // the job command's node + entry, with `study job …` replaced by `study jobs FILE --json`
  const cmd = studyJobCommand(args.file, os.tmpdir(), { cli: args.cli })(0);
  const entryArgs = cmd.args.slice(0, cmd.args.indexOf('study'));
  const r = spawnSync(cmd.file, [...entryArgs, 'study', 'jobs', args.file, '--json'], { encoding: 'utf8', env: { ...process.env, ...cmd.env }, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`study jobs failed (${r.status ?? r.signal}):\n${r.stderr}`);
  const parsed = JSON.parse(r.stdout) as LocalJob[] | { jobs: LocalJob[] };
  const jobs = Array.isArray(parsed) ? parsed : parsed.jobs;
  let chosen = args.only ? jobs.filter(j => args.only!.includes(j.index)) : jobs;
  if (args.limit !== undefined) chosen = chosen.slice(0, args.limit);
  if (chosen.length === 0) throw new Error(`no jobs to run (the study lists ${jobs.length})`);
  return chosen;
}

/** Runs the jobs one after another, no executor: the baseline. */
async function runSequential(jobs: LocalJob[], args: Args, outDir: string, logDir: string): Promise<{ wall: number; perJob: Map<number, number>; failed: number[] }> {
  const command = studyJobCommand(args.file, outDir, { cli: args.cli });
  fs.mkdirSync(logDir, { recursive: true });
  const perJob = new Map<number, number>();
  const failed: number[] = [];
  const t0 = performance.now();
  for (const job of jobs) {
    const cmd = command(job.index);
    const fd = fs.openSync(path.join(logDir, `job-${job.index}.log`), 'w');
    const s = performance.now();
    const code = await new Promise<number | null>(resolve => {
      const child = spawn(cmd.file, cmd.args, { env: { ...process.env, ...cmd.env }, stdio: ['ignore', fd, fd] });
      child.on('error', () => resolve(null));
      child.on('exit', c => resolve(c));
    });
    fs.closeSync(fd);
    const seconds = (performance.now() - s) / 1000;
    perJob.set(job.index, seconds);
    if (code !== 0) failed.push(job.index);
    process.stderr.write(`  sequential: job ${job.index} (${job.label}) ${code === 0 ? 'done' : `FAILED (${code})`} in ${seconds.toFixed(1)} s\n`);
  }
  return { wall: (performance.now() - t0) / 1000, perJob, failed };
}

interface Overhead {
  /** Wall time minus the busiest slot's busy time. */
  wallMinusBusiest: number;
  /** Between one job's end and the next job's start in the same slot. */
  gapMean: number;
  gapMax: number;
  gaps: number;
  /** From runLocal's start to the first job's start, and from the last job's end to runLocal's end. */
  beforeFirst: number;
  afterLast: number;
}

function overheadOf(runs: JobRun[], wall: number): Overhead {
  const bySlot = new Map<number, JobRun[]>();
  for (const r of runs) bySlot.set(r.slot, [...(bySlot.get(r.slot) ?? []), r]);
  let busiest = 0;
  const gaps: number[] = [];
  for (const rs of bySlot.values()) {
    rs.sort((a, b) => a.start - b.start);
    busiest = Math.max(busiest, rs.reduce((s, r) => s + (r.end - r.start), 0));
    for (let i = 1; i < rs.length; i++) gaps.push(rs[i].start - rs[i - 1].end);
  }
  return {
    wallMinusBusiest: wall - busiest,
    gapMean: gaps.length ? gaps.reduce((s, g) => s + g, 0) / gaps.length : 0,
    gapMax: gaps.length ? Math.max(...gaps) : 0,
    gaps: gaps.length,
    beforeFirst: runs.length ? Math.min(...runs.map(r => r.start)) : 0,
    afterLast: runs.length ? wall - Math.max(...runs.map(r => r.end)) : 0,
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const jobs = listJobs(args);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-bench-study-'));
  const cores = os.availableParallelism();
  process.stderr.write(`${jobs.length} jobs of ${args.file}; ${cores} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; work folder ${work}\n`);

  let seq: Awaited<ReturnType<typeof runSequential>> | undefined;
  if (args.sequential) {
    process.stderr.write('one after another:\n');
    seq = await runSequential(jobs, args, path.join(work, 'sequential'), path.join(work, 'sequential-logs'));
  }

  process.stderr.write(`local executor (${args.workers ?? 'all cores'}):\n`);
  const t0 = performance.now();
  const par = await runLocal({
    jobs,
    command: studyJobCommand(args.file, path.join(work, 'parallel'), { cli: args.cli }),
    workers: args.workers,
    memoryBudgetMB: args.memoryMB,
    logDir: path.join(work, 'parallel-logs'),
    onEvent: e => {
      if (e.type === 'job' && e.state === 'queued') return;
      process.stderr.write(`  ${describeLocalEvent(e)}\n`);
    },
  });
  const parWall = (performance.now() - t0) / 1000;
  const ov = overheadOf(par.runs, par.seconds);
  const parJob = new Map(par.runs.filter(r => r.outcome === 'done').map(r => [r.index, r.end - r.start]));

  const lines: string[] = [];
  const f = (s: number) => `${s.toFixed(2)} s`;
  if (seq) lines.push(`one after another: ${f(seq.wall)} for ${jobs.length} jobs${seq.failed.length ? ` (failed: ${seq.failed.join(', ')})` : ''}`);
  lines.push(`local executor:   ${f(parWall)} with ${par.workers} workers (done ${par.done.length}, failed ${par.failed.length}${par.failed.length ? `: ${par.failed.map(x => `${x.index} → ${x.logFile}`).join(', ')}` : ''})`);
  let speedup: number | undefined;
  let slowdown: number | undefined;
  if (seq) {
    speedup = seq.wall / parWall;
    const ideal = Math.min(par.workers, jobs.length);
    lines.push(`speed-up:         ×${speedup.toFixed(2)} (ideal ×${ideal} with ${par.workers} workers; efficiency ${((100 * speedup) / ideal).toFixed(0)} %)`);
    const common = [...parJob.keys()].filter(i => seq!.perJob.has(i) && !seq!.failed.includes(i));
    if (common.length) {
      const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
      slowdown = mean(common.map(i => parJob.get(i)!)) / mean(common.map(i => seq!.perJob.get(i)!));
      lines.push(`per-job time:     ×${slowdown.toFixed(2)} beside other jobs (mean over ${common.length} jobs, parallel ÷ alone): sharing cores and memory`);
    }
  }
  lines.push(
    `executor overhead: wall − busiest worker's busy time = ${f(ov.wallMinusBusiest)}; between jobs in a worker ` +
      `${ov.gaps ? `${(1000 * ov.gapMean).toFixed(1)} ms mean, ${(1000 * ov.gapMax).toFixed(1)} ms max (${ov.gaps} gaps)` : 'none (one job per worker)'}; ` +
      `before the first start ${(1000 * ov.beforeFirst).toFixed(1)} ms, after the last end ${(1000 * ov.afterLast).toFixed(1)} ms`,
  );
  process.stdout.write(lines.join('\n') + '\n');
  if (args.json) {
    fs.writeFileSync(args.json, JSON.stringify({
      date: new Date().toISOString(), file: args.file, jobs: jobs.map(j => j.index), cores, totalMemGiB: os.totalmem() / 2 ** 30,
      sequential: seq && { wall: seq.wall, perJob: Object.fromEntries(seq.perJob), failed: seq.failed },
      parallel: { wall: parWall, workers: par.workers, done: par.done, failed: par.failed, runs: par.runs },
      speedup, slowdown, overhead: ov,
    }, null, 2));
  }
  if (args.keep) process.stderr.write(`kept: ${work}\n`);
  else fs.rmSync(work, { recursive: true, force: true });
}

main().catch(e => {
  process.stderr.write(`bench/study-local.ts: ${(e as Error).message}\n`);
  process.exit(1);
});
