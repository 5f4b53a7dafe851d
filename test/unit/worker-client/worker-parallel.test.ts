/**
 * "Run NTK comparison" with ntkLens.workers > 1, below VS Code: the WorkerClient forks the real worker entry with the
 * REAL engine (no NTK_LENS_ENGINE), which runs a two-seed run's seeds as two parallel job processes (children of the
 * worker, through the local executor), then summarises from the store. Cancel kills the jobs.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CancelledError, WorkerClient } from '../../../src/worker-client';
import type { WorkerRunEvent } from '../../../src/protocol';
import { makeTinyExperiment, type TinyExperiment } from '../../support/tiny-experiment';

const WORKER = path.resolve(__dirname, '../../../src/engine/run/worker-main.ts');
const TSX = ['--require', require.resolve('tsx/cjs')];

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('worker process: a run with workers 2 runs its seeds as parallel jobs (real engine)', function () {
  this.timeout(300000);
  let exp: TinyExperiment;
  const clients: WorkerClient[] = [];
  const env = { ...process.env };
  delete env.NTK_LENS_ENGINE;
  const client = () => {
    const lines: string[] = [];
    const c = new WorkerClient({ workerPath: WORKER, execArgv: TSX, env, log: l => lines.push(l) });
    clients.push(c);
    return c;
  };
  before(async () => {
    exp = await makeTinyExperiment({ seeds: [13, 21], steps: 3 });
  });
  after(async () => {
    await Promise.all(clients.map(c => c.dispose(2000)));
    exp?.cleanup();
  });

  it('two seeds: one job per seed (run-logs), their lines and counts as events, then a complete report from the store', async () => {
    const resultsDir = path.join(exp.dir, 'par');
    const events: WorkerRunEvent[] = [];
    const report = await client().run(exp.specFile, { resultsDir, backend: 'cpu', workers: 2 }, e => events.push(e));
    const logs = events.flatMap(e => (e.type === 'log' ? [e.message] : []));
    assert.ok(logs.some(l => /^parallel jobs: 2 jobs \(0 already done\), 2 workers/.test(l)), logs.join('\n'));
    assert.ok(logs.some(l => /job 1 \(it-was seed 21\) done in/.test(l)), logs.join('\n'));
    const jobs = events.filter(e => e.type === 'jobs');
    assert.ok(jobs.length >= 4, `jobs events: ${JSON.stringify(jobs)}`);
    assert.deepEqual(jobs.at(-1) && { done: jobs.at(-1)!.done, total: jobs.at(-1)!.total }, { done: 2, total: 2 });
    assert.deepEqual(fs.readdirSync(path.join(resultsDir, 'run-logs')).sort(), ['job-0.log', 'job-1.log']);
    assert.match(fs.readFileSync(path.join(resultsDir, 'run-logs', 'job-0.log'), 'utf8'), /seed 13 done/);
    assert.match(fs.readFileSync(path.join(resultsDir, 'run-logs', 'job-1.log'), 'utf8'), /seed 21 done/);
    // the worker's own run computed nothing: it found both seeds in the store
    const seedDone = events.filter(e => e.type === 'seed-done');
    assert.deepEqual(seedDone.map(e => e.type === 'seed-done' && [e.seed, e.reused]), [[13, true], [21, true]]);
    assert.ok(!events.some(e => e.type === 'step' && e.phase === 'kernel'), 'no kernel computed by the worker itself');
    const t = report.templates[0];
    assert.deepEqual(t.seeds.map(s => s.seed), [13, 21]);
    assert.equal(t.summary.kernels.sgd?.n, 2);
    assert.ok(t.verdict, 'the report has its verdict');
    assert.ok(events.some(e => e.type === 'template-done'));
  });

  it('cancel while the jobs run: the executor kills them, the run answers "cancelled", the worker stays', async () => {
    const resultsDir = path.join(exp.dir, 'cancelled');
    const c = client();
    await c.start();
    const workerPid = c.pid;
    const controller = new AbortController();
    const pids: number[] = [];
    const events: WorkerRunEvent[] = [];
    const run = c.run(exp.specFile, { resultsDir, backend: 'cpu', workers: 2 }, e => {
      events.push(e);
      const pid = e.type === 'log' ? /started, pid (\d+)/.exec(e.message)?.[1] : undefined;
      if (pid) pids.push(Number(pid));
      if (pids.length === 2 && !controller.signal.aborted) controller.abort();
    }, controller.signal);
    const t0 = Date.now();
    await assert.rejects(run, CancelledError);
    assert.ok(Date.now() - t0 < 5000, `cancelled in ${Date.now() - t0} ms`);
    assert.equal(pids.length, 2);
    for (const pid of pids) assert.equal(alive(pid), false, `job process ${pid} is gone`);
    assert.ok(events.some(e => e.type === 'log' && /^parallel jobs: cancelling: SIGINT to 2 running jobs/.test(e.message)));
    assert.ok(!events.some(e => e.type === 'template-done'), 'no summary after a cancel');
    assert.equal(c.pid, workerPid, 'the worker answered in time: not killed');
  });
});
