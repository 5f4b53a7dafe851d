import * as assert from 'assert';
import { serveWorker, type EngineModule } from '../../../../src/engine/run/worker-main';
import type { WorkerToHost } from '../../../../src/protocol';
import type { Report } from '../../../../src/engine/report/types';

// serveWorker in-process, with a hand-made engine: what the worker sends for each request.
function harness(engine: Partial<EngineModule>) {
  const sent: WorkerToHost[] = [];
  let exitCode: number | undefined;
  const w = serveWorker(engine as EngineModule, m => sent.push(m), c => (exitCode = c));
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
});
