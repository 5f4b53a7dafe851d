// The per-(result key, seed) lock of the results store (src/engine/report/lock.ts behind ResultsStore.withSeedLock).
import * as assert from 'assert';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ResultsStore, describeHolder, type LockHolder } from '../../../../src/engine/report/store';
import { AbortError, isAbortError } from '../../../../src/engine/util/abort';

const REPO = path.resolve(__dirname, '../../../..');
const STORE_TS = path.join(REPO, 'src/engine/report/store.ts');
const KEY = 'abcdef0123456789';
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

/** The pid of a process that has exited (spawned and awaited here, so no live process has it). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise(r => child.on('exit', r));
  return child.pid!;
}

function writeLock(file: string, content: object, mtime?: Date): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(content));
  if (mtime) fs.utimesSync(file, mtime, mtime);
}

/**
 * Child process: waits at a barrier (ready-<pid> / go files in `dir`), then runs withSeedLock(KEY, 13) around a fn that
 * logs "start <pid> <t>" and "end <pid> <t>" to `<dir>/log` with `holdMs` between; logs onWait and onTakeOver.
 */
const CONTENDER = `
const fs = require('fs'); const path = require('path');
const [storeTs, root, dir, key, holdMs] = process.argv.slice(1);
const { ResultsStore } = require(storeTs);
const log = line => fs.appendFileSync(path.join(dir, 'log'), line + '\\n');
const nap = ms => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
fs.writeFileSync(path.join(dir, 'ready-' + process.pid), '');
while (!fs.existsSync(path.join(dir, 'go'))) nap(2);
new ResultsStore(root).withSeedLock(key, 13, async () => {
  log('start ' + process.pid + ' ' + Date.now());
  await new Promise(r => setTimeout(r, Number(holdMs)));
  log('end ' + process.pid + ' ' + Date.now());
}, { pollMs: 20, staleMs: 60000,
     onWait: h => log('wait ' + process.pid + ' ' + h.pid + ' ' + h.host),
     onTakeOver: (h, why) => log('takeover ' + process.pid + ' ' + h.pid + ' ' + why) });
`;

