/**
 * Owns the engine worker process: forks dist/worker.js with an IPC channel, waits for its `ready` handshake (and
 * checks PROTOCOL_VERSION), matches request ids to replies, streams RunEvents (and parallel jobs' progress), cancels, and turns a crash or an OOM
 * into a WorkerCrashError carrying the process's stderr. After a crash the next request forks a fresh worker.
 *
 * Architecture Invariant: no `vscode` import (plain mocha tests fork real scripts against it).
 */
import { fork, type ChildProcess } from 'child_process';
import { PROTOCOL_VERSION, isWorkerToHost } from './protocol';
import type { EngineDiagnostic, HostToWorker, LabelTokensResultMessage, RunOptions, WorkerRunEvent, WorkerToHost } from './protocol';
import type { Report } from './engine/report/types';

export interface WorkerClientOptions {
  /** The worker script (dist/worker.js). */
  workerPath: string;
  /** Extra node flags, e.g. --max-old-space-size from ntkLens.memoryBudgetMB. */
  execArgv?: string[];
  env?: NodeJS.ProcessEnv;
  /** Receives the worker's stdout/stderr lines (the "ntk-lens" output channel). */
  log?: (line: string) => void;
  readyTimeoutMs?: number;
  /** How long a cancelled run may take to stop before the process is killed. */
  cancelGraceMs?: number;
}

export class WorkerCrashError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    /** The tail of the worker's stderr. */
    readonly log: string,
  ) {
    super(message);
    this.name = 'WorkerCrashError';
  }
}

export class CancelledError extends Error {
  constructor() {
    super('the run was cancelled');
    this.name = 'CancelledError';
  }
}

interface Pending {
  resolve: (m: WorkerToHost) => void;
  reject: (e: Error) => void;
  onEvent?: (e: WorkerRunEvent) => void;
}

const LOG_TAIL_CHARS = 8000;

export class WorkerClient {
  private child: ChildProcess | undefined;
  private starting: Promise<ChildProcess> | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stderrTail = '';

  constructor(private readonly opts: WorkerClientOptions) {}

  /** pid of the live worker, if any. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Forks the worker if needed and resolves once it said `ready` with our protocol version. */
  start(): Promise<ChildProcess> {
    if (this.child && !this.child.killed && this.child.exitCode === null) return Promise.resolve(this.child);
    if (!this.starting) {
      this.starting = this.spawn().finally(() => (this.starting = undefined));
    }
    return this.starting;
  }

