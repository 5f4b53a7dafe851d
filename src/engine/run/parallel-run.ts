/**
 * `ntk-lens run --workers N`: a run's unfinished (template, seed) pairs as parallel jobs on the free cores, through
 * the same local executor as studies (study/local-executor.ts). Each job is `ntk-lens run FILE --template T --seeds S
 * --workers 1` in its own process (with `kernel.tiles` = n, also the pair's tile jobs `--tile 2..n`), writing into
 * the results store; the run itself then finds every seed there and only summarises (a pair whose job failed is computed by the run itself, which reports its error as usual).
 * The extension's worker process (worker-main.ts) calls it the same way for "Run NTK comparison" (ntkLens.workers).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { describeLocalEvent, defaultCliEntry, runLocal, type LocalEvent, type LocalResult } from '../study/local-executor';
import { loadSpec } from '../spec';
import { ResultsStore } from '../report/store';
import { modelIdentity, resultKey, type RunOptions } from './experiment';
import { estimateRun } from './estimate';
import { requirePreflight } from './preflight';

export interface ParallelOptions extends RunOptions {
  workers: number;
  kernelsOnly?: boolean;
  /** Where each job's log goes (default: <results>/run-logs). */
  logDir?: string;
  onLine?: (line: string) => void;
  /** The executor's events themselves (the extension's worker turns their counts into progress). */
  onJob?: (e: LocalEvent) => void;
  /** After a cancel, how long the jobs may take to stop after SIGINT before SIGKILL (the executor's default: 10 s). */
  cancelGraceMs?: number;
}

/** Runs the unfinished pairs in parallel; undefined when there are fewer than two (nothing to gain). */
export async function runPairsInParallel(file: string, o: ParallelOptions): Promise<LocalResult | undefined> {
  const spec = loadSpec(path.resolve(file));
  // Located errors (and runs that cannot fit) before any job starts.
  await requirePreflight(spec, { templates: o.templates, seeds: o.seeds, hubCacheDir: o.hubCacheDir, backend: o.backend, kernelsOnly: o.kernelsOnly, memoryBudgetMB: o.memoryBudgetMB });
  const store = new ResultsStore(o.resultsDir ?? path.join(path.dirname(spec.file), '.ntk'));
  const templates = spec.templates.filter((t) => !o.templates || o.templates.includes(t.name));
  const seeds = o.seeds ?? spec.seeds;
  const identity = await modelIdentity(spec, { hubCacheDir: o.hubCacheDir });
  if (!identity) return undefined; // a Hub model not downloaded yet: the run downloads it once, in one process
  const pairs = templates.flatMap((t) => seeds.map((seed) => ({ t, seed })))
    .filter(({ t, seed }) => !store.readSeed(resultKey(spec, t, identity, { kernelsOnly: o.kernelsOnly }), seed));
  // With kernel.tiles = n, each pair also gets the tile jobs 2..n (before it, so they start first); the pair's own
  // run computes tile 1, waits for the others (per-tile locks) and merges them.
  const tiles = spec.kernel.tiles;
  const jobs = pairs.flatMap(({ t, seed }) => [
    ...Array.from({ length: tiles - 1 }, (_, i) => ({ t, seed, tile: i + 2 })),
    { t, seed, tile: undefined as number | undefined },
  ]);
  if (jobs.length < 2 || o.workers < 2) return undefined;
  const cli = defaultCliEntry();
  const nodeArgs = cli.endsWith('.ts') ? ['--require', require.resolve('tsx/cjs')] : [];
  const pass = [
    ...(o.backend ? ['--backend', o.backend] : []),
    ...(o.memoryBudgetMB ? ['--memory-mb', String(o.memoryBudgetMB)] : []),
  ];
  const estimate = estimateRun(spec, spec.shots);
  const env: NodeJS.ProcessEnv = { NTK_LENS_RELAYED: '1' };
  if (process.versions.electron) env.ELECTRON_RUN_AS_NODE = '1'; // the extension's worker runs on VS Code's Electron
  if (o.hubCacheDir) env.HF_HUB_CACHE = path.resolve(o.hubCacheDir); // the CLI has no option for it
  return runLocal({
    jobs: jobs.map(({ t, seed, tile }, index) => ({ index, label: `${t.name} seed ${seed}${tile ? ` kernel tile ${tile}/${tiles}` : ''}`, estimate })),
    command: (index) => ({
      file: process.execPath,
      args: [
        ...nodeArgs, cli, o.kernelsOnly ? 'kernel' : 'run', spec.file, '--template', jobs[index].t.name, '--seeds', String(jobs[index].seed),
        '--out', store.root, '--workers', '1', ...(jobs[index].tile ? ['--tile', String(jobs[index].tile)] : []), ...pass,
      ],
      env,
    }),
    workers: Math.min(o.workers, jobs.length),
    logDir: o.logDir ?? path.join(store.root, 'run-logs'),
    signal: o.signal,
    cancelGraceMs: o.cancelGraceMs,
    onEvent: (e) => {
      o.onJob?.(e);
      o.onLine?.(describeLocalEvent(e));
    },
  });
}

/** The default number of workers: the cores. */
export const defaultWorkers = (): number => (os.availableParallelism?.() ?? os.cpus().length);
