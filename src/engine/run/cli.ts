#!/usr/bin/env node
/**
 * ntk-lens command line (the package's `bin`, bundled as dist/cli.js; from a checkout `npx tsx src/engine/run/cli.ts`).
 *
 *   ntk-lens run FILE.ntk.yaml [--template NAME]... [--seeds 13,42] [--out DIR] [--backend B] [--memory-mb N] [--json]
 *   ntk-lens kernel FILE.ntk.yaml [same options]      kernels (.npy) and kernel predictions only, no fine-tuning
 *   ntk-lens validate FILE.ntk.yaml                   every problem found without computing, as file:line:column
 *   ntk-lens pretrain [options]                       pre-train the built-in model (see `ntk-lens pretrain --help`)
 *   ntk-lens COMMAND --help | ntk-lens --help | ntk-lens --version
 *
 * Help and the version go to stdout; progress and every error to stderr; the result table (or the report as JSON with
 * --json) and validate's problems to stdout.
 * Exit codes: 0 done; 1 the run failed; 2 usage or experiment-file error; 130 cancelled (Ctrl-C), finished seeds kept.
 *
 * This file is the only entry point: the modules it imports (pretrain/cli.ts too) export functions and never check
 * `require.main`, which in the esbuild bundle is every module's main.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { version as VERSION } from '../../../package.json';
import { parsePretrainArgs, pretrainMain, PRETRAIN_USAGE } from '../pretrain/cli';
import { studyMain } from '../study/cli';
import { defaultWorkers, runPairsInParallel } from './parallel-run';
import { didYouMean, SpecErrors } from '../spec';
import { isAbortError, throwIfAborted } from '../util/abort';
import { eventLine, reportTable } from './format';
import { runExperiment, validateSpecFile, type RunOptions } from './experiment';
import type { RunEvent } from '../report/types';

export const EXIT = { ok: 0, failed: 1, usage: 2, cancelled: 130 } as const;

export { VERSION };

const COMMANDS = ['run', 'kernel', 'validate', 'pretrain'] as const;

const RUN_OPTIONS = `options:
  --template NAME     only this template of the file (repeat for several; default: all)
  --seeds 13,42       only these seeds (default: the file's)
  --out DIR           results folder (default: .ntk beside the file); finished seeds there are reused
  --backend B         auto | wasm | cpu | webgpu | tensorflow (default: the file's backend)
  --memory-mb N       memory for per-example gradients, in MB (default: half the free memory)
  --workers N         run the unfinished (template, seed) pairs as N parallel processes (default: the cores; 1: this process only)
  --tile I            a tile job: compute only kernel tile I (1..kernel.tiles) of each unfinished seed into the results
                      folder, where the seed's run merges the tiles (the executors start these jobs themselves)
  --json              print the report as JSON instead of the table
  -h, --help          this help`;

const EXIT_CODES = 'exit codes: 0 done, 1 the run failed, 2 usage or experiment-file error, 130 cancelled (Ctrl-C: stops after the current step; finished seeds are kept and reused)';

/** Each command's usage, printed by `ntk-lens COMMAND --help` (stdout) and after a usage error (stderr). */
export const COMMAND_USAGE: Record<(typeof COMMANDS)[number], string> = {
  run: `usage: ntk-lens run FILE.ntk.yaml [options]
Fine-tunes the model and computes its empirical NTK for every template and seed of the file; prints the comparison.
${RUN_OPTIONS}
${EXIT_CODES}`,
  kernel: `usage: ntk-lens kernel FILE.ntk.yaml [options]
Computes the kernels (.npy, float64 [N, C, M, C]) and the kernel predictions only: no fine-tuning.
${RUN_OPTIONS}
${EXIT_CODES}`,
  validate: `usage: ntk-lens validate FILE.ntk.yaml
Prints every problem found without computing anything (the file, its data, the checkpoint's config and safetensors
headers, the tokenizer, templates and label words) as file:line:column: severity: message.
options:
  -h, --help          this help
exit codes: 0 no errors (warnings and notes allowed), 2 errors or a usage error`,
  pretrain: PRETRAIN_USAGE,
};

