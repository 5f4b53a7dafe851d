/**
 * Runs templates in the worker, one job at a time (RunQueue; within a job the worker may run the (template, seed)
 * pairs as parallel processes: ntkLens.workers), and fans the progress out to a cancellable
 * notification, the CodeLens, the status bar and the panel. A worker crash becomes an error message whose log is in
 * the "ntk-lens" output channel; the next job starts a fresh worker.
 */
import * as vscode from 'vscode';
import { CancelledError, WorkerClient, WorkerCrashError } from '../worker-client';
import type { Report, RunEvent } from '../engine/report/types';
import { config } from './config';
import { progressLine } from './format';
import { RunQueue } from './run-queue';

export interface LiveRun {
  jobId: number;
  specFile: string;
  /** Templates of the job (undefined = all in the file). */
  templates?: string[];
  /** Template currently computed (from the events). */
  template?: string;
  progress: string;
}

export class RunController implements vscode.Disposable {
  readonly queue = new RunQueue();
  private readonly live = new Map<number, LiveRun>();
  private readonly changed = new vscode.EventEmitter<'state' | 'progress'>();
  private readonly events = new vscode.EventEmitter<{ specFile: string; event: RunEvent }>();
  private readonly finished = new vscode.EventEmitter<{ specFile: string; report?: Report; error?: Error }>();
  /** 'state': a job started, ended or was queued; 'progress': a run event arrived (frequent: throttle). */
  readonly onDidChange = this.changed.event;
  readonly onEvent = this.events.event;
  readonly onDidFinish = this.finished.event;

  constructor(
    private readonly worker: () => WorkerClient,
    private readonly output: vscode.OutputChannel,
  ) {}

  /** The live run touching this template, if any (for the CodeLens). */
  liveFor(specFile: string, template: string): LiveRun | undefined {
    return [...this.live.values()].find(
      r => r.specFile === specFile && (r.template === template || (!r.template && (!r.templates || r.templates.includes(template)))),
    );
  }

  isQueued(specFile: string, template: string): boolean {
    return this.queue.snapshot().queued.some(q => this.jobs.get(q.id)?.specFile === specFile &&
      (!this.jobs.get(q.id)?.templates || this.jobs.get(q.id)!.templates!.includes(template)));
  }

  private readonly jobs = new Map<number, { specFile: string; templates?: string[] }>();

  /** Queues a run; resolves with the report, or undefined when cancelled or failed (the user was told). */
  run(specFile: string, templates?: string[]): Promise<Report | undefined> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage('ntk-lens runs nothing in an untrusted workspace: trust this folder to run comparisons.');
      return Promise.resolve(undefined);
    }
    const label = `${vscode.workspace.asRelativePath(specFile)}${templates ? ` › ${templates.join(', ')}` : ' (all templates)'}`;
    const { job, result } = this.queue.enqueue<Report>(label, job =>
      Promise.resolve(vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `NTK comparison: ${label}`, cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => job.controller.abort());
          const live: LiveRun = { jobId: job.id, specFile, templates, progress: 'starting' };
          this.live.set(job.id, live);
          this.changed.fire('state');
          let lastFraction = 0;
          let parallel = false; // the bar counts the parallel jobs, if any; the summarising run's steps then leave it
          try {
            return await this.worker().run(
              specFile,
              {
                templates,
                resultsDir: config.resultsFolder(specFile),
                backend: config.backend(),
                memoryBudgetMB: config.memoryBudgetMB() || undefined,
                hubCacheDir: config.hubCacheFolder(),
                workers: config.workers(),
              },
              event => {
                if (event.type === 'jobs') {
                  // the run's (template, seed) pairs as parallel jobs (ntkLens.workers): the notification moves per job
                  parallel = true;
                  live.progress = event.message;
                  const f = event.total > 0 ? (100 * event.done) / event.total : 0;
                  const increment = f > lastFraction ? f - lastFraction : undefined;
                  if (increment !== undefined) lastFraction = f;
                  progress.report({ message: event.message, increment });
                  this.changed.fire('progress');
                  return;
                }
                if ('template' in event && typeof event.template === 'string') live.template = event.template;
                if (event.type === 'template-done') live.template = undefined;
                if (event.type === 'log') this.output.appendLine(`[${event.level}] ${event.message}`);
                const line = progressLine(event);
                if (line) {
                  live.progress = line;
                  let increment: number | undefined;
                  if (event.type === 'step' && event.total > 0 && !parallel) {
                    const f = (100 * event.step) / event.total;
                    increment = f >= lastFraction ? f - lastFraction : undefined;
                    lastFraction = f;
                  }
                  progress.report({ message: `${live.template && !templates ? live.template + ': ' : ''}${line}`, increment });
                }
                this.events.fire({ specFile, event });
                this.changed.fire('progress');
              },
              job.controller.signal,
            );
          } finally {
            this.live.delete(job.id);
            this.changed.fire('state');
          }
        },
      )),
    );
    this.jobs.set(job.id, { specFile, templates });
    this.changed.fire('state');
    return result.then(
      report => {
        this.jobs.delete(job.id);
        this.finished.fire({ specFile, report });
        return report;
      },
      (err: Error) => {
        this.jobs.delete(job.id);
        this.finished.fire({ specFile, error: err });
        this.report(err);
        return undefined;
      },
    );
  }

  /** Progress line of the running job (status bar). */
  currentProgress(): string | undefined {
    const running = this.queue.snapshot().running;
    return running && this.live.get(running.id)?.progress;
  }

  cancel(jobId?: number): boolean {
    return this.queue.cancel(jobId);
  }

  private report(err: Error): void {
    if (err instanceof CancelledError || err.name === 'CancelledError') {
      this.output.appendLine(`run cancelled`);
      void vscode.window.showInformationMessage('ntk-lens: run cancelled.');
      return;
    }
    this.output.appendLine(`run failed: ${err.stack ?? err.message}`);
    if (err instanceof WorkerCrashError) {
      this.output.appendLine('---- worker stderr (tail) ----');
      this.output.appendLine(err.log || '(empty)');
    }
    void vscode.window.showErrorMessage(`ntk-lens: ${err.message}`, 'Show log').then(choice => {
      if (choice === 'Show log') this.output.show(true);
    });
  }

  dispose(): void {
    this.queue.cancelAll();
    this.changed.dispose();
    this.events.dispose();
    this.finished.dispose();
  }
}
