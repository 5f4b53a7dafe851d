import { strict as assert } from 'node:assert';
import { SharedTasks } from '../../../../../src/engine/model/hub/shared-tasks';

/** A task that waits until its signal aborts (then rejects) or `finish` is called. */
function controllable() {
  let starts = 0;
  let finish: (v: string) => void = () => undefined;
  let seenSignal: AbortSignal | undefined;
  const start = (signal: AbortSignal) => {
    starts++;
    seenSignal = signal;
    return new Promise<string>((resolve, reject) => {
      finish = resolve;
      signal.addEventListener('abort', () => reject(new Error('task aborted')), { once: true });
    });
  };
  return { start, finish: (v: string) => finish(v), starts: () => starts, signal: () => seenSignal! };
}

describe('engine/model/hub/shared-tasks: SharedTasks', () => {
  it('runs one task for concurrent callers of the same key and gives both its result', async () => {
    const tasks = new SharedTasks<string, never>();
    const t = controllable();
    const a = tasks.run('k', t.start);
    const b = tasks.run('k', t.start);
    t.finish('ok');
    assert.deepEqual(await Promise.all([a, b]), ['ok', 'ok']);
    assert.equal(t.starts(), 1);
    assert.equal(tasks.size, 0, 'the entry outlived its task');
  });

  it("one caller's abort rejects only that caller; the task goes on for the other", async () => {
    const tasks = new SharedTasks<string, never>();
    const t = controllable();
    const cancel = new AbortController();
    const a = tasks.run('k', t.start, cancel.signal);
    const b = tasks.run('k', t.start);
    cancel.abort();
    await assert.rejects(a, { name: 'AbortError' });
    assert.equal(t.signal().aborted, false);
    t.finish('ok');
    assert.equal(await b, 'ok');
  });

  it('aborts the task when every caller has aborted, and a later caller starts a fresh task', async () => {
    const tasks = new SharedTasks<string, never>();
    const t = controllable();
    const [c1, c2] = [new AbortController(), new AbortController()];
    const a = tasks.run('k', t.start, c1.signal);
    const b = tasks.run('k', t.start, c2.signal);
    c1.abort();
    c2.abort();
    await Promise.allSettled([a, b]);
    assert.equal(t.signal().aborted, true);
    const c = tasks.run('k', t.start);
    await new Promise((r) => setImmediate(r));
    assert.equal(t.starts(), 2);
    t.finish('again');
    assert.equal(await c, 'again');
  });

  it("sends the task's events to every waiting caller's listener, from the first event on", async () => {
    const tasks = new SharedTasks<string, number>();
    const seen: number[] = [];
    await tasks.run(
      'k',
      async (_signal, emit) => {
        emit(1);
        await Promise.resolve();
        emit(2);
        return 'done';
      },
      undefined,
      (e) => seen.push(e),
    );
    assert.deepEqual(seen, [1, 2]);
  });
});
