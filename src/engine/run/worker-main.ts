/**
 * Entry of the engine worker process (bundled to dist/worker.js, forked by src/worker-client.ts with an IPC channel).
 * It announces itself with `ready` (carrying PROTOCOL_VERSION), then serves HostToWorker requests:
 *   run         → runExperiment, streaming every RunEvent, then `result` (or `cancelled` / `error`)
 *   cancel      → aborts that run's AbortController
 *   validate    → validateSpecFile (engine validator: template pieces, mask, label words as tokens of the model)
 *   labelTokens → token ids of label words in the file's model, when the engine offers it
 *   shutdown    → aborts everything and exits once the runs have settled
 * It exits when the parent disconnects, so a closed window never leaves an orphan computing.
 *
 * The engine module is ./experiment; NTK_LENS_ENGINE may name another module with the same exports (tests only).
 */
import { PROTOCOL_VERSION, isHostToWorker } from '../../protocol';
import type { EngineDiagnostic, HostToWorker, LabelTokensResultMessage, RunOptions, WorkerToHost } from '../../protocol';
import type { Report, RunEvent } from '../report/types';

/** What the worker needs from the engine (src/engine/run/experiment.ts). */
export interface EngineModule {
  runExperiment(
    specFile: string,
    opts: RunOptions & { onEvent: (e: RunEvent) => void; signal?: AbortSignal },
  ): Promise<Report>;
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
  const override = process.env.NTK_LENS_ENGINE;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return override ? (require(override) as EngineModule) : (require('./experiment') as EngineModule);
}

export function serveWorker(engine: EngineModule, send: (m: WorkerToHost) => void, exit: (code: number) => void) {
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
    const done = (async () => {
      try {
        const report = await engine.runExperiment(m.specFile, {
          ...m.options,
          signal: controller.signal,
          onEvent: event => send({ type: 'event', id: m.id, event }),
        });
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
        await Promise.allSettled([...runs.values()].map(r => r.done));
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
