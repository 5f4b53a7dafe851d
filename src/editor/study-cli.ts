/**
 * The study commands run as child processes of the extension: `ntk-lens study run|jobs|report|submit …` from the
 * extension's own CLI bundle (dist/cli.js), started with the extension host's Node (`process.execPath`; under
 * Electron with ELECTRON_RUN_AS_NODE, as fork does for the worker). The extension host never loads the engine.
 * Output arrives line by line; cancel sends SIGINT once (the CLI stops its jobs after their current step and keeps
 * what finished), then SIGKILL after a grace period.
 *
 * Architecture Invariant: no `vscode` import (plain mocha runs it against stand-in scripts).
 */
import { spawn } from 'child_process';
import { LineSplitter } from './study-events';

export interface StudyCliOptions {
  /** The CLI script: dist/cli.js (tests: a stand-in printing the same lines). */
  cli: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** After SIGINT, how long before SIGKILL (default 10 s: a job stops after its current step). */
  graceMs?: number;
}

export interface CliRunHooks {
  onStdoutLine?(line: string): void;
  onStderrLine?(line: string): void;
  /** Aborting sends SIGINT, then SIGKILL after graceMs. */
  signal?: AbortSignal;
  /** Keep all of stdout in the result (default true; a long `study run` passes false). */
  collectStdout?: boolean;
  /** Called with the child's pid once it started. */
  onStart?(pid: number | undefined): void;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** The tail of stderr (the last STDERR_TAIL characters). */
  stderr: string;
  /** The signal aborted it. */
  cancelled: boolean;
  /** It did not stop within the grace period after SIGINT and was SIGKILLed. */
  killed: boolean;
}

const STDERR_TAIL = 16000;

export class StudyCliError extends Error {
  constructor(message: string, readonly result: CliResult) {
    super(message);
    this.name = 'StudyCliError';
  }
}

/** Runs `node CLI ...args` and resolves when it exited (never rejects: the caller reads code / signal / cancelled). */
export function runStudyCli(opts: StudyCliOptions, args: string[], hooks: CliRunHooks = {}): Promise<CliResult> {
  return new Promise(resolve => {
    const env: NodeJS.ProcessEnv = { ...(opts.env ?? process.env) };
    if (process.versions.electron) env.ELECTRON_RUN_AS_NODE = '1';
    const child = spawn(process.execPath, [opts.cli, ...args], { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    hooks.onStart?.(child.pid);
    let stdout = '', stderr = '', cancelled = false, killed = false, settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const collect = hooks.collectStdout !== false;
    const out = new LineSplitter(l => hooks.onStdoutLine?.(l));
    const err = new LineSplitter(l => hooks.onStderrLine?.(l));
    child.stdout!.on('data', (c: Buffer) => { if (collect) stdout += c.toString(); out.push(c); });
    child.stderr!.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-STDERR_TAIL); err.push(c); });
    const onAbort = () => {
      if (cancelled || settled) return;
      cancelled = true;
      child.kill('SIGINT');
      killTimer = setTimeout(() => { killed = true; child.kill('SIGKILL'); }, opts.graceMs ?? 10000);
    };
    if (hooks.signal?.aborted) onAbort();
    else hooks.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(killTimer);
      hooks.signal?.removeEventListener('abort', onAbort);
      out.end();
      err.end();
      resolve({ code, signal, stdout, stderr, cancelled, killed });
    };
    child.on('error', e => { stderr += `\ncannot start ${process.execPath} ${opts.cli}: ${e.message}`; finish(null, null); });
    // 'close' (not 'exit'): every byte of stdout and stderr has been read
    child.on('close', (code, signal) => finish(code, signal));
  });
}

/** "exit code 2: <the first stderr lines>" for an error message. */
export function describeFailure(r: CliResult, what: string): string {
  const how = r.signal ? `was killed by ${r.signal}` : r.code === null ? 'could not start' : `exited with code ${r.code}`;
  const lines = r.stderr.split(/\r?\n/).filter(l => l.trim() && !l.startsWith('usage:') && !l.startsWith('  study '));
  return `${what} ${how}${lines.length ? `: ${lines.slice(0, 6).join(' / ')}` : ''}`;
}

/** Runs a short study command and returns its stdout; a non-zero exit rejects with a StudyCliError. */
export async function studyCliOutput(opts: StudyCliOptions, args: string[], signal?: AbortSignal): Promise<string> {
  const r = await runStudyCli(opts, args, { signal });
  if (r.code !== 0) throw new StudyCliError(describeFailure(r, `ntk-lens ${args.slice(0, 2).join(' ')}`), r);
  return r.stdout;
}

/** One row of `study jobs FILE --json`, as far as the editor reads it. */
export interface StudyJobInfo {
  index: number;
  label: string;
  done: boolean;
  key: string | null;
  estimate: { memoryMB: number; seconds: number };
}

/** Parses `study jobs --json` output; throws on anything else. */
export function parseJobsJson(text: string): StudyJobInfo[] {
  const v = JSON.parse(text) as unknown;
  if (!Array.isArray(v)) throw new Error('study jobs --json did not print a list');
  return v.map((r, i) => {
    const row = r as Partial<StudyJobInfo> | null;
    const est = row?.estimate;
    if (!row || row.index !== i || typeof row.label !== 'string' || !est || typeof est.seconds !== 'number' || typeof est.memoryMB !== 'number') {
      throw new Error(`study jobs --json: row ${i} is not a job (${JSON.stringify(r).slice(0, 120)})`);
    }
    return { index: i, label: row.label, done: row.done === true, key: typeof row.key === 'string' ? row.key : null, estimate: { seconds: est.seconds, memoryMB: est.memoryMB } };
  });
}
