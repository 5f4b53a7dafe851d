/**
 * Studies from the editor: runs `ntk-lens study run FILE --out DIR --events` as a child process (one study at a
 * time), folds its JSON event lines into each study's panel state (jobs, live table), shows a cancellable progress
 * notification and logs the CLI's stderr to the "ntk-lens" output channel. Also the short study commands: the
 * estimate (`study jobs --json`, cached per saved file), the table (`study report --format json|md|csv|tex`) and a
 * Slurm submission (`study submit --slurm`). The study file itself is parsed here (YAML and the validator: no
 * engine numerics); everything that needs the engine runs in the CLI process.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import { expandJobs } from '../engine/study/jobs';
import { parseStudy, type StudyResult } from '../engine/study/study-file';
import { config } from './config';
import { describeFailure, parseJobsJson, runStudyCli, studyCliOutput, type StudyCliOptions, type StudyJobInfo } from './study-cli';
import { applyStudyEvent, initialJobs, isStudyTables, jobCounts, parseStudyEvent } from './study-events';
import type { StudyPanelState, StudyTableJson, TableFormatName } from './study-protocol';

export const STUDY_LANGUAGE = 'ntk-study';

export interface StudyRunResult {
  done: number;
  failed: number;
  cancelled: boolean;
  /** The CLI's exit code (null: killed by a signal). */
  code: number | null;
  error?: string;
}