export const USAGE = `usage: ntk-lens COMMAND [options]
  ntk-lens run FILE.ntk.yaml [--template NAME]... [--seeds 13,42] [--out DIR] [--backend auto|wasm|cpu|webgpu|tensorflow] [--memory-mb N] [--json]
  ntk-lens kernel FILE.ntk.yaml [same options]    kernels only: writes the .npy files, no fine-tuning
  ntk-lens validate FILE.ntk.yaml                 every problem found without computing, as file:line:column
  ntk-lens pretrain [options]                     pre-train the built-in model
  ntk-lens study COMMAND FILE.ntk-study.yaml      studies: init, check, jobs, job, run, submit, status, resubmit, report
  ntk-lens COMMAND --help                         a command's options
  ntk-lens --version`;

/** A mistake in the command line: exit 2, the message and the command's usage on stderr. */
export class UsageError extends Error {
  constructor(message: string, readonly command?: (typeof COMMANDS)[number]) {
    super(message);
  }
}

export interface ParsedArgs {
  command: 'run' | 'kernel' | 'validate';
  file: string;
  options: RunOptions;
  json: boolean;
  /** Parallel (template, seed) jobs (run/kernel; default: the cores). */
  workers?: number;
}

/** `{ help }` when the command's help is asked for (anywhere after the command), else the parsed arguments. */
export function parseArgs(argv: string[]): ParsedArgs | { help: ParsedArgs['command'] } {
  const [command, ...rest] = argv;
  if (command !== 'run' && command !== 'kernel' && command !== 'validate') {
    throw new UsageError(command ? `unknown command '${command}'.${didYouMean(command, COMMANDS)}` : 'no command given');
  }
  if (rest.some((a) => a === '--help' || a === '-h')) return { help: command };
  const usage = (message: string): UsageError => new UsageError(message, command);
  const options: RunOptions = {};
  let file: string | undefined;
  let json = false;
  let workers: number | undefined;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const value = (): string => {
      const v = rest[++i];
      if (v === undefined || v.startsWith('--')) throw usage(`${a} needs a value`);
      return v;
    };
    if (command === 'validate' && a.startsWith('-')) throw usage(`unknown option ${a} (validate takes only the file)`);
    switch (a) {
      case '--template':
        (options.templates ??= []).push(value());
        break;
      case '--seeds':
        options.seeds = value().split(',').map((s) => {
          const n = Number(s);
          if (s.trim() === '' || !Number.isInteger(n) || n < 0) throw usage(`--seeds: '${s}' is not an integer ≥ 0`);
          return n;
        });
        break;
      case '--out':
        options.resultsDir = path.resolve(value());
        break;
      case '--backend': {
        const b = value();
        if (!['auto', 'wasm', 'cpu', 'webgpu', 'tensorflow'].includes(b)) throw usage(`--backend: '${b}' is not one of auto, wasm, cpu, webgpu, tensorflow`);
        options.backend = b as RunOptions['backend'];
        break;
      }
      case '--memory-mb':
        options.memoryBudgetMB = Number(value());
        if (!(options.memoryBudgetMB > 0)) throw usage('--memory-mb needs a positive number');
        break;
      case '--json':
        json = true;
        break;
      case '--workers':
        workers = Number(value());
        if (!(Number.isInteger(workers) && workers >= 1)) throw usage('--workers needs an integer ≥ 1');
        break;
      case '--tile': {
        const t = Number(value());
        if (!(Number.isInteger(t) && t >= 1)) throw usage('--tile needs an integer ≥ 1 (tiles count from 1)');
        options.kernelTile = t - 1;
        break;
      }
      default:
        if (a.startsWith('-')) throw usage(`unknown option ${a}.${didYouMean(a, ['--template', '--seeds', '--out', '--backend', '--memory-mb', '--workers', '--tile', '--json', '--help'])}`);
        if (file) throw usage(`one experiment file at a time (got '${file}' and '${a}')`);
        file = a;
    }
  }
  if (!file) throw usage('no experiment file given');
  if (!fs.existsSync(file)) throw usage(`${file}: no such file`);
  if (!fs.statSync(file).isFile()) throw usage(`${file}: not a file`);
  if (command === 'kernel') options.kernelsOnly = true;
  return { command, file, options, json, workers };
}

/** Prints progress to stderr: every phase and log line, step events at most once a second per phase. */
function progressPrinter(write: (s: string) => void): (e: RunEvent) => void {
  const last = new Map<string, number>();
  return (e) => {
    if (e.type === 'step') {
      const k = `${e.phase}`;
      const now = Date.now();
      if (e.step !== e.total && now - (last.get(k) ?? 0) < 1000) return;
      last.set(k, now);
    }
    const line = eventLine(e);
    if (line) write(line + '\n');
  };
}

export interface CliIO {
  out(s: string): void;
  err(s: string): void;
}

