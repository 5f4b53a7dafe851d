/**
 * The local executor of a study (src/engine/study/local-executor.ts) with stand-in jobs: a tiny node script that
 * appends `start|end <index> <pid> <ms>` lines to a shared file, sleeps, prints, fails, ignores SIGINT or starts a
 * grandchild, as its environment says. Nothing here loads the engine.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  describeLocalEvent,
  planWorkers,
  runLocal,
  studyJobCommand,
  type JobCommand,
  type LocalEvent,
  type LocalJob,
  type LocalOptions,
} from '../../../../src/engine/study/local-executor';

const STANDIN = `
const fs = require('fs'); const path = require('path'); const { spawn } = require('child_process');
const index = Number(process.argv[2]);
const env = process.env;
const dir = env.STANDIN_DIR;
const line = (what, extra) => fs.appendFileSync(path.join(dir, 'events'), what + ' ' + index + ' ' + process.pid + ' ' + Date.now() + (extra ? ' ' + extra : '') + '\\n');
if (env.STANDIN_ON_SIGINT === 'ignore') process.on('SIGINT', () => { line('sigint-ignored'); });
else process.on('SIGINT', () => { line('interrupted'); process.stderr.write('interrupted: keeping finished seeds\\n'); process.exit(130); });
line('start'); // after the SIGINT handler: a job seen started handles SIGINT
process.stdout.write('stdout of job ' + index + '\\n');
process.stderr.write('stderr of job ' + index + '\\n');
if (env.STANDIN_GRANDCHILD) {
  const g = spawn(process.execPath, ['-e', 'process.on("SIGINT", () => {}); setTimeout(() => {}, 600000)'], { stdio: 'ignore' });
  line('grandchild', String(g.pid));
}
if (env.STANDIN_EXIT137_ONCE) {
  const marker = path.join(dir, 'exit137-' + index);
  if (!fs.existsSync(marker)) { fs.writeFileSync(marker, ''); line('exit137'); process.exit(137); }
}
setTimeout(() => {
  if (env.STANDIN_FAIL) { process.stderr.write('job ' + index + ': something went wrong\\n'); line('fail'); process.exit(Number(env.STANDIN_FAIL)); }
  line('end');
  fs.writeFileSync(path.join(dir, 'done-' + index), '');
}, Number(env.STANDIN_SLEEP_MS ?? 300));
`;

interface Line { what: string; index: number; pid: number; t: number; extra?: string }

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/** True while `pid` is a live process (a zombie counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true;
  }
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The largest number of [start, end] intervals that overlap at one time. */
function maxOverlap(intervals: { start: number; end: number }[]): number {
  const points = intervals.flatMap(i => [{ t: i.start, d: 1 }, { t: i.end, d: -1 }]).sort((a, b) => a.t - b.t || a.d - b.d);
  let cur = 0;
  let max = 0;
  for (const p of points) max = Math.max(max, (cur += p.d));
  return max;
}