/** The text of a study file: the open document's (maybe unsaved), else the file on disk ('' when it cannot be read). */
export function studyText(file: string): string {
  const open = vscode.workspace.textDocuments.find(d => d.uri.fsPath === file);
  if (open) return open.getText();
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Parses the study text with the engine's validator (pure: YAML, task registry, spec checks). */
export function readStudy(file: string, text = studyText(file)): StudyResult {
  return parseStudy(text, file);
}

export class StudyController implements vscode.Disposable {
  private readonly sessions = new Map<string, StudyPanelState>();
  private readonly estimates = new Map<string, { mtimeMs: number; jobs?: StudyJobInfo[]; pending?: Promise<void>; error?: string }>();
  private running: { file: string; controller: AbortController; promise: Promise<StudyRunResult> } | undefined;
  private readonly changed = new vscode.EventEmitter<string>();
  /** A study file's state changed (its session, its estimate, running or not): refresh lenses and the panel. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly extensionPath: string, private readonly output: vscode.OutputChannel, private readonly graceMs = 10000) {}

  /** dist/cli.js of this extension; NTK_LENS_CLI names another script with the same commands (tests only). */
  cliOptions(): StudyCliOptions {
    return { cli: process.env.NTK_LENS_CLI || path.join(this.extensionPath, 'dist', 'cli.js'), graceMs: this.graceMs };
  }

  outDir(file: string): string {
    return config.resultsFolder(file);
  }

  isRunning(file?: string): boolean {
    return !!this.running && (file === undefined || this.running.file === file);
  }

  /** The panel state of a study: made from the file's jobs on first use. */
  session(file: string): StudyPanelState {
    let s = this.sessions.get(file);
    if (!s) {
      const r = readStudy(file);
      const jobs = r.study ? expandJobs(r.study) : [];
      const est = this.cachedEstimate(file);
      s = { studyFile: file, modes: r.study?.modes ?? [], jobs: initialJobs(jobs.map(j => j.label), est && est.length === jobs.length ? est.map(j => j.done) : undefined), running: false };
      if (!r.study) s.finished = { done: 0, failed: 0, error: `${path.basename(file)} has ${r.errors.length} problem(s): see the Problems view` };
      this.sessions.set(file, s);
    }
    return s;
  }

  private update(file: string, f: (s: StudyPanelState) => StudyPanelState): void {
    this.sessions.set(file, f(this.session(file)));
    this.changed.fire(file);
  }

  /** Makes a study's jobs again from its file (it was saved: the jobs may differ), keeping the table shown; not while it runs. */
  reset(file: string): void {
    if (this.isRunning(file)) return;
    const old = this.sessions.get(file);
    this.sessions.delete(file);
    if (old?.tables) this.sessions.set(file, { ...this.session(file), tables: old.tables, tableSource: old.tableSource });
    this.changed.fire(file);
  }

  // ---- the estimate: `study jobs FILE --json`, per saved version of the file ---------------------------------------
  private cachedEstimate(file: string): StudyJobInfo[] | undefined {
    const e = this.estimates.get(file);
    let mtimeMs: number;
    try {
      mtimeMs = fs.statSync(file).mtimeMs;
    } catch {
      return undefined;
    }
    return e && e.mtimeMs === mtimeMs ? e.jobs : undefined;
  }

  /**
   * The jobs with their estimates and done flags as the CLI sees the saved file; undefined while it is asked (the
   * answer fires onDidChange). Asked again when the file's mtime changes or `invalidate` was called.
   */
  estimate(file: string): StudyJobInfo[] | undefined {
    if (!vscode.workspace.isTrusted) return undefined; // it reads the model files: not in an untrusted workspace
    let mtimeMs: number;
    try {
      mtimeMs = fs.statSync(file).mtimeMs;
    } catch {
      return undefined;
    }
    const e = this.estimates.get(file);
    if (e && e.mtimeMs === mtimeMs) return e.jobs;
    if (e?.pending) return undefined;
    const entry: { mtimeMs: number; jobs?: StudyJobInfo[]; pending?: Promise<void>; error?: string } = { mtimeMs, jobs: e?.jobs };
    entry.pending = studyCliOutput(this.cliOptions(), ['study', 'jobs', file, '--out', this.outDir(file), '--json']).then(
      out => { entry.jobs = parseJobsJson(out); },
      (err: Error) => { entry.jobs = undefined; entry.error = err.message; this.output.appendLine(`[study] estimate of ${file}: ${err.message}`); },
    ).finally(() => {
      entry.pending = undefined;
      this.changed.fire(file);
    });
    this.estimates.set(file, entry);
    return undefined;
  }

  /** Drops the estimate (results were written: the done flags changed). */
  invalidate(file: string): void {
    this.estimates.delete(file);
    this.changed.fire(file);
  }

  /** Drops every estimate not being asked for (the results index changed: another run or the CLI wrote results). */
  invalidateAll(): void {
    for (const [file, e] of this.estimates) if (!e.pending) this.invalidate(file);
  }

  // ---- running a study ----------------------------------------------------------------------------------------------
  /** Runs every unfinished job of the study; resolves when the CLI exited (never rejects; the user was told). */
  async run(file: string): Promise<StudyRunResult | undefined> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage('ntk-lens runs nothing in an untrusted workspace: trust this folder to run studies.');
      return undefined;
    }
    if (this.running) {
      void vscode.window.showWarningMessage(`A study is running (${vscode.workspace.asRelativePath(this.running.file)}): cancel it first.`);
      return undefined;
    }
    const doc = vscode.workspace.textDocuments.find(d => d.uri.fsPath === file);
    if (doc?.isDirty) await doc.save(); // the CLI reads the file from disk
    const parsed = readStudy(file);
    if (!parsed.study) {
      void vscode.window.showErrorMessage(`${path.basename(file)} has ${parsed.errors.length} problem(s); the first: ${parsed.errors[0]?.line}:${parsed.errors[0]?.column} ${parsed.errors[0]?.message}`);
      return undefined;
    }
    this.sessions.delete(file); // the jobs as the file now says
    const controller = new AbortController();
    const promise = this.execute(file, controller);
    this.running = { file, controller, promise };
    this.changed.fire(file);
    try {
      return await promise;
    } finally {
      this.running = undefined;
      this.invalidate(file);
    }
  }

  cancel(file?: string): boolean {
    if (!this.running || (file !== undefined && this.running.file !== file)) return false;
    this.running.controller.abort();
    return true;
  }

  private execute(file: string, controller: AbortController): Promise<StudyRunResult> {
    const out = this.outDir(file);
    const rel = vscode.workspace.asRelativePath(file);
    const args = ['study', 'run', file, '--out', out, '--events'];
    this.output.appendLine(`[study] ${this.cliOptions().cli} ${args.join(' ')}`);
    this.update(file, s => ({ ...s, running: true, finished: undefined }));
    return Promise.resolve(vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Study ${rel}`, cancellable: true },
      async (progress, token) => {
        token.onCancellationRequested(() => controller.abort());
        let tableCurrent = false; // a table event came after the last job that finished
        let reported = 0;
        const r = await runStudyCli(this.cliOptions(), args, {
          signal: controller.signal,
          collectStdout: false,
          onStderrLine: line => this.output.appendLine(`[study] ${line}`),
          onStdoutLine: line => {
            const e = parseStudyEvent(line);
            if (!e) {
              if (line.trim()) this.output.appendLine(`[study stdout] ${line}`);
              return;
            }
            if (e.type === 'job') {
              if (e.state === 'done' || e.state === 'failed' || e.state === 'skipped') tableCurrent = false;
              if (e.state === 'failed') this.output.appendLine(`[study] job ${e.index} failed${e.exitCode !== undefined ? ` (exit code ${e.exitCode})` : ''}${e.reason ? `: ${e.reason}` : ''}; its log: ${e.logFile ?? '?'}`);
            }
            if (e.type === 'table') tableCurrent = true;
            if (e.type === 'warning') this.output.appendLine(`[study] warning: ${e.message}`);
            if (e.type === 'note') this.output.appendLine(`[study] ${e.message}`);
            this.update(file, s => applyStudyEvent(s, e));
            const c = jobCounts(this.session(file).jobs);
            const fraction = c.total ? Math.floor((100 * (c.done + c.failed)) / c.total) : 0;
            progress.report({ message: `${c.done}/${c.total} done${c.failed ? `, ${c.failed} failed` : ''}${c.running ? `, ${c.running} running` : ''}`, increment: fraction - reported });
            reported = fraction;
          },
        });
        const c = jobCounts(this.session(file).jobs);
        const fin = this.session(file).finished;
        const result: StudyRunResult = { done: fin?.done ?? c.done, failed: fin?.failed ?? c.failed, cancelled: r.cancelled || r.code === 130, code: r.code };
        if (!result.cancelled && r.code !== 0 && r.code !== 1) result.error = describeFailure(r, 'ntk-lens study run');
        if (r.killed) this.output.appendLine(`[study] the CLI did not stop within ${this.graceMs} ms of SIGINT: killed (SIGKILL)`);
        this.update(file, s => ({
          ...s, running: false,
          jobs: s.jobs.map(j => (j.state === 'started' || (result.cancelled && j.state === 'queued') ? { ...j, state: 'cancelled' as const } : j)),
          finished: { done: result.done, failed: result.failed, cancelled: result.cancelled || undefined, error: result.error },
        }));
        // the table as the store has it, unless the run ended normally with a table after its last job
        // (not after a file error, exit 2: nothing ran)
        const settled = tableCurrent && !result.cancelled && (r.code === 0 || r.code === 1);
        if (!settled && r.code !== 2) await this.refreshTable(file).catch((err: Error) => this.output.appendLine(`[study] table: ${err.message}`));
        this.report(rel, result);
        return result;
      },
    ));
  }

  private report(rel: string, r: StudyRunResult): void {
    this.output.appendLine(`[study] ${rel}: ${r.cancelled ? 'cancelled; ' : ''}${r.done} done, ${r.failed} failed${r.error ? `; ${r.error}` : ''}`);
    const showLog = (choice: string | undefined) => { if (choice === 'Show log') this.output.show(true); };
    if (r.error) void vscode.window.showErrorMessage(`ntk-lens: ${r.error}`, 'Show log').then(showLog);
    else if (r.cancelled) void vscode.window.showInformationMessage(`Study ${rel} cancelled: ${r.done} job(s) done; the next run reuses them.`);
    else if (r.failed) void vscode.window.showWarningMessage(`Study ${rel}: ${r.done} done, ${r.failed} failed (each failed job's log is in the study panel).`, 'Show log').then(showLog);
    else void vscode.window.showInformationMessage(`Study ${rel}: ${r.done} job(s) done.`);
  }

  // ---- the table ------------------------------------------------------------------------------------------------
  /** Rebuilds the study's table from the store: `study report FILE --out DIR --format json`. */
  async refreshTable(file: string): Promise<StudyTableJson[]> {
    const text = await studyCliOutput(this.cliOptions(), ['study', 'report', file, '--out', this.outDir(file), '--format', 'json']);
    const tables = JSON.parse(text) as unknown;
    if (!isStudyTables(tables)) throw new Error('study report --format json did not print study tables');
    this.update(file, s => ({ ...s, tables, tableSource: 'report' }));
    return tables;
  }

  /** The table in one of the report formats, as `study report` prints it. */
  tableText(file: string, format: TableFormatName): Promise<string> {
    return studyCliOutput(this.cliOptions(), ['study', 'report', file, '--out', this.outDir(file), '--format', format]);
  }

  /** `study submit FILE --slurm ...`: resolves with what the CLI (and Slurm) answered on stdout. */
  submit(file: string, opts: { partition?: string; time?: string; maxParallel?: number }): Promise<string> {
    const args = ['study', 'submit', file, '--slurm', '--out', this.outDir(file)];
    if (opts.partition) args.push('--partition', opts.partition);
    if (opts.time) args.push('--time', opts.time);
    if (opts.maxParallel) args.push('--max-parallel', String(opts.maxParallel));
    this.output.appendLine(`[study] ${this.cliOptions().cli} ${args.join(' ')}`);
    return studyCliOutput(this.cliOptions(), args);
  }

  /** Waits for the running study, if any (deactivate). */
  async stop(): Promise<void> {
    const r = this.running;
    if (!r) return;
    r.controller.abort();
    await r.promise.catch(() => undefined);
  }

  dispose(): void {
    this.running?.controller.abort();
    this.changed.dispose();
  }
}