const STDIO: CliIO = { out: (s) => void process.stdout.write(s), err: (s) => void process.stderr.write(s) };

/**
 * A signal repeated within this time is the same signal: wrappers relay the terminal's Ctrl-C again (npx to tsx, tsx
 * to its child, the relay below), and a handler that was blocked behind a computing step sees all copies at once.
 */
export const SAME_SIGNAL_MS = 1000;

/** Runs the command line `argv` (without `node cli.js`); resolves to the exit code. */
export async function main(argv: string[], io: CliIO = STDIO): Promise<number> {
  if (argv.length === 0) {
    io.err(`${USAGE}\n`);
    return EXIT.usage;
  }
  if (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.out(`${USAGE}\n`);
    return EXIT.ok;
  }
  if (argv[0] === '--version' || argv[0] === '-V') {
    io.out(`${VERSION}\n`);
    return EXIT.ok;
  }
  if (argv[0] === 'pretrain') return pretrainCommand(argv.slice(1), io);
  if (argv[0] === 'study') return studyMain(argv.slice(1), io);
  let args: ParsedArgs;
  try {
    const parsed = parseArgs(argv);
    if ('help' in parsed) {
      io.out(`${COMMAND_USAGE[parsed.help]}\n`);
      return EXIT.ok;
    }
    args = parsed;
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`ntk-lens: ${e.message}\n${e.command ? COMMAND_USAGE[e.command] : USAGE}\n`);
      return EXIT.usage;
    }
    throw e;
  }
  if (args.command === 'validate') return validateCommand(args.file, io);
  return runCommand(args, io);
}

/** `ntk-lens validate`: every problem as file:line:column: severity: message on stdout; exit 2 on errors. */
async function validateCommand(file: string, io: CliIO): Promise<number> {
  const { diagnostics } = await validateSpecFile(file, fs.readFileSync(file, 'utf8'));
  for (const d of diagnostics) io.out(`${path.resolve(file)}:${d.line}:${d.column}: ${d.severity}: ${d.message}\n`);
  if (diagnostics.length === 0) io.out(`${file}: no problems\n`);
  return diagnostics.some((d) => d.severity === 'error') ? EXIT.usage : EXIT.ok;
}