describe('study local executor (runLocal)', function () {
  this.timeout(120_000);
  let tmp: string;
  let script: string;
  let dir: string;
  let logDir: string;
  let events: LocalEvent[];
  let spawnedPids: number[];

  const jobs = (n: number, memoryMB = 0): LocalJob[] =>
    Array.from({ length: n }, (_, i) => ({ index: i, label: `stand-in ${i}`, estimate: { memoryMB, seconds: 0.3 } }));
  const command = (perIndex: (index: number) => NodeJS.ProcessEnv = () => ({})) => (index: number): JobCommand => ({
    file: process.execPath,
    args: [script, String(index)],
    env: { STANDIN_DIR: dir, ...perIndex(index) },
  });
  const lines = (): Line[] => {
    const file = path.join(dir, 'events');
    if (!fs.existsSync(file)) return [];
    return fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map(l => {
      const [what, index, pid, t, extra] = l.split(' ');
      return { what, index: Number(index), pid: Number(pid), t: Number(t), extra };
    });
  };
  const intervals = () => {
    const ls = lines();
    return ls.filter(l => l.what === 'start').map(s => ({ index: s.index, start: s.t, end: ls.find(e => e.pid === s.pid && e.what === 'end')?.t ?? Infinity }));
  };
  const run = (o: Partial<LocalOptions> & Pick<LocalOptions, 'jobs'>) =>
    runLocal({
      command: command(),
      logDir,
      memoryBudgetMB: 1e9,
      ...o,
      onEvent: e => {
        events.push(e);
        if (e.type === 'job' && e.state === 'started' && e.pid) spawnedPids.push(e.pid);
        o.onEvent?.(e);
      },
    });
  const jobEvents = (index: number) => events.filter((e): e is Extract<LocalEvent, { type: 'job' }> => e.type === 'job' && e.index === index);

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-local-exec-'));
    script = path.join(tmp, 'standin.js');
    fs.writeFileSync(script, STANDIN);
  });
  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(tmp, 'case-'));
    logDir = path.join(dir, 'logs');
    events = [];
    spawnedPids = [];
  });
  afterEach(() => {
    // never leave a stand-in behind, whatever failed
    for (const pid of spawnedPids) {
      try { process.kill(-pid, 'SIGKILL'); } catch { /* gone */ }
    }
    for (const l of lines().filter(l => l.what === 'grandchild')) {
      try { process.kill(Number(l.extra), 'SIGKILL'); } catch { /* gone */ }
    }
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  for (const n of [2, 3]) {
    it(`runs every job with ${n} workers, never more than ${n} at a time, in index order, and says so in events`, async () => {
      // 1 s per job, so that a slow process start on a loaded machine cannot hide the overlap
      const result = await run({ jobs: jobs(7), workers: n, command: command(() => ({ STANDIN_SLEEP_MS: '1000' })) });
      assert.deepEqual(result.done, [0, 1, 2, 3, 4, 5, 6]);
      assert.deepEqual(result.failed, []);
      assert.equal(result.workers, n);
      const iv = intervals();
      assert.equal(iv.length, 7, 'each job ran once');
      assert.ok(iv.every(i => Number.isFinite(i.end)), 'each job ended');
      // from the stand-ins' own clocks: n at once at the peak, never more
      assert.equal(maxOverlap(iv), n, JSON.stringify(iv));
      // the queue is in index order: job i starts no earlier than job i-1 started
      const started = events.filter(e => e.type === 'job' && e.state === 'started').map(e => (e as { index: number }).index);
      assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6]);
      // every job: queued, started, done, with the attempt's seconds; the counts end at 7 done
      for (let i = 0; i < 7; i++) {
        assert.deepEqual(jobEvents(i).map(e => e.state), ['queued', 'started', 'done']);
        const doneEvent = jobEvents(i)[2];
        assert.ok(doneEvent.elapsed >= 0.95 && doneEvent.elapsed < 30, `elapsed ${doneEvent.elapsed}`);
        assert.equal(doneEvent.exitCode, 0);
      }
      const last = events.at(-1) as Extract<LocalEvent, { type: 'job' }>;
      assert.deepEqual(last.counts, { total: 7, queued: 0, running: 0, done: 7, failed: 0, skipped: 0, cancelled: 0 });
      // the executor's own record agrees: n slots, one run per job
      assert.equal(result.runs.length, 7);
      assert.deepEqual([...new Set(result.runs.map(r => r.slot))].sort(), Array.from({ length: n }, (_, i) => i));
      assert.ok(events.every(e => describeLocalEvent(e).length > 0));
    });
  }

  it("writes each job's stdout and stderr to <logDir>/job-<index>.log", async () => {
    const result = await run({ jobs: jobs(2), workers: 2 });
    assert.equal(result.logDir, logDir);
    for (const i of [0, 1]) {
      const log = fs.readFileSync(path.join(logDir, `job-${i}.log`), 'utf8');
      assert.match(log, new RegExp(`stdout of job ${i}\\n`));
      assert.match(log, new RegExp(`stderr of job ${i}\\n`));
      assert.match(log, new RegExp(`# ntk-lens study: job ${i} \\(stand-in ${i}\\) attempt 1`));
      assert.match(log, /attempt 1: done after/);
    }
  });

  it('skips the jobs already done without starting them', async () => {
    const result = await run({ jobs: jobs(5), workers: 2, isDone: i => i === 0 || i === 3 });
    assert.deepEqual(result.skipped, [0, 3]);
    assert.deepEqual(result.done, [1, 2, 4]);
    assert.deepEqual([...new Set(lines().map(l => l.index))].sort(), [1, 2, 4], 'never started 0 and 3');
    assert.deepEqual(jobEvents(0).map(e => e.state), ['skipped']);
    // skipped at once: before any job started
    const firstStart = events.findIndex(e => e.type === 'job' && e.state === 'started');
    const lastSkip = Math.max(...events.map((e, i) => (e.type === 'job' && e.state === 'skipped' ? i : -1)));
    assert.ok(lastSkip < firstStart);
    const plan = events[0] as Extract<LocalEvent, { type: 'plan' }>;
    assert.equal(plan.type, 'plan');
    assert.equal(plan.counts.queued, 3);
  });

  it('skips a job that became done while it waited in the queue', async () => {
    // job 2 is reported done once job 0 has finished (another process finished it meanwhile)
    const result = await run({ jobs: jobs(3), workers: 1, isDone: i => i === 2 && fs.existsSync(path.join(dir, 'done-0')) });
    assert.deepEqual(result.done, [0, 1]);
    assert.deepEqual(result.skipped, [2]);
    assert.deepEqual(jobEvents(2).map(e => e.state), ['queued', 'skipped']);
  });

  it('reports a failing job with its exit code and log file, does not retry it, and finishes the others', async () => {
    const result = await run({ jobs: jobs(5), workers: 2, command: command(i => (i === 1 ? { STANDIN_FAIL: '3' } : {})) });
    assert.deepEqual(result.done, [0, 2, 3, 4]);
    assert.equal(result.failed.length, 1);
    const f = result.failed[0];
    assert.equal(f.index, 1);
    assert.equal(f.exitCode, 3);
    assert.equal(f.signal, null);
    assert.equal(f.logFile, path.join(logDir, 'job-1.log'));
    assert.match(f.reason, /exit code 3/);
    assert.match(fs.readFileSync(f.logFile, 'utf8'), /job 1: something went wrong/);
    assert.equal(lines().filter(l => l.what === 'start' && l.index === 1).length, 1, 'not retried');
    assert.deepEqual(jobEvents(1).map(e => e.state), ['queued', 'started', 'failed']);
    assert.match(describeLocalEvent(jobEvents(1)[2]), /failed after .* \(exit code 3\); log: .*job-1\.log/);
  });

  it('reports a job whose command cannot start as failed, and runs the others', async () => {
    const result = await run({
      jobs: jobs(2), workers: 2,
      command: i => (i === 0 ? { file: path.join(tmp, 'no-such-program'), args: [] } : command()(i)),
    });
    assert.deepEqual(result.done, [1]);
    assert.equal(result.failed[0].index, 0);
    assert.equal(result.failed[0].exitCode, null);
    assert.match(result.failed[0].reason, /cannot start/);
    assert.match(fs.readFileSync(result.failed[0].logFile, 'utf8'), /cannot start/);
  });

  it('re-runs once a job whose process was SIGKILLed from outside (or exited 137), then it is done', async () => {
    let killed = 0;
    const result = await run({
      jobs: jobs(4), workers: 2,
      command: command(i => ({ STANDIN_SLEEP_MS: i === 1 ? '3000' : '300', ...(i === 2 ? { STANDIN_EXIT137_ONCE: '1' } : {}) })),
      onEvent: e => {
        if (e.type === 'job' && e.state === 'started' && e.index === 1 && e.attempt === 1) {
          // the OOM killer: SIGKILL to the job's process once it is working
          void waitFor(() => lines().some(l => l.what === 'start' && l.pid === e.pid), 20_000, 'job 1 to start').then(() => {
            process.kill(e.pid!, 'SIGKILL');
            killed++;
          });
        }
      },
    });
    assert.equal(killed, 1);
    assert.deepEqual(result.done, [0, 1, 2, 3]);
    assert.deepEqual(result.failed, []);
    assert.deepEqual(jobEvents(1).map(e => [e.state, e.attempt]), [['queued', 0], ['started', 1], ['retried', 1], ['started', 2], ['done', 2]]);
    const retried = jobEvents(1)[2];
    assert.equal(retried.signal, 'SIGKILL');
    assert.deepEqual(jobEvents(2).map(e => e.state), ['queued', 'started', 'retried', 'started', 'done']);
    assert.equal(jobEvents(2)[2].exitCode, 137);
    assert.equal(lines().filter(l => l.what === 'start' && l.index === 1).length, 2);
    assert.deepEqual(result.runs.filter(r => r.index === 1).map(r => r.outcome), ['retried', 'done']);
    // the log keeps both attempts
    const log = fs.readFileSync(path.join(logDir, 'job-1.log'), 'utf8');
    assert.match(log, /attempt 1: killed by SIGKILL/);
    assert.match(log, /attempt 2: done/);
  });

  it('fails a job killed again after its retries, with the signal', async () => {
    const result = await run({
      jobs: jobs(1), workers: 1, retries: 1,
      command: command(() => ({ STANDIN_SLEEP_MS: '5000' })),
      onEvent: e => {
        if (e.type === 'job' && e.state === 'started') {
          void waitFor(() => lines().some(l => l.what === 'start' && l.pid === e.pid), 20_000, 'start').then(() => process.kill(e.pid!, 'SIGKILL'));
        }
      },
    });
    assert.deepEqual(result.done, []);
    assert.equal(result.failed.length, 1);
    assert.equal(result.failed[0].signal, 'SIGKILL');
    assert.equal(result.failed[0].exitCode, null);
    assert.match(result.failed[0].reason, /killed by SIGKILL \(attempt 2 of 2\)/);
    assert.equal(lines().filter(l => l.what === 'start').length, 2);
  });

  it('cancel: SIGINT to the running jobs, SIGKILL after the grace period, nothing new starts, no process left', async () => {
    const controller = new AbortController();
    const t0 = Date.now();
    const pending = run({
      jobs: jobs(4), workers: 2, cancelGraceMs: 2000, signal: controller.signal,
      // job 0 stops on SIGINT (as ntk-lens does, keeping its seeds); job 1 ignores it and has a child of its own
      command: command(i => ({ STANDIN_SLEEP_MS: '60000', ...(i === 1 ? { STANDIN_ON_SIGINT: 'ignore', STANDIN_GRANDCHILD: '1' } : {}) })),
    });
    await waitFor(() => lines().filter(l => l.what === 'start').length === 2 && lines().some(l => l.what === 'grandchild'), 30_000, 'two jobs to start');
    const pids = lines().filter(l => l.what === 'start').map(l => l.pid);
    const grandchild = Number(lines().find(l => l.what === 'grandchild')!.extra);
    assert.ok(alive(grandchild));
    const abortAt = Date.now();
    controller.abort();
    const result = await pending;
    const stopSeconds = (Date.now() - abortAt) / 1000;
    assert.ok(stopSeconds < 8, `stopped ${stopSeconds} s after the cancel (grace 2 s)`);
    assert.ok(stopSeconds >= 1.9, `job 1 ignores SIGINT: it ran until the grace period ended (${stopSeconds} s)`);
    assert.ok(Date.now() - t0 < 60_000, 'did not wait for the 60 s jobs');
    assert.deepEqual(result.done, []);
    assert.deepEqual(result.failed, []);
    assert.deepEqual(result.cancelled, [0, 1, 2, 3]);
    assert.deepEqual([...new Set(lines().filter(l => l.what === 'start').map(l => l.index))].sort(), [0, 1], 'jobs 2 and 3 never started');
    assert.ok(lines().some(l => l.what === 'interrupted' && l.index === 0), 'job 0 got SIGINT and stopped itself');
    assert.ok(lines().some(l => l.what === 'sigint-ignored' && l.index === 1), 'job 1 got SIGINT');
    assert.deepEqual(events.filter(e => e.type === 'kill').map(e => (e as { index: number }).index), [1], 'only job 1 needed SIGKILL');
    assert.equal(jobEvents(0).at(-1)!.exitCode, 130);
    assert.equal(jobEvents(1).at(-1)!.signal, 'SIGKILL');
    assert.deepEqual(jobEvents(3).map(e => e.state), ['queued', 'cancelled']);
    assert.match(fs.readFileSync(path.join(logDir, 'job-0.log'), 'utf8'), /interrupted: keeping finished seeds/);
    // no process left: the jobs and job 1's own child
    await waitFor(() => [...pids, grandchild].every(p => !alive(p)), 2000, `processes ${[...pids, grandchild].filter(alive)} to be gone`);
  });

  it('cancel before start runs nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await run({ jobs: jobs(3), workers: 2, signal: controller.signal });
    assert.deepEqual(result.cancelled, [0, 1, 2]);
    assert.deepEqual(lines(), []);
  });

  it('lowers N so that N × the largest job estimate fits the memory budget, and says why', async () => {
    const js = jobs(4, 300);
    js[2].estimate.memoryMB = 600;
    const result = await run({ jobs: js, workers: 4, memoryBudgetMB: 1000 });
    assert.equal(result.workers, 1);
    assert.deepEqual(result.done, [0, 1, 2, 3]);
    assert.equal(maxOverlap(intervals()), 1, 'one at a time');
    const plan = events[0] as Extract<LocalEvent, { type: 'plan' }>;
    assert.equal(plan.type, 'plan');
    assert.deepEqual(plan.lowered && { from: plan.lowered.from, to: plan.lowered.to }, { from: 4, to: 1 });
    assert.equal(plan.largestJobMB, 600);
    assert.equal(plan.largestJobIndex, 2);
    assert.equal(plan.memoryBudgetMB, 1000);
    assert.match(plan.lowered!.reason, /from 4 to 1: the largest job \(2, stand-in 2\) is estimated at 600 MB, and 4 × 600 MB = 2,400 MB exceeds the memory budget 1,000 MB \(the memory budget given\); 1 × 600 MB = 600 MB fits/);
    assert.match(describeLocalEvent(plan), /1 worker; workers lowered from 4 to 1/);
  });

  describe('planWorkers', () => {
    const est = (...mb: number[]): LocalJob[] => mb.map((m, i) => ({ index: i, label: `j${i}`, estimate: { memoryMB: m, seconds: 1 } }));
    it('defaults to the cores, and to 80 % of the machine memory as the budget', () => {
      const p = planWorkers(est(...Array(40).fill(100)), { cores: 16, machineMB: { mb: 64 * 1024, source: '64 GB total memory' } });
      assert.equal(p.workers, 16);
      assert.equal(p.lowered, undefined);
      assert.equal(p.memoryBudgetMB, 0.8 * 64 * 1024);
      assert.equal(p.budgetSource, '80 % of 64 GB total memory');
    });
    it('lowers the cores by the budget: 16 cores, 20 GB, a 3000 MB job → 5 workers', () => {
      const p = planWorkers(est(...Array(40).fill(1000), 3000), { cores: 16, machineMB: { mb: 20 * 1024, source: '20 GB total memory' } });
      assert.equal(p.workers, 5);
      assert.deepEqual({ from: p.lowered!.from, to: p.lowered!.to }, { from: 16, to: 5 });
      assert.match(p.lowered!.reason, /16 × 3,000 MB = 48,000 MB exceeds the memory budget 16,384 MB \(80 % of 20 GB total memory\); 5 × 3,000 MB = 15,000 MB fits/);
    });
    it('runs one at a time, with a warning, when one job alone exceeds the budget', () => {
      const p = planWorkers(est(100, 5000), { cores: 8, memoryBudgetMB: 4000 });
      assert.equal(p.workers, 1);
      assert.match(p.overBudget!, /job 1 is estimated at 5,000 MB, more than the memory budget 4,000 MB/);
    });
    it('never more workers than jobs; rejects 0 workers', () => {
      assert.equal(planWorkers(est(1, 1), { cores: 16, memoryBudgetMB: 1e6 }).workers, 2);
      assert.throws(() => planWorkers(est(1), { workers: 0 }), /workers must be/);
    });
  });

  it('studyJobCommand: node + the CLI + study job FILE --index I --out DIR', () => {
    const cmd = studyJobCommand('a/b.ntk-study.yaml', 'out')(7);
    assert.equal(cmd.file, process.execPath);
    const cli = path.resolve(__dirname, '../../../../src/engine/run/cli.ts');
    assert.deepEqual(cmd.args.slice(-8), [cli, 'study', 'job', path.resolve('a/b.ntk-study.yaml'), '--index', '7', '--out', path.resolve('out')]);
    assert.deepEqual(cmd.args.slice(0, 2), ['--require', require.resolve('tsx/cjs')]);
    assert.deepEqual(studyJobCommand('f', 'o', { cli: '/x/dist/cli.js' })(0).args.slice(0, 3), ['/x/dist/cli.js', 'study', 'job']);
  });
});
