/**
 * Cancellation shared by the long-running engine loops (kernel, fine-tuning, experiment runs).
 *
 * Loops call `throwIfAborted(signal, where)` at their safe points (between examples, between steps);
 * an aborted `AbortSignal` then surfaces as an `AbortError`, which callers tell apart from real failures
 * with `isAbortError`.
 */

/** Thrown when an `AbortSignal` passed to an engine loop is aborted. `where` names the loop and its position. */
export class AbortError extends Error {
  override readonly name = 'AbortError';
  constructor(readonly where: string, reason?: unknown) {
    super(`${where}: aborted${reasonText(reason)}`);
  }
}

function reasonText(reason: unknown): string {
  if (reason === undefined) return '';
  if (reason instanceof Error) return ` (${reason.message})`;
  return ` (${String(reason)})`;
}

/** Throws `AbortError(where)` when `signal` is aborted; does nothing when `signal` is absent. */
export function throwIfAborted(signal: AbortSignal | undefined, where: string): void {
  if (signal?.aborted) throw new AbortError(where, signal.reason);
}

/** True for an `AbortError` (also one from another module copy, recognised by its name). */
export function isAbortError(e: unknown): e is AbortError {
  return e instanceof AbortError || (e instanceof Error && e.name === 'AbortError');
}

/** Lets queued events (an abort message, a progress flush) run between two units of synchronous work. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
