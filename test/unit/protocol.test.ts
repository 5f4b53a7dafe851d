import * as assert from 'assert';
import { PROTOCOL_VERSION, isHostToWorker, isPanelToHost, isWorkerToHost } from '../../src/protocol';

describe('protocol', () => {
  it('isPanelToHost accepts exactly the panel messages and rejects anything else from the untrusted webview', () => {
    for (const type of ['ready', 'cancel', 'run', 'exportKernels']) assert.ok(isPanelToHost({ type }), type);
    for (const bad of [null, 'run', [], {}, { type: 'runCommand' }, { type: 'run', command: 'rm -rf' }, { type: 1 }, { type: '__proto__' }]) {
      assert.strictEqual(isPanelToHost(bad), false, JSON.stringify(bad));
    }
  });
  it('isWorkerToHost needs a known type and a numeric id (ready: a protocol version)', () => {
    assert.ok(isWorkerToHost({ type: 'ready', protocolVersion: PROTOCOL_VERSION, pid: 1 }));
    assert.ok(isWorkerToHost({ type: 'event', id: 3, event: { type: 'log', level: 'info', message: '' } }));
    assert.strictEqual(isWorkerToHost({ type: 'ready' }), false);
    assert.strictEqual(isWorkerToHost({ type: 'result', id: '3' }), false);
    assert.strictEqual(isWorkerToHost('hello'), false);
  });
  it('isHostToWorker: shutdown needs no id, the rest do', () => {
    assert.ok(isHostToWorker({ type: 'shutdown' }));
    assert.ok(isHostToWorker({ type: 'cancel', id: 1 }));
    assert.strictEqual(isHostToWorker({ type: 'cancel' }), false);
    assert.strictEqual(isHostToWorker({ type: 'exec', id: 1 }), false);
  });
});
