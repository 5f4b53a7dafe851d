/**
 * One heavy job at a time: runs queue up behind the current one, in order. The status bar shows `snapshot()`.
 * Pure (no vscode): tested under plain mocha.
 */
export interface QueuedJob {
  id: number;
  label: string;
  /** Aborted by cancel(id) or cancelAll(). */
  controller: AbortController;
}

export interface QueueSnapshot {
  running?: { id: number; label: string };
  queued: { id: number; label: string }[];
}

export class RunQueue {
  private current: QueuedJob | undefined;
  private readonly waiting: { job: QueuedJob; start: () => void }[] = [];
  private nextId = 1;
  private readonly listeners = new Set<(s: QueueSnapshot) => void>();

  onDidChange(listener: (s: QueueSnapshot) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  snapshot(): QueueSnapshot {
    return {
      running: this.current && { id: this.current.id, label: this.current.label },
      queued: this.waiting.map(w => ({ id: w.job.id, label: w.job.label })),
    };
  }

  /** Queues `work`; it starts when every earlier job has settled. A job cancelled while queued never starts. */
  enqueue<T>(label: string, work: (job: QueuedJob) => Promise<T>): { job: QueuedJob; result: Promise<T> } {
    const job: QueuedJob = { id: this.nextId++, label, controller: new AbortController() };
    const result = new Promise<T>((resolve, reject) => {
      const start = () => {
        this.current = job;
        this.emit();
        work(job).then(resolve, reject).finally(() => {
          this.current = undefined;
          this.startNext();
        });
      };
      if (this.current || this.waiting.length) {
        this.waiting.push({ job, start });
        job.controller.signal.addEventListener('abort', () => {
          const i = this.waiting.findIndex(w => w.job === job);
          if (i >= 0) {
            this.waiting.splice(i, 1);
            this.emit();
            reject(Object.assign(new Error('the run was cancelled before it started'), { name: 'CancelledError' }));
          }
        });
        this.emit();
      } else start();
    });
    return { job, result };
  }

  cancel(id?: number): boolean {
    const job = id === undefined ? this.current : [this.current, ...this.waiting.map(w => w.job)].find(j => j?.id === id);
    if (!job) return false;
    job.controller.abort();
    return true;
  }

  cancelAll(): void {
    for (const w of [...this.waiting]) w.job.controller.abort();
    this.current?.controller.abort();
  }

  private startNext(): void {
    const next = this.waiting.shift();
    if (next) next.start();
    else this.emit();
  }

  private emit(): void {
    const s = this.snapshot();
    for (const l of this.listeners) l(s);
  }
}
