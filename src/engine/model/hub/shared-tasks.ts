/**
 * Concurrent calls for the same key share one in-flight task. Each caller may cancel its own wait with its
 * AbortSignal; the task itself is aborted only when every caller waiting on it has cancelled. Each caller's
 * listener receives the task's events while it waits. The entry is removed when the task settles; a caller that
 * comes while an abandoned task is still winding down starts a fresh task after it.
 */
import { abortError } from './http';

interface Entry<T, E> {
  promise: Promise<T>;
  controller: AbortController;
  waiting: number;
  listeners: Set<(event: E) => void>;
}

export class SharedTasks<T, E> {
  private readonly running = new Map<string, Entry<T, E>>();

  /** Number of tasks in flight (for tests and diagnostics). */
  get size(): number {
    return this.running.size;
  }

  /**
   * Joins the task under `key`, starting it with `start(signal, emit)` if none is running.
   * Rejects with the caller's abort reason as soon as `signal` aborts.
   */
  run(
    key: string,
    start: (signal: AbortSignal, emit: (event: E) => void) => Promise<T>,
    signal?: AbortSignal,
    listener?: (event: E) => void,
  ): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortError(signal));
    let entry = this.running.get(key);
    let previous: Promise<T> | undefined;
    const fresh = !entry || entry.controller.signal.aborted;
    if (fresh) {
      // A task every waiter left may still be winding down: the new one starts after it, on the same files.
      previous = entry?.promise;
      entry = { promise: undefined as unknown as Promise<T>, controller: new AbortController(), waiting: 0, listeners: new Set() };
      this.running.set(key, entry);
    }
    const joined = entry!;
    joined.waiting++;
    if (listener) joined.listeners.add(listener);
    if (fresh) {
      // Started after the first listener is in, so that it sees the task's first event.
      const emit = (event: E) => {
        for (const l of [...joined.listeners]) l(event);
      };
      joined.promise = (async () => {
        if (previous) await previous.catch(() => undefined);
        return start(joined.controller.signal, emit);
      })().finally(() => {
        if (this.running.get(key) === joined) this.running.delete(key);
      });
      // The task may end rejected after every waiter has left; nobody else would handle that rejection.
      joined.promise.catch(() => undefined);
    }
    return new Promise<T>((resolve, reject) => {
      let left = false;
      const leave = () => {
        if (left) return;
        left = true;
        joined.waiting--;
        if (listener) joined.listeners.delete(listener);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        leave();
        if (joined.waiting === 0) joined.controller.abort(signal!.reason);
        reject(abortError(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      joined.promise.then(
        (value) => {
          leave();
          resolve(value);
        },
        (error: unknown) => {
          leave();
          reject(error);
        },
      );
    });
  }
}
