#!/usr/bin/env node
/**
 * ntk-lens command line.
 *
 *   ntk-lens run FILE.ntk.yaml [--template NAME]... [--seeds 13,42] [--out DIR] [--backend B] [--json]
 *   ntk-lens kernel FILE.ntk.yaml [same options]      kernels (.npy) and kernel predictions only, no fine-tuning
 *   ntk-lens validate FILE.ntk.yaml                   problems of the file, as file:line:column
 *   ntk-lens pretrain [options]                       pre-train the built-in model (see `ntk-lens pretrain --help`)
 *
 * Progress goes to stderr, the result table (or JSON with --json) to stdout.
 * Exit codes: 0 done; 1 the run failed; 2 usage or experiment-file error; 130 cancelled (Ctrl-C), finished seeds kept.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SpecErrors } from '../spec';
import { isAbortError } from '../util/abort';
import { eventLine, reportTable } from './format';
import { runExperiment, validateSpecFile, type RunOptions } from './experiment';
import type { RunEvent } from '../report/types';

export const EXIT = { ok: 0, failed: 1, usage: 2, cancelled: 130 } as const;

const USAGE = `usage:
  ntk-lens run FILE.ntk.yaml [--template NAME]... [--seeds 13,42] [--out DIR] [--backend auto|wasm|cpu|webgpu|tensorflow] [--memory-mb N] [--json]
  ntk-lens kernel FILE.ntk.yaml [same options]    kernels only: writes the .npy files, no fine-tuning
  ntk-lens validate FILE.ntk.yaml
  ntk-lens pretrain --help`;

export class UsageError extends Error {}

export interface ParsedArgs {
  command: 'run' | 'kernel' | 'validate';
  file: string;
  options: RunOptions;
  json: boolean;
}

export function parseArgs(argv: string[]): ParsedArgs {
  const [command, ...rest] = argv;
  if (command !== 'run' && command !== 'kernel' && command !== 'validate') throw new UsageError(command ? `unknown command '${command}'` : 'no command given');
  const options: RunOptions = {};
  let file: string | undefined;
  let json = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    const value = () => {
      const v = rest[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--template':
        (options.templates ??= []).push(value());
        break;
      case '--seeds':
        options.seeds = value().split(',').map((s) => {
          const n = Number(s);
          if (!Number.isInteger(n)) throw new UsageError(`--seeds: '${s}' is not an integer`);
          return n;
        });
        break;
      case '--out':
        options.resultsDir = path.resolve(value());
        break;
      case '--backend': {
        const b = value();
        if (!['auto', 'wasm', 'cpu', 'webgpu', 'tensorflow'].includes(b)) throw new UsageError(`--backend: '${b}' is not one of auto, wasm, cpu, webgpu, tensorflow`);
        options.backend = b as RunOptions['backend'];
        break;
      }
      case '--memory-mb':
        options.memoryBudgetMB = Number(value());
        if (!(options.memoryBudgetMB > 0)) throw new UsageError('--memory-mb needs a positive number');
        break;
      case '--json':
        json = true;
        break;
      default:
        if (a.startsWith('--')) throw new UsageError(`unknown option ${a}`);
        if (file) throw new UsageError(`one experiment file at a time (got '${file}' and '${a}')`);
        file = a;
    }
  }
  if (!file) throw new UsageError('no experiment file given');
  if (!fs.existsSync(file)) throw new UsageError(`${file}: no such file`);
  if (command === 'kernel') options.kernelsOnly = true;
  return { command, file, options, json };
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

export async function main(argv: string[], io: CliIO = STDIO): Promise<number> {
  if (argv[0] === 'pretrain') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { pretrainMain } = require('../pretrain/cli') as { pretrainMain: (argv: string[]) => Promise<void> };
    await pretrainMain(argv.slice(1));
    return EXIT.ok;
  }
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h') {
    io.out(USAGE + '\n');
    return argv.length === 0 ? EXIT.usage : EXIT.ok;
  }
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`ntk-lens: ${e.message}\n${USAGE}\n`);
      return EXIT.usage;
    }
    throw e;
  }
  if (args.command === 'validate') {
    const { diagnostics } = await validateSpecFile(args.file, fs.readFileSync(args.file, 'utf8'));
    for (const d of diagnostics) io.out(`${path.resolve(args.file)}:${d.line}:${d.column}: ${d.severity}: ${d.message}\n`);
    if (diagnostics.length === 0) io.out(`${args.file}: no problems\n`);
    return diagnostics.some((d) => d.severity === 'error') ? EXIT.usage : EXIT.ok;
  }
  const controller = new AbortController();
  const onSigint = () => {
    io.err('\ncancelling after the current step (finished seeds are kept; press Ctrl-C again to quit at once)\n');
    if (controller.signal.aborted) process.exit(EXIT.cancelled);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const report = await runExperiment(args.file, { ...args.options, signal: controller.signal, onEvent: progressPrinter(io.err) });
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

/**
 * Exits once stdout and stderr have flushed. Writes to a pipe are asynchronous in Node: process.exit right after a
 * large write (the --json report) cut it off at 64 KiB for `ntk-lens run --json | jq`.
 */
function exitAfterFlush(code: number): void {
  let pending = 2;
  const done = () => { if (--pending === 0) process.exit(code); };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => exitAfterFlush(code),
    (e) => {
      process.stderr.write(`ntk-lens: ${(e as Error).stack ?? e}\n`);
      exitAfterFlush(EXIT.failed);
    },
  );
}