async function contend(n: number, root: string, dir: string, holdMs: number): Promise<string[][]> {
  const children = Array.from({ length: n }, () => {
    const c = spawn(process.execPath, ['-r', 'tsx/cjs', '-e', CONTENDER, STORE_TS, root, dir, KEY, String(holdMs)], { cwd: REPO, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    return new Promise<{ code: number | null; stderr: string }>(resolve => c.on('exit', code => resolve({ code, stderr })));
  });
  const t0 = Date.now();
  while (fs.readdirSync(dir).filter(f => f.startsWith('ready-')).length < n) {
    if (Date.now() - t0 > 60_000) throw new Error('children not ready');
    await sleep(10);
  }
  fs.writeFileSync(path.join(dir, 'go'), '');
  for (const r of await Promise.all(children)) assert.strictEqual(r.code, 0, r.stderr);
  return fs.readFileSync(path.join(dir, 'log'), 'utf8').trim().split('\n').map(l => l.split(' '));
}

/** Asserts the start/end lines alternate (one holder at a time) and every pid ran once; returns the run order. */
function assertOneAtATime(lines: string[][], n: number): string[] {
  const runs = lines.filter(l => l[0] === 'start' || l[0] === 'end');
  assert.strictEqual(runs.length, 2 * n, lines.map(l => l.join(' ')).join('\n'));
  const order: string[] = [];
  for (let i = 0; i < runs.length; i += 2) {
    const [s, e] = [runs[i], runs[i + 1]];
    assert.deepStrictEqual([s[0], e[0], e[1]], ['start', 'end', s[1]], `overlapping holders:\n${lines.map(l => l.join(' ')).join('\n')}`);
    if (i > 0) assert.ok(Number(s[2]) >= Number(runs[i - 1][2]), 'a holder started before the previous one ended');
    order.push(s[1]);
  }
  assert.strictEqual(new Set(order).size, n);
  return order;
}

describe('engine/report/store: per-seed lock', function () {
  this.timeout(60_000);
  let dir: string;
  let root: string;
  let store: ResultsStore;
  let lockFile: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-lock-'));
    root = path.join(dir, 'store');
    store = new ResultsStore(root);
    lockFile = store.lockPath(KEY, 13);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('holds <root>/<key>/locks/<seed>.lock with {pid, host, startedAt} while fn runs, and removes it after (also when fn throws)', async () => {
    assert.strictEqual(lockFile, path.join(root, KEY, 'locks', '13.lock'));
    const seen = await store.withSeedLock(KEY, 13, async () => JSON.parse(fs.readFileSync(lockFile, 'utf8')));
    assert.strictEqual(seen.pid, process.pid);
    assert.strictEqual(seen.host, os.hostname());
    assert.ok(!Number.isNaN(Date.parse(seen.startedAt)));
    assert.ok(!fs.existsSync(lockFile));
    await assert.rejects(store.withSeedLock(KEY, 13, async () => { throw new Error('boom'); }), /boom/);
    assert.deepStrictEqual(fs.readdirSync(path.dirname(lockFile)), [], 'no lock, guard or temp file left');
    assert.throws(() => store.lockPath(KEY, 1.5), /not an integer/);
  });

  it('two processes contending for the same seed: one runs fn at a time, the other is told who holds it, waits, then runs', async () => {
    const lines = await contend(2, root, dir, 400);
    const [first, second] = assertOneAtATime(lines, 2);
    const waits = lines.filter(l => l[0] === 'wait');
    assert.deepStrictEqual(waits.map(l => l.slice(1)), [[second, first, os.hostname()]], 'onWait once, in the waiter, naming the holder');
    assert.ok(!lines.some(l => l[0] === 'takeover'), 'a live holder is never taken over');
    assert.ok(!fs.existsSync(lockFile));
  });

  it('a lock left by a dead pid on this host is taken over by exactly one of 4 contending processes, and they then run one at a time', async () => {
    writeLock(lockFile, { pid: await deadPid(), host: os.hostname(), startedAt: '2026-01-01T00:00:00Z' });
    const lines = await contend(4, root, dir, 150);
    assertOneAtATime(lines, 4);
    const takeovers = lines.filter(l => l[0] === 'takeover');
    assert.strictEqual(takeovers.length, 1, lines.map(l => l.join(' ')).join('\n'));
    assert.match(takeovers[0].slice(3).join(' '), /is not running/);
  });

  it('a lock left by a dead pid on this host is taken over at once (no poll, no staleMs wait)', async () => {
    const pid = await deadPid();
    writeLock(lockFile, { pid, host: os.hostname(), startedAt: '2026-01-01T00:00:00Z' });
    const taken: LockHolder[] = [];
    let waited = false;
    const t0 = Date.now();
    const ran = await store.withSeedLock(KEY, 13, async () => JSON.parse(fs.readFileSync(lockFile, 'utf8')).pid, {
      pollMs: 10_000, staleMs: 60_000, onWait: () => { waited = true; }, onTakeOver: h => taken.push(h),
    });
    assert.ok(Date.now() - t0 < 2000, `${Date.now() - t0} ms`);
    assert.strictEqual(ran, process.pid);
    assert.strictEqual(waited, false);
    assert.deepStrictEqual(taken.map(h => [h.pid, h.host]), [[pid, os.hostname()]]);
  });

  it('a lock from another host whose heartbeat stopped is taken over after staleMs, after telling who held it', async () => {
    writeLock(lockFile, { pid: 4242, host: 'other-host.example', startedAt: '2026-01-01T00:00:00Z' }, new Date(Date.now() - 3600_000));
    const waits: LockHolder[] = [];
    const t0 = Date.now();
    await store.withSeedLock(KEY, 13, async () => {
      assert.strictEqual(JSON.parse(fs.readFileSync(lockFile, 'utf8')).pid, process.pid);
    }, { pollMs: 25, staleMs: 400, onWait: h => waits.push(h) });
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 400 && elapsed < 5000, `taken over after ${elapsed} ms`);
    assert.strictEqual(waits.length, 1);
    assert.deepStrictEqual([waits[0].pid, waits[0].host], [4242, 'other-host.example']);
    assert.match(describeHolder(waits[0]), /^pid 4242 on host other-host\.example since 2026-01-01/);
  });

  it('a lock from another host with a live heartbeat is NOT taken over (the waiter keeps waiting until aborted)', async () => {
    writeLock(lockFile, { pid: 4242, host: 'other-host.example', startedAt: '2026-01-01T00:00:00Z' });
    const beat = setInterval(() => { const t = new Date(); fs.utimesSync(lockFile, t, t); }, 50);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 1500); // > 3 × staleMs
    let ran = false;
    try {
      await assert.rejects(store.withSeedLock(KEY, 13, async () => { ran = true; }, { pollMs: 25, staleMs: 400, signal: ac.signal }), isAbortError);
    } finally {
      clearInterval(beat);
    }
    assert.strictEqual(ran, false);
    assert.strictEqual(JSON.parse(fs.readFileSync(lockFile, 'utf8')).host, 'other-host.example', 'the lock is untouched');
  });

  it('the abort signal stops a waiter at once with an AbortError (not at the next poll); the holder is unaffected', async () => {
    let release!: () => void;
    const holding = store.withSeedLock(KEY, 13, () => new Promise<string>(r => { release = () => r('held'); }));
    await sleep(20);
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(new Error('user cancelled')), 100);
    const err = await store.withSeedLock(KEY, 13, async () => 'ran', { pollMs: 10_000, signal: ac.signal }).catch(e => e);
    assert.ok(err instanceof AbortError, String(err));
    assert.match(err.message, /13\.lock: aborted \(user cancelled\)/);
    assert.ok(Date.now() - t0 < 2000, `${Date.now() - t0} ms`);
    const pre = new AbortController();
    pre.abort();
    await assert.rejects(store.withSeedLock(KEY, 13, async () => 'ran', { signal: pre.signal }), isAbortError);
    assert.ok(fs.existsSync(lockFile), 'the holder still holds it');
    release();
    assert.strictEqual(await holding, 'held');
    assert.ok(!fs.existsSync(lockFile));
  });

  it("the holder's heartbeat keeps a fn that outlives staleMs from being taken over", async () => {
    const events: string[] = [];
    const long = store.withSeedLock(KEY, 13, async () => { events.push('a-start'); await sleep(1000); events.push('a-end'); }, { staleMs: 200 });
    await sleep(20);
    // same pid, so only a stale heartbeat could make this waiter take over
    await store.withSeedLock(KEY, 13, async () => { events.push('b-start'); }, { pollMs: 20, staleMs: 200 });
    await long;
    assert.deepStrictEqual(events, ['a-start', 'a-end', 'b-start']);
  });
});