  private spawn(): Promise<ChildProcess> {
    return new Promise((resolve, reject) => {
      this.stderrTail = '';
      const child = fork(this.opts.workerPath, [], {
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        execArgv: this.opts.execArgv ?? [],
        env: this.opts.env ?? process.env,
      });
      const lines = (prefix: string) => (chunk: Buffer) => {
        const text = chunk.toString();
        if (prefix === 'stderr') this.stderrTail = (this.stderrTail + text).slice(-LOG_TAIL_CHARS);
        for (const line of text.split(/\r?\n/)) if (line) this.opts.log?.(`[worker ${child.pid} ${prefix}] ${line}`);
      };
      child.stdout?.on('data', lines('stdout'));
      child.stderr?.on('data', lines('stderr'));
      let ready = false;
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new WorkerCrashError(`the worker did not say "ready" within ${this.timeout()} ms`, null, null, this.stderrTail));
      }, this.timeout());
      child.on('message', raw => {
        if (!isWorkerToHost(raw)) return this.opts.log?.(`[worker ${child.pid}] ignored message ${JSON.stringify(raw)}`);
        if (raw.type === 'ready') {
          clearTimeout(timer);
          if (raw.protocolVersion !== PROTOCOL_VERSION) {
            child.kill('SIGKILL');
            return reject(
              new WorkerCrashError(
                `the worker speaks protocol ${raw.protocolVersion}, the extension ${PROTOCOL_VERSION}: rebuild (npm run build)`,
                null, null, this.stderrTail,
              ),
            );
          }
          ready = true;
          this.child = child;
          return resolve(child);
        }
        this.dispatch(raw);
      });
      child.on('error', err => {
        clearTimeout(timer);
        if (!ready) reject(new WorkerCrashError(`cannot start the worker ${this.opts.workerPath}: ${err.message}`, null, null, ''));
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        // give the stderr pipe a moment to drain so the log holds the last words
        setImmediate(() => this.onExit(child, ready, code, signal, reject));
      });
    });
  }

  private timeout(): number {
    return this.opts.readyTimeoutMs ?? 30000;
  }

  private onExit(child: ChildProcess, wasReady: boolean, code: number | null, signal: NodeJS.Signals | null, rejectStart: (e: Error) => void) {
    if (this.child !== child && wasReady) return; // an old worker (killed after a cancel): its requests are settled
    this.child = undefined;
    const oom = /heap out of memory|Allocation failed|OOM|ENOMEM/i.test(this.stderrTail);
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const err = new WorkerCrashError(
      `the ntk-lens worker ${how}${oom ? ' (out of memory: lower ntkLens.memoryBudgetMB use or the batch size)' : ''}` +
        `; its log is in the "ntk-lens" output channel`,
      code, signal, this.stderrTail,
    );
    if (!wasReady) rejectStart(err);
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      p.reject(err);
    }
  }

  private dispatch(m: WorkerToHost): void {
    if (m.type === 'ready') return;
    const p = this.pending.get(m.id);
    if (!p) return;
    if (m.type === 'event') return p.onEvent?.(m.event);
    this.pending.delete(m.id);
    if (m.type === 'error') {
      const err = new Error(m.message);
      if (m.stack) err.stack = m.stack;
      return p.reject(err);
    }
    if (m.type === 'cancelled') return p.reject(new CancelledError());
    p.resolve(m);
  }

  private async request(make: (id: number) => HostToWorker, onEvent?: (e: WorkerRunEvent) => void): Promise<{ id: number; reply: Promise<WorkerToHost> }> {
    const child = await this.start();
    const id = this.nextId++;
    const reply = new Promise<WorkerToHost>((resolve, reject) => this.pending.set(id, { resolve, reject, onEvent }));
    child.send(make(id));
    return { id, reply };
  }

  /** Runs an experiment in the worker. Rejects with CancelledError when `signal` aborts (the process is killed if
   * it does not stop within cancelGraceMs), with WorkerCrashError when the process dies. */
  async run(specFile: string, options: RunOptions, onEvent: (e: WorkerRunEvent) => void, signal?: AbortSignal): Promise<Report> {
    if (signal?.aborted) throw new CancelledError();
    const { id, reply } = await this.request(id => ({ type: 'run', id, specFile, options }), onEvent);
    const child = this.child;
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      child?.send({ type: 'cancel', id } satisfies HostToWorker);
      killTimer = setTimeout(() => {
        const p = this.pending.get(id);
        if (!p) return;
        this.pending.delete(id);
        this.opts.log?.(`[worker ${child?.pid}] did not stop within ${this.opts.cancelGraceMs ?? 5000} ms of cancel: killed`);
        if (this.child === child) this.child = undefined; // the next request forks a fresh worker
        child?.kill('SIGKILL');
        p.reject(new CancelledError());
      }, this.opts.cancelGraceMs ?? 5000);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const m = await reply;
      if (m.type !== 'result') throw new Error(`worker answered a run with "${m.type}"`);
      return m.report;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
    }
  }

  async validate(specFile: string, text: string): Promise<EngineDiagnostic[]> {
    const { reply } = await this.request(id => ({ type: 'validate', id, specFile, text }));
    const m = await reply;
    if (m.type !== 'diagnostics') throw new Error(`worker answered validate with "${m.type}"`);
    return m.diagnostics;
  }

  async labelTokens(specFile: string, text: string, words: string[], hubCacheDir?: string): Promise<Omit<LabelTokensResultMessage, 'type' | 'id'>> {
    const { reply } = await this.request(id => ({ type: 'labelTokens', id, specFile, text, words, hubCacheDir }));
    const m = await reply;
    if (m.type !== 'labelTokens') throw new Error(`worker answered labelTokens with "${m.type}"`);
    return { model: m.model, tokens: m.tokens };
  }

  /** Asks the worker to stop (aborting runs), and kills it if it has not exited after `graceMs`. */
  async dispose(graceMs = 3000): Promise<void> {
    const child = this.child ?? (this.starting ? await this.starting.catch(() => undefined) : undefined);
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>(resolve => child.once('exit', () => resolve()));
    try {
      child.send({ type: 'shutdown' } satisfies HostToWorker);
    } catch {
      /* channel already closed */
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}
