import { strict as assert } from 'node:assert';
import { AbortError, isAbortError, throwIfAborted } from '../../../../src/engine/util/abort';

describe('util/abort', () => {
  it('throws an AbortError naming the loop only once the signal is aborted, with the reason in the message', () => {
    const c = new AbortController();
    assert.doesNotThrow(() => throwIfAborted(c.signal, 'kernel'));
    assert.doesNotThrow(() => throwIfAborted(undefined, 'kernel'));
    c.abort(new Error('user pressed Stop'));
    assert.throws(() => throwIfAborted(c.signal, 'fine-tuning (before step 3)'), (e: unknown) =>
      e instanceof AbortError && isAbortError(e) && e.message === 'fine-tuning (before step 3): aborted (user pressed Stop)');
    assert.ok(!isAbortError(new Error('other')));
  });
});
