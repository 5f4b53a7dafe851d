/**
 * Entry of the engine worker process (bundled to dist/worker.js, forked by src/worker-client.ts with an IPC channel).
 * It announces itself with `ready` (carrying PROTOCOL_VERSION), then serves HostToWorker requests:
 *   run         → with options.workers > 1 (0 or absent: the cores) and several unfinished (template, seed) pairs,
 *                 first runPairsInParallel: the pairs as parallel jobs, child processes of THIS process through the
 *                 local executor (never of the extension host), its lines as `log` events and its counts as `jobs`
 *                 events; then runExperiment (which finds those seeds in the store and summarises), streaming every
 *                 RunEvent, then `result` (or `cancelled` / `error`). Cancel aborts both (the executor kills the jobs).
 *   cancel      → aborts that run's AbortController
 *   validate    → validateSpecFile (engine validator: template pieces, mask, label words as tokens of the model)
 *   labelTokens → token ids of label words in the file's model, when the engine offers it
 *   shutdown    → aborts everything and exits once the runs have settled (at most SHUTDOWN_WAIT_MS)
 * It exits when the parent disconnects, so a closed window never leaves an orphan computing.
 *
 * The engine module is ./experiment; NTK_LENS_ENGINE may name another module with the same exports (tests only).
 */
import * as os from 'os';
import { PROTOCOL_VERSION, isHostToWorker } from '../../protocol';
import type { EngineDiagnostic, HostToWorker, LabelTokensResultMessage, RunOptions, WorkerToHost } from '../../protocol';
import type { Report, RunEvent } from '../report/types';
import type { LocalEvent, LocalResult } from '../study/local-executor';

/** Engine run options: the protocol's, less `workers` (the worker's own business). */
type EngineRunOptions = Omit<RunOptions, 'workers'>;

/** What the worker gives runPairsInParallel (run/parallel-run.ts ParallelOptions, the part it uses). */
export interface ParallelRunOptions extends EngineRunOptions {
  workers: number;
  signal?: AbortSignal;
  onLine?: (line: string) => void;
  onJob?: (e: LocalEvent) => void;
  cancelGraceMs?: number;
}

/**
 * How long cancelled jobs get after SIGINT before SIGKILL: under the client's grace (worker-client.ts, 5 s) before it
 * kills this process, so that the executor has killed every job and the worker answers `cancelled` in time.
 */
export const JOB_CANCEL_GRACE_MS = 3000;
/** How long `shutdown` waits for aborted runs to settle before exiting anyway. */
export const SHUTDOWN_WAIT_MS = 2000;

/** What the worker needs from the engine (src/engine/run/experiment.ts). */
export interface EngineModule {
  runExperiment(
    specFile: string,
    opts: EngineRunOptions & { onEvent: (e: RunEvent) => void; signal?: AbortSignal },
  ): Promise<Report>;
  /**
   * Optional: the run's unfinished pairs as parallel jobs (run/parallel-run.ts; undefined when there is nothing to
   * gain). Without it, runs stay in this process whatever `workers` says.
   */
  runPairsInParallel?(specFile: string, opts: ParallelRunOptions): Promise<LocalResult | undefined>;
  validateSpecFile(specFile: string, text: string): { diagnostics: EngineDiagnostic[] } | Promise<{ diagnostics: EngineDiagnostic[] }>;
  /** Optional: token ids of label words in the model named by the spec text. */
  labelWordTokens?(
    specFile: string,
    text: string,
    words: string[],
    opts: { hubCacheDir?: string },
  ): Promise<Omit<LabelTokensResultMessage, 'type' | 'id'>>;
}

