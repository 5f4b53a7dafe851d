import * as assert from 'assert';
import { JOB_CANCEL_GRACE_MS, resolveWorkers, serveWorker, type EngineModule, type ParallelRunOptions } from '../../../../src/engine/run/worker-main';
import type { WorkerToHost } from '../../../../src/protocol';
import type { Report } from '../../../../src/engine/report/types';
import type { LocalCounts, LocalEvent, LocalResult } from '../../../../src/engine/study/local-executor';

// serveWorker in-process, with a hand-made engine: what the worker sends for each request.
function harness(engine: Partial<EngineModule>, opts: { shutdownWaitMs?: number } = {}) {
  const sent: WorkerToHost[] = [];
  let exitCode: number | undefined;
  const w = serveWorker(engine as EngineModule, m => sent.push(m), c => (exitCode = c), opts);
  const settle = () => new Promise(r => setTimeout(r, 20));
  return { w, sent, settle, exitCode: () => exitCode };
}

describe('engine/run/worker-main serveWorker', () => {
  it('streams events with the request id, then the result', async () => {
    const { w, sent, settle } = harness({
      runExperiment: async (_f, o) => { o.onEvent({ type: 'log', level: 'info', message: 'hi' }); return { task: 't' } as Report; },
    });
    w.onMessage({ type: 'run', id: 7, specFile: '/a', options: {} });
    await settle();
    assert.deepStrictEqual(sent.map(m => [m.type, 'id' in m ? m.id : -1]), [['event', 7], ['result', 7]]);
  });
  it('cancel aborts the run signal and answers "cancelled", not "error"', async () => {
    const { w, sent, settle } = harness({
      runExperiment: (_f, o) => new Promise((_, reject) => o.signal!.addEventListener('abort', () => reject(new Error('aborted')))),
    });
    w.onMessage({ type: 'run', id: 1, specFile: '/a', options: {} });
    w.onMessage({ type: 'cancel', id: 1 });
    await settle();
    assert.deepStrictEqual(sent, [{ type: 'cancelled', id: 1 }]);
  });
  it('an engine error becomes an error message with the message and stack; the worker keeps serving', async () => {
    const { w, sent, settle } = harness({
      runExperiment: async () => { throw new Error('spec.ntk.yaml:3:5: unknown task'); },
      validateSpecFile: () => ({ diagnostics: [] }),
    });
    w.onMessage({ type: 'run', id: 1, specFile: '/a', options: {} });
    w.onMessage({ type: 'validate', id: 2, specFile: '/a', text: '' });
    await settle();
    assert.ok(sent.some(m => m.type === 'diagnostics' && m.id === 2), 'validate still answered');
    const err = sent.find(m => m.type === 'error') as Extract<WorkerToHost, { type: 'error' }>;
    assert.strictEqual(err.message, 'spec.ntk.yaml:3:5: unknown task');
    assert.match(err.stack!, /unknown task/);
  });
  it('labelTokens without the engine export answers an error saying so; malformed requests are ignored', async () => {
    const { w, sent, settle } = harness({});
    w.onMessage({ type: 'labelTokens', id: 4, specFile: '/a', text: '', words: ['x'] });
    w.onMessage({ type: 'run' }); // no id: ignored
    await settle();
    assert.strictEqual(sent.length, 1);
    assert.match((sent[0] as { message: string }).message, /no labelWordTokens export/);
  });
  it('shutdown aborts running work, waits for it, then exits 0', async () => {
    const { w, sent, settle, exitCode } = harness({
      runExperiment: (_f, o) => new Promise((_, reject) => o.signal!.addEventListener('abort', () => setTimeout(() => reject(new Error('x')), 5))),
    });
    w.onMessage({ type: 'run', id: 1, specFile: '/a', options: {} });
    w.onMessage({ type: 'shutdown' });
    await settle();
    assert.deepStrictEqual(sent, [{ type: 'cancelled', id: 1 }]);
    assert.strictEqual(exitCode(), 0);
  });

  describe('workers > 1: the pairs as parallel jobs first (runPairsInParallel), then runExperiment summarises', () => {
    const counts = (o: Partial<LocalCounts>): LocalCounts => ({ total: 2, queued: 0, running: 0, done: 0, failed: 0, skipped: 0, cancelled: 0, ...o });
    const jobEvent = (state: 'started' | 'done', index: number, c: Partial<LocalCounts>): LocalEvent =>
      ({ type: 'job', state, index, label: `it-was seed ${index}`, attempt: 1, elapsed: 0, at: 0, logFile: `/l/job-${index}.log`, counts: counts(c) });
    const result: LocalResult = { done: [0, 1], failed: [], skipped: [], cancelled: [], seconds: 1, workers: 2, logDir: '/l', runs: [] };

    it('calls the parallel step before runExperiment, relays its lines as log events and its counts as jobs events', async () => {
      const calls: string[] = [];
      let parallelOpts: ParallelRunOptions | undefined;
      let runOpts: Record<string, unknown> | undefined;
      const { w, sent, settle } = harness({
        runPairsInParallel: async (file, o) => {
          calls.push(`parallel ${file}`);
          parallelOpts = o;
          o.onLine?.('2 jobs (0 already done), 2 workers; logs in /l');
          o.onJob?.(jobEvent('started', 0, { running: 1, queued: 1 }));
          o.onJob?.(jobEvent('done', 0, { running: 1, done: 1 }));
          o.onJob?.({ type: 'warning', message: 'not a job event', at: 0 });
          return result;
        },
        runExperiment: async (file, o) => {
          calls.push(`run ${file}`);
          runOpts = o as unknown as Record<string, unknown>;
          o.onEvent({ type: 'phase', phase: 'load', message: 'summarising' });
          return { task: 't', seconds: 0 } as Report;
        },
      });
      w.onMessage({ type: 'run', id: 3, specFile: '/a.ntk.yaml', options: { templates: ['it-was'], resultsDir: '/r', workers: 2 } });
      await settle();
      assert.deepStrictEqual(calls, ['parallel /a.ntk.yaml', 'run /a.ntk.yaml']);
      assert.strictEqual(parallelOpts!.workers, 2);
      assert.deepStrictEqual(parallelOpts!.templates, ['it-was']);
      assert.strictEqual(parallelOpts!.resultsDir, '/r');
      assert.strictEqual(parallelOpts!.cancelGraceMs, JOB_CANCEL_GRACE_MS);
      assert.ok(parallelOpts!.signal instanceof AbortSignal);
      assert.ok(!('workers' in runOpts!), 'runExperiment gets the engine options only');
      assert.strictEqual(runOpts!.resultsDir, '/r');
      const events = sent.filter(m => m.type === 'event').map(m => (m as Extract<WorkerToHost, { type: 'event' }>).event);
      assert.deepStrictEqual(events, [
        { type: 'log', level: 'info', message: 'parallel jobs: 2 jobs (0 already done), 2 workers; logs in /l' },
        { type: 'jobs', done: 0, total: 2, running: 1, failed: 0, message: 'jobs 0/2 done, 1 running' },
        { type: 'jobs', done: 1, total: 2, running: 1, failed: 0, message: 'jobs 1/2 done, 1 running' },
        { type: 'phase', phase: 'load', message: 'summarising' },
      ]);
      assert.ok(sent.every(m => !('id' in m) || m.id === 3));
      assert.strictEqual(sent.at(-1)!.type, 'result');
    });

    it('workers 1: no parallel step, the run is the engine\'s alone; 0 or absent means the cores', async () => {
      let parallel = 0;
      let runs = 0;
      const { w, sent, settle } = harness({
        runPairsInParallel: async () => { parallel++; return undefined; },
        runExperiment: async () => { runs++; return { task: 't' } as Report; },
      });
      w.onMessage({ type: 'run', id: 1, specFile: '/a', options: { workers: 1 } });
      await settle();
      assert.strictEqual(parallel, 0);
      assert.strictEqual(runs, 1);
      assert.deepStrictEqual(sent.map(m => m.type), ['result']);
      assert.strictEqual(resolveWorkers(1, 16), 1);
      assert.strictEqual(resolveWorkers(3, 16), 3);
      assert.strictEqual(resolveWorkers(0, 16), 16);
      assert.strictEqual(resolveWorkers(undefined, 16), 16);
      assert.strictEqual(resolveWorkers(-2, 4), 4);
      assert.strictEqual(resolveWorkers(0, 1), 1, 'one core: one process');
    });

    it('cancel aborts the parallel step\'s signal, runExperiment is not called, the answer is "cancelled"', async () => {
      let signal: AbortSignal | undefined;
      let runs = 0;
      const { w, sent, settle } = harness({
        // as runLocal: resolves (never rejects) once its children have stopped after the abort
        runPairsInParallel: (_f, o) => new Promise(resolve => {
          signal = o.signal;
          o.signal!.addEventListener('abort', () => setTimeout(() => resolve({ ...result, done: [], cancelled: [0, 1] }), 5));
        }),
        runExperiment: async () => { runs++; return { task: 't' } as Report; },
      });
      w.onMessage({ type: 'run', id: 5, specFile: '/a', options: { workers: 4 } });
      await settle();
      assert.strictEqual(signal?.aborted, false);
      w.onMessage({ type: 'cancel', id: 5 });
      await settle();
      assert.strictEqual(signal?.aborted, true);
      assert.strictEqual(runs, 0);
      assert.deepStrictEqual(sent, [{ type: 'cancelled', id: 5 }]);
    });

    it('a failing parallel step is a warning and the run goes on in this process; errors in the file are the run\'s error', async () => {
      const { w, sent, settle } = harness({
        runPairsInParallel: async () => { throw new Error('cannot find dist/cli.js'); },
        runExperiment: async () => ({ task: 't' }) as Report,
      });
      w.onMessage({ type: 'run', id: 1, specFile: '/a', options: { workers: 2 } });
      await settle();
      assert.deepStrictEqual(sent.map(m => m.type), ['event', 'result']);
      assert.match((sent[0] as { event: { message: string } }).event.message, /^parallel jobs not used \(cannot find dist\/cli\.js\); running in this process$/);

      const specError = Object.assign(new Error('a.ntk.yaml:3:1: unknown task'), { name: 'SpecErrors' });
      let runs = 0;
      const h = harness({ runPairsInParallel: async () => { throw specError; }, runExperiment: async () => { runs++; return {} as Report; } });
      h.w.onMessage({ type: 'run', id: 2, specFile: '/a', options: { workers: 2 } });
      await h.settle();
      assert.strictEqual(runs, 0);
      assert.deepStrictEqual(h.sent.map(m => m.type), ['error']);
      assert.match((h.sent[0] as { message: string }).message, /unknown task/);
    });

    it('without runPairsInParallel (an engine that lacks it) the run stays in this process whatever workers says', async () => {
      const { w, sent, settle } = harness({ runExperiment: async () => ({ task: 't' }) as Report });
      w.onMessage({ type: 'run', id: 1, specFile: '/a', options: { workers: 8 } });
      await settle();
      assert.deepStrictEqual(sent.map(m => m.type), ['result']);
    });
  });

  it('shutdown while parallel jobs are still stopping exits after shutdownWaitMs anyway (the executor\'s exit hook kills them)', async () => {
    let aborted = false;
    const { w, settle, exitCode } = harness({
      runPairsInParallel: (_f, o) => new Promise(() => o.signal!.addEventListener('abort', () => (aborted = true))), // never settles
      runExperiment: async () => ({}) as Report,
    }, { shutdownWaitMs: 50 });
    w.onMessage({ type: 'run', id: 1, specFile: '/a', options: { workers: 2 } });
    await settle();
    w.onMessage({ type: 'shutdown' });
    await settle();
    assert.ok(aborted);
    assert.strictEqual(exitCode(), undefined, 'still waiting');
    await new Promise(r => setTimeout(r, 60));
    assert.strictEqual(exitCode(), 0);
  });
});