/** `ntk-lens run` / `kernel`: the first Ctrl-C cancels after the current step, a later one quits at once. */
async function runCommand(args: ParsedArgs, io: CliIO): Promise<number> {
  const controller = new AbortController();
  let firstAt = 0;
  const onSigint = (): void => {
    if (!controller.signal.aborted) {
      firstAt = Date.now();
      io.err('\ncancelling after the current step (finished seeds are kept; press Ctrl-C again to quit at once)\n');
      controller.abort();
    } else if (Date.now() - firstAt > SAME_SIGNAL_MS) {
      io.err('ntk-lens: quit at once; seeds finished before are kept in the results folder\n');
      process.exit(EXIT.cancelled);
    }
  };
  process.on('SIGINT', onSigint);
  try {
    // Several unfinished (template, seed) pairs: run them as parallel jobs on the free cores first (run/parallel-run.ts);
    // the run below then finds them in the results store and only summarises.
    const started = Date.now();
    const workers = args.options.kernelTile !== undefined ? 1 : args.workers ?? defaultWorkers();
    if (workers > 1) {
      await runPairsInParallel(args.file, { ...args.options, workers, signal: controller.signal, onLine: (l) => io.err(`${l}\n`) })
        .catch((e) => { if (e instanceof SpecErrors || isAbortError(e)) throw e; io.err(`ntk-lens: parallel jobs not used (${(e as Error).message}); running in this process\n`); });
      throwIfAborted(controller.signal, 'run (parallel jobs cancelled)');
    }
    const report = await runExperiment(args.file, { ...args.options, signal: controller.signal, onEvent: progressPrinter(io.err) });
    if (args.options.kernelTile !== undefined) {
      io.out(`kernel tile ${args.options.kernelTile + 1} stored in ${args.options.resultsDir ?? '.ntk beside the file'} for every unfinished seed\n`);
      return EXIT.ok;
    }
    report.seconds = (Date.now() - started) / 1000; // the parallel jobs included
    io.out(args.json ? JSON.stringify(report, null, 2) + '\n' : reportTable(report) + '\n');
    return EXIT.ok;
  } catch (e) {
    if (isAbortError(e)) {
      io.err(`ntk-lens: cancelled (${(e as Error).message}); finished seeds are in the results folder and will be reused\n`);
      return EXIT.cancelled;
    }
    if (e instanceof SpecErrors) {
      io.err(`${e.message}\n`);
      return EXIT.usage;
    }
    io.err(`ntk-lens: ${(e as Error).message}\n`);
    if (process.env.NTK_LENS_DEBUG) io.err(`${(e as Error).stack}\n`);
    return EXIT.failed;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** `ntk-lens pretrain`: its own options (pretrain/cli.ts); a bad option is a usage error (exit 2). */
async function pretrainCommand(argv: string[], io: CliIO): Promise<number> {
  let help: boolean;
  try {
    help = parsePretrainArgs(argv).help;
  } catch (e) {
    io.err(`ntk-lens: ${(e as Error).message}\n`);
    return EXIT.usage;
  }
  if (help) {
    io.out(`${PRETRAIN_USAGE}\n`);
    return EXIT.ok;
  }
  try {
    await pretrainMain(argv);
    return EXIT.ok;
  } catch (e) {
    io.err(`ntk-lens: ${(e as Error).message}\n`);
    if (process.env.NTK_LENS_DEBUG) io.err(`${(e as Error).stack}\n`);
    return EXIT.failed;
  }
}

/**
 * Exits once stdout and stderr have flushed. Writes to a pipe are asynchronous in Node: process.exit right after a
 * large write (the --json report) cut it off at 64 KiB for `ntk-lens run --json | jq`.
 */
function exitAfterFlush(code: number): void {
  let pending = 2;
  const done = (): void => { if (--pending === 0) process.exit(code); };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

/** Set in the process that `relayUnderTsx` starts, so that it does the work itself. */
const RELAYED_ENV = 'NTK_LENS_RELAYED';

/**
 * True in the child process of the tsx CLI (`npx tsx src/engine/run/cli.ts …`, `npm start`). That parent relays each
 * SIGINT/SIGTERM to its child and, unless the child's event loop acknowledges it within 30 ms, sends it again and
 * then SIGKILLs the child. A run's event loop is blocked for the whole of a computing step, so Ctrl-C used to kill
 * it silently: no "cancelling" line, no "cancelled" line, exit 130 from tsx (with npx in front, which forwards Ctrl-C
 * to tsx once more, always).
 */
export function underTsxRelay(execArgv = process.execArgv, env: NodeJS.ProcessEnv = process.env): boolean {
  return !env[RELAYED_ENV] && execArgv.some((a) => /[\\/]tsx[\\/]dist[\\/]preflight\.c?js$/.test(a));
}

/**
 * Under tsx: does the work in a child process started the same way (same node options, so the same TypeScript
 * loader) and stays idle, so that tsx's relay is acknowledged at once and never escalates to SIGKILL. The child is in
 * the same process group, so a terminal's Ctrl-C reaches it directly; the signals this process gets (from the
 * terminal, or relayed by tsx when only tsx was signalled) are forwarded once per SAME_SIGNAL_MS, and the child
 * takes copies within that time for one. Resolves to the child's exit code (128 + n when a signal n ended it).
 */
export function relayUnderTsx(argv: string[]): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, __filename, ...argv], {
    stdio: 'inherit',
    env: { ...process.env, [RELAYED_ENV]: '1' },
  });
  const forwarded = new Map<NodeJS.Signals, number>();
  const forward = (signal: NodeJS.Signals): void => {
    const now = Date.now();
    if (now - (forwarded.get(signal) ?? -Infinity) <= SAME_SIGNAL_MS) return;
    forwarded.set(signal, now);
    child.kill(signal);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, forward);
  return new Promise((resolve) => {
    child.on('error', (e) => {
      process.stderr.write(`ntk-lens: cannot start ${process.execPath}: ${e.message}\n`);
      resolve(EXIT.failed);
    });
    child.on('exit', (code, signal) => {
      for (const s of signals) process.off(s, forward);
      resolve(code ?? 128 + (signal ? os.constants.signals[signal] ?? 0 : 0));
    });
  });
}

if (require.main === module) {
  const argv = process.argv.slice(2);
  const long = ['run', 'kernel', 'pretrain'].includes(argv[0]) && !argv.includes('--help') && !argv.includes('-h');
  (long && underTsxRelay() ? relayUnderTsx(argv) : main(argv)).then(
    (code) => exitAfterFlush(code),
    (e) => {
      process.stderr.write(`ntk-lens: ${(e as Error).stack ?? e}\n`);
      exitAfterFlush(EXIT.failed);
    },
  );
}