function loadEngine(): EngineModule {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const override = process.env.NTK_LENS_ENGINE;
  if (override) return require(override) as EngineModule;
  // the real engine, plus the parallel step of `ntk-lens run --workers N` (both bundled into dist/worker.js)
  const { runPairsInParallel } = require('./parallel-run') as Pick<Required<EngineModule>, 'runPairsInParallel'>;
  return { ...(require('./experiment') as EngineModule), runPairsInParallel };
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/** The processes a run may use: `workers` when a whole number ≥ 1, else (0, absent, nonsense) the cores. */
export function resolveWorkers(workers: number | undefined, cores = os.availableParallelism?.() ?? os.cpus().length): number {
  return workers !== undefined && Number.isFinite(workers) && workers >= 1 ? Math.floor(workers) : Math.max(1, cores);
}

export function serveWorker(
  engine: EngineModule,
  send: (m: WorkerToHost) => void,
  exit: (code: number) => void,
  opts: { shutdownWaitMs?: number } = {},
) {
  const runs = new Map<number, { controller: AbortController; done: Promise<void> }>();
  let shuttingDown = false;

  const errorMessage = (id: number, err: unknown): WorkerToHost => ({
    type: 'error',
    id,
    message: err instanceof Error ? err.message : String(err),
    stack: err instanceof Error ? err.stack : undefined,
  });

  function startRun(m: Extract<HostToWorker, { type: 'run' }>): void {
    const controller = new AbortController();
    const { workers: asked, ...options } = m.options;
    const workers = resolveWorkers(asked);
    const parallel = workers > 1 ? engine.runPairsInParallel : undefined;
    const log = (level: 'info' | 'warn', message: string) => send({ type: 'event', id: m.id, event: { type: 'log', level, message } });
    const done = (async () => {
      try {
        const started = Date.now();
        if (parallel) {
          try {
            await parallel(m.specFile, {
              ...options,
              workers,
              signal: controller.signal,
              cancelGraceMs: JOB_CANCEL_GRACE_MS,
              onLine: line => log('info', `parallel jobs: ${line}`),
              onJob: e => {
                if (e.type !== 'job') return;
                const c = e.counts;
                const running = c.running ? `, ${c.running} running` : '';
                const failed = c.failed ? `, ${c.failed} failed` : '';
                send({
                  type: 'event', id: m.id,
                  event: { type: 'jobs', done: c.done + c.skipped, total: c.total, running: c.running, failed: c.failed, message: `jobs ${c.done + c.skipped}/${c.total} done${running}${failed}` },
                });
              },
            });
          } catch (err) {
            // as `ntk-lens run`: errors in the file are the run's to report; anything else, the run goes on in here
            if (controller.signal.aborted || (err instanceof Error && err.name === 'SpecErrors')) throw err;
            log('warn', `parallel jobs not used (${err instanceof Error ? err.message : String(err)}); running in this process`);
          }
          if (controller.signal.aborted) throw new Error('run (parallel jobs cancelled)');
        }
        const report = await engine.runExperiment(m.specFile, {
          ...options,
          signal: controller.signal,
          onEvent: event => send({ type: 'event', id: m.id, event }),
        });
        if (parallel) report.seconds = (Date.now() - started) / 1000; // the jobs included
        send(controller.signal.aborted ? { type: 'cancelled', id: m.id } : { type: 'result', id: m.id, report });
      } catch (err) {
        send(controller.signal.aborted ? { type: 'cancelled', id: m.id } : errorMessage(m.id, err));
      } finally {
        runs.delete(m.id);
      }
    })();
    runs.set(m.id, { controller, done });
  }

  async function handle(m: HostToWorker): Promise<void> {
    switch (m.type) {
      case 'run':
        if (shuttingDown) return send({ type: 'error', id: m.id, message: 'the worker is shutting down; run again' });
        return startRun(m);
      case 'cancel':
        runs.get(m.id)?.controller.abort();
        return;
      case 'validate':
        try {
          const { diagnostics } = await engine.validateSpecFile(m.specFile, m.text);
          return send({ type: 'diagnostics', id: m.id, diagnostics });
        } catch (err) {
          return send(errorMessage(m.id, err));
        }
      case 'labelTokens':
        try {
          if (!engine.labelWordTokens) throw new Error('this engine build cannot tokenize label words (no labelWordTokens export)');
          const r = await engine.labelWordTokens(m.specFile, m.text, m.words, { hubCacheDir: m.hubCacheDir });
          return send({ type: 'labelTokens', id: m.id, ...r });
        } catch (err) {
          return send(errorMessage(m.id, err));
        }
      case 'shutdown': {
        shuttingDown = true;
        for (const r of runs.values()) r.controller.abort();
        // at most shutdownWaitMs, under the client's dispose grace (3 s) after which it SIGKILLs this process: exiting
        // ourselves runs the local executor's exit hook, which SIGKILLs parallel jobs still stopping (no orphans)
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          Promise.allSettled([...runs.values()].map(r => r.done)),
          new Promise(resolve => (timer = setTimeout(resolve, opts.shutdownWaitMs ?? SHUTDOWN_WAIT_MS))),
        ]);
        clearTimeout(timer);
        return exit(0);
      }
    }
  }

  return {
    onMessage(raw: unknown): void {
      if (!isHostToWorker(raw)) {
        process.stderr.write(`ntk-lens worker: ignored a message that is not a HostToWorker: ${JSON.stringify(raw)}\n`);
        return;
      }
      void handle(raw);
    },
    onDisconnect(): void {
      for (const r of runs.values()) r.controller.abort();
      exit(0);
    },
  };
}

function main(): void {
  if (!process.send) {
    process.stderr.write('ntk-lens worker: must be forked with an IPC channel (it is started by the extension)\n');
    process.exit(2);
  }
  const send = (m: WorkerToHost) => process.send?.(m);
  let engine: EngineModule;
  try {
    engine = loadEngine();
  } catch (err) {
    process.stderr.write(`ntk-lens worker: cannot load the engine: ${(err as Error).stack ?? err}\n`);
    process.exit(3);
  }
  const server = serveWorker(engine, send, code => process.exit(code));
  process.on('message', m => server.onMessage(m));
  process.on('disconnect', () => server.onDisconnect());
  send({ type: 'ready', protocolVersion: PROTOCOL_VERSION, pid: process.pid });
}

if (require.main === module) main();
