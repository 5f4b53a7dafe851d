import * as assert from 'assert';
import * as path from 'path';
import { CancelledError, WorkerClient, WorkerCrashError } from '../../../src/worker-client';
import type { WorkerRunEvent } from '../../../src/protocol';

// The real worker entry (src/engine/run/worker-main.ts) forked through tsx, with the test-only fake engine.
const WORKER = path.resolve(__dirname, '../../../src/engine/run/worker-main.ts');
const FAKE_ENGINE = path.resolve(__dirname, '../../support/fake-engine.ts');
const RAW_WORKER = path.resolve(__dirname, '../../support/raw-worker.js');
const TSX = ['--require', require.resolve('tsx/cjs')];

function client(extra: Partial<ConstructorParameters<typeof WorkerClient>[0]> = {}, env: Record<string, string> = {}) {
  const lines: string[] = [];
  const c = new WorkerClient({
    workerPath: WORKER, execArgv: TSX, env: { ...process.env, NTK_LENS_ENGINE: FAKE_ENGINE, ...env },
    log: l => lines.push(l), cancelGraceMs: 500, ...extra,
  });
  return { c, lines };
}

describe('WorkerClient with the real worker entry and a fake engine', function () {
  this.timeout(20000);
  const clients: WorkerClient[] = [];
  after(async () => { await Promise.all(clients.map(c => c.dispose(500))); });

  it('handshakes, streams run events in order, returns the report, validates and tokenizes', async () => {
    const { c } = client();
    clients.push(c);
    await c.start();
    assert.ok(c.pid, 'worker pid after ready');
    const events: WorkerRunEvent[] = [];
    const report = await c.run('/x/spec.ntk.yaml', { templates: ['manual'] }, e => events.push(e));
    assert.deepStrictEqual(events.map(e => e.type), ['phase', 'step', 'step', 'step', 'template-done']);
    assert.deepStrictEqual(events.filter(e => e.type === 'step').map(e => (e as { step: number }).step), [1, 2, 3]);
    assert.strictEqual(report.templates[0].name, 'manual');
    const diags = await c.validate('/x/spec.ntk.yaml', 'templates:\n  - template: "*cls*"\n');
    assert.strictEqual(diags.length, 1);
    assert.strictEqual(diags[0].line, 2);
    const tokens = await c.labelTokens('/x/spec.ntk.yaml', '', ['great', 'wonderful']);
    assert.deepStrictEqual(tokens.tokens.map(t => t.ids.length), [1, 2]);
  });

  it('cancel stops a slow run within the grace period and keeps the same worker for the next run', async () => {
    const { c } = client();
    clients.push(c);
    const controller = new AbortController();
    let steps = 0;
    const t0 = Date.now();
    const run = c.run('/x/mode-slow.ntk.yaml', {}, e => { if (e.type === 'step' && ++steps === 3) controller.abort(); }, controller.signal);
    await assert.rejects(run, CancelledError);
    assert.ok(steps < 50, `stopped after ${steps} steps`);
    assert.ok(Date.now() - t0 < 3000);
    const pid = c.pid;
    await c.run('/x/ok.ntk.yaml', {}, () => undefined);
    assert.strictEqual(c.pid, pid, 'a cooperative cancel does not restart the worker');
  });

  it('a run that ignores cancel is killed after cancelGraceMs, and the next run gets a fresh worker', async () => {
    const { c } = client({ cancelGraceMs: 300 });
    clients.push(c);
    const controller = new AbortController();
    await c.start();
    const pid = c.pid;
    const run = c.run('/x/mode-hang.ntk.yaml', {}, e => { if (e.type === 'step') controller.abort(); }, controller.signal);
    await assert.rejects(run, CancelledError);
    await c.run('/x/ok.ntk.yaml', {}, () => undefined);
    assert.notStrictEqual(c.pid, pid);
  });

  it('a crash rejects with WorkerCrashError carrying the stderr log, and the next run restarts the worker', async () => {
    const { c, lines } = client();
    clients.push(c);
    const err = await c.run('/x/mode-crash.ntk.yaml', {}, () => undefined).then(() => undefined, e => e as WorkerCrashError);
    assert.ok(err instanceof WorkerCrashError, String(err));
    assert.strictEqual(err.exitCode, 7);
    assert.match(err.log, /something went badly wrong/);
    assert.ok(lines.some(l => l.includes('something went badly wrong')), 'stderr also goes to the log sink');
    const report = await c.run('/x/ok.ntk.yaml', {}, () => undefined);
    assert.strictEqual(report.task, 'custom');
  });

  it('an out-of-memory death is named as such', async () => {
    const { c } = client();
    clients.push(c);
    await assert.rejects(c.run('/x/mode-oom.ntk.yaml', {}, () => undefined), (e: Error) => e instanceof WorkerCrashError && /out of memory/.test(e.message));
  });

  it('refuses a worker that speaks another protocol version, and reports a worker that dies at start', async () => {
    const wrong = new WorkerClient({ workerPath: RAW_WORKER, env: { ...process.env, RAW_WORKER_MODE: 'wrong-version' } });
    await assert.rejects(wrong.start(), /protocol 999.*rebuild/);
    const dies = new WorkerClient({ workerPath: RAW_WORKER, env: { ...process.env, RAW_WORKER_MODE: 'die-at-start' } });
    await assert.rejects(dies.start(), (e: Error) => e instanceof WorkerCrashError && /cannot start/.test(e.log));
    const silent = new WorkerClient({ workerPath: RAW_WORKER, env: { ...process.env, RAW_WORKER_MODE: 'silent' }, readyTimeoutMs: 300 });
    await assert.rejects(silent.start(), /did not say "ready"/);
  });

  it('dispose ends the worker process', async () => {
    const { c } = client();
    await c.start();
    const pid = c.pid!;
    await c.dispose(2000);
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
  });
});
