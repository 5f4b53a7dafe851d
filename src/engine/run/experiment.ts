/**
 * The engine's one entry: run the comparison of an experiment file, streaming progress events, returning a Report.
 * The CLI, the worker process and the tests all call `runExperiment`.
 *
 * Resume: every finished (template, seed) is written to the results store (default `<spec dir>/.ntk`) atomically,
 * keyed by the template text, words, model, task and every setting that changes the numbers; a later run reuses it.
 * A cancelled run therefore keeps all of its finished seeds.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initBackend, type BackendName } from '../backend';
import { loadTaskSplits, type TaskSplits } from '../data';
import { untieDecoder } from '../model';
import { isCausalConfig, isModernBertConfig } from '../model/language-model';
import { untieModernBertDecoder } from '../model/modernbert';
import { loadAnyCheckpoint } from '../model/load';
import { resolveModel } from '../model/hub';
import { summarise, verdict } from '../report/summary';
import { describeHolder, ResultsStore, templateKey } from '../report/store';
import { REPORT_SCHEMA_VERSION, type Report, type RunEvent, type RunWarning, type SeedResult, type TemplateReport } from '../report/types';
import { loadSpec, parseSpec, SpecErrors, type ExperimentSpec, type SpecError, type TemplateSpec } from '../spec';
import { labelWordIds, prepareTemplate, TemplateError, templateProblems, type PreparedTemplate } from '../template';
import { loadTokenizer, type TextTokenizer } from '../tokenize';
import { throwIfAborted } from '../util/abort';
import { checkpointFingerprint } from '../model/fingerprint';
import { parameterSetOf, runKernelTile, runSeed, type LoadedModel, type SeedContext } from './seed-run';
import { preflight, requirePreflight, templateProblem, unknownTemplatesProblem } from './preflight';

export interface RunOptions {
  onEvent?: (e: RunEvent) => void;
  signal?: AbortSignal;
  /** Only these template names (default: all). */
  templates?: string[];
  /** Only these seeds (default: the file's). */
  seeds?: number[];
  /** Results store (default `<spec dir>/.ntk`). */
  resultsDir?: string;
  /** Overrides the file's `backend`. */
  backend?: BackendName;
  /** Memory the kernel may use for gradient vectors (default: half the free memory). */
  memoryBudgetMB?: number;
  hubCacheDir?: string;
  /** Compute the kernels and their predictions only (no fine-tuning, no diagnostics): `ntk-lens kernel`. */
  kernelsOnly?: boolean;
  /** Fine-tune only, no kernels (used to evaluate the built-in model for its card). */
  finetuneOnly?: boolean;
  /**
   * A tile job: compute only tile `kernelTile` (0-based) of `kernel.tiles` of each unfinished seed's θ0 kernels into
   * the store, and return a report without templates; the seed's own run merges the tiles.
   */
  kernelTile?: number;
}

/** The folder of the built-in model, `models/ntk-mini` at the package root (works from src/ and from dist/). */
export function builtinModelDir(name = 'ntk-mini'): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'models', name);
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`the built-in model '${name}' is missing (models/${name} next to package.json); reinstall ntk-lens or run \`npm run pretrain\``);
}

const modelCache = new Map<string, Promise<LoadedModel>>();

/** Load (once per process) the model and tokenizer a spec names. */
export function loadModel(spec: ExperimentSpec, opts: Pick<RunOptions, 'hubCacheDir' | 'signal'> & { onEvent?: (e: RunEvent) => void } = {}): Promise<LoadedModel> {
  const ref = spec.model;
  const id = ref.kind === 'builtin' ? ref.name : ref.kind === 'path' ? ref.path : ref.id;
  return (async () => {
    let dir: string;
    if (ref.kind === 'builtin') dir = builtinModelDir(ref.name);
    else if (ref.kind === 'path') dir = ref.path;
    else {
      const resolved = await resolveModel(ref.id, {
        cacheDir: opts.hubCacheDir,
        signal: opts.signal,
        onProgress: (e) => {
          if (e.phase === 'progress' && e.total) opts.onEvent?.({ type: 'step', phase: 'download', step: e.loaded, total: e.total });
          else if (e.phase === 'initiate') opts.onEvent?.({ type: 'log', level: 'info', message: `downloading ${e.model}/${e.file}` });
        },
      });
      dir = resolved.dir;
    }
    // Cached by content, so a checkpoint rewritten in place is loaded again (and gets a new result key).
    const fingerprint = await checkpointFingerprint(dir);
    const cacheKey = `${dir}|${fingerprint}|${spec.kernel.untieDecoder}`;
    let p = modelCache.get(cacheKey);
    if (!p) {
      p = (async () => {
        let { config, params } = await loadAnyCheckpoint(dir);
        if (spec.kernel.untieDecoder && config.tieWordEmbeddings) {
          if (isCausalConfig(config)) throw new Error(`${dir}: kernel.untie_decoder is for masked LMs (their MLM decoder and word embedding); this is a causal ${config.modelType} model`);
          ({ config, params } = isModernBertConfig(config) ? untieModernBertDecoder(config, params) : untieDecoder(config, params));
        }
        const tokenizer = await loadTokenizer(dir, { causal: isCausalConfig(config) });
        return { id, dir, fingerprint, config, params, tokenizer };
      })();
      modelCache.set(cacheKey, p);
      p.catch(() => modelCache.delete(cacheKey));
    }
    return p;
  })();
}

/** Everything that changes a template's numbers; hashed into its result key. */
/** How a kernel is split into jobs does not change it (kernel/tiles.ts): tiled and untiled runs share results. */
function withoutTiles(kernel: ExperimentSpec['kernel']): Omit<ExperimentSpec['kernel'], 'tiles'> {
  const { tiles: _tiles, ...rest } = kernel;
  return rest;
}

function settingsOf(spec: ExperimentSpec, kernelsOnly: boolean, finetuneOnly: boolean) {
  return {
    data: spec.data,
    shots: spec.shots,
    maxLength: spec.maxLength,
    firstSentLimit: spec.firstSentLimit,
    otherSentLimit: spec.otherSentLimit,
    testSet: spec.testSet,
    testLimit: spec.testLimit,
    devLimit: spec.devLimit,
    finetune: kernelsOnly ? null : spec.finetune,
    kernel: finetuneOnly ? null : withoutTiles(spec.kernel),
    schema: REPORT_SCHEMA_VERSION,
  };
}

/**
 * The key under which a template's results are stored: the template text and words, the model by id AND content
 * (new weights under the same name never reuse old results), the task, and every setting that changes the numbers.
 * A study job and an experiment file with the same settings share it.
 */
export function resultKey(spec: ExperimentSpec, t: TemplateSpec, model: { id: string; fingerprint: string }, mode: { kernelsOnly?: boolean; finetuneOnly?: boolean } = {}): string {
  const settings = settingsOf(spec, mode.kernelsOnly ?? false, mode.finetuneOnly ?? false);
  return templateKey({ template: t.template ?? null, words: t.words ?? null, model: `${model.id}@${model.fingerprint}`, task: spec.task.name, settings: { ...settings, parameters: parameterSetOf(spec, t) } });
}

/** The model a spec names, without loading or downloading it: its id, folder and content fingerprint (undefined for a Hub id not in the cache). */
export async function modelIdentity(spec: ExperimentSpec, opts: { hubCacheDir?: string } = {}): Promise<{ id: string; dir: string; fingerprint: string } | undefined> {
  const ref = spec.model;
  const id = ref.kind === 'builtin' ? ref.name : ref.kind === 'path' ? ref.path : ref.id;
  let dir: string;
  if (ref.kind === 'builtin') dir = builtinModelDir(ref.name);
  else if (ref.kind === 'path') dir = ref.path;
  else {
    try { dir = (await resolveModel(ref.id, { offline: true, cacheDir: opts.hubCacheDir })).dir; } catch { return undefined; }
  }
  return { id, dir, fingerprint: await checkpointFingerprint(dir) };
}


/**
 * Runs an experiment file, or an already parsed spec (a study job: src/engine/study/ builds the spec its experiment
 * file would have, so both compute the same thing under the same result key).
 */
export async function runExperiment(specFile: string | ExperimentSpec, opts: RunOptions = {}): Promise<Report> {
  const started = Date.now();
  const emit = opts.onEvent ?? (() => {});
  const spec = typeof specFile === 'string' ? loadSpec(path.resolve(specFile)) : specFile;
  if (opts.kernelTile !== undefined && !(Number.isInteger(opts.kernelTile) && opts.kernelTile >= 0 && opts.kernelTile < spec.kernel.tiles)) {
    throw new RangeError(`${spec.file}: there is no kernel tile ${opts.kernelTile + 1}: kernel.tiles is ${spec.kernel.tiles} (tiles 1..${spec.kernel.tiles})`);
  }
  // Every check that needs no computation (data, checkpoint headers, tokenizer, templates): SpecErrors, before any work.
  const notes = await requirePreflight(spec, { templates: opts.templates, seeds: opts.seeds, hubCacheDir: opts.hubCacheDir, backend: opts.backend, kernelsOnly: opts.kernelsOnly, memoryBudgetMB: opts.memoryBudgetMB });
  for (const p of notes) emit({ type: 'log', level: p.severity === 'warning' ? 'warn' : 'info', message: `${p.file}:${p.line}:${p.column}: ${p.message}` });
  const backend = await initBackend(opts.backend ?? spec.backend);
  emit({ type: 'phase', phase: 'load', message: `backend ${backend}; loading model ${describeModel(spec)}` });
  const model = await loadModel(spec, { hubCacheDir: opts.hubCacheDir, signal: opts.signal, onEvent: emit });
  const store = new ResultsStore(opts.resultsDir ?? path.join(path.dirname(spec.file), '.ntk'));
  const templates = spec.templates.filter((t) => !opts.templates || opts.templates.includes(t.name));
  if (opts.templates) {
    const missing = opts.templates.filter((n) => !spec.templates.some((t) => t.name === n));
    if (missing.length) throw new SpecErrors([unknownTemplatesProblem(spec, missing)]);
  }
  const seeds = opts.seeds ?? spec.seeds;
  const kernelsOnly = opts.kernelsOnly ?? false;
  const finetuneOnly = opts.finetuneOnly ?? false;
  if (kernelsOnly && finetuneOnly) throw new Error('kernelsOnly and finetuneOnly exclude each other');
  const reports: TemplateReport[] = [];

  for (const t of templates) {
    // Compile-time checks first: a bad template or label word fails before any computation.
    let labelIds: number[] | null = null;
    let prepared: PreparedTemplate | undefined;
    if (t.mode === 'prompt') {
      try {
        const problems = templateProblems(t.template!, { numSentences: spec.task.numSentences, tokenizer: model.tokenizer });
        if (problems.length) throw problems[0];
        prepared = prepareTemplate(t.template!, model.tokenizer);
        labelIds = labelWordIds(model.tokenizer, t.labelWords!);
      } catch (e) {
        if (e instanceof TemplateError) throw new SpecErrors([templateProblem(spec, t, e)]);
        throw e;
      }
    }
    // The key names the model by id AND content, so new weights under the same name never reuse old results.
    const key = resultKey(spec, t, model, { kernelsOnly, finetuneOnly });
    const results: SeedResult[] = [];
    for (const seed of seeds) {
      throwIfAborted(opts.signal, `run (template '${t.name}', before seed ${seed})`);
      const stored = store.readSeed(key, seed);
      if (stored) {
        results.push(stored);
        emit({ type: 'seed-done', template: t.name, seed, result: stored, reused: true });
        continue;
      }
      const seedContext = (splits: TaskSplits): SeedContext => ({
        spec, template: t, labelIds, prepared, seed, model, splits, store, key, kernelsOnly, finetuneOnly,
        memoryBudgetBytes: opts.memoryBudgetMB ? opts.memoryBudgetMB * 2 ** 20 : undefined,
        onEvent: emit,
        signal: opts.signal,
      });
      const loadSplits = () => {
        emit({ type: 'phase', phase: 'data', template: t.name, seed, message: `${spec.shots}-shot split, seed ${seed}` });
        const splits = loadTaskSplits(spec.task, spec.data, { shots: spec.shots, seed, testSet: spec.testSet, skipMalformed: spec.skipMalformed });
        for (const note of splits.notes) emit({ type: 'log', level: 'info', message: `${spec.task.name} seed ${seed}: ${note}` });
        return splits;
      };
      if (opts.kernelTile !== undefined) {
        // A tile job: this seed's kernel tile into the store, where the seed's run merges it (no seed lock: the run
        // itself may be waiting for this very tile).
        const tile = opts.kernelTile;
        if (!finetuneOnly) await explained(seedContext(loadSplits()), (ctx) => runKernelTile(ctx, tile));
        continue;
      }
      // One process computes a seed at a time (another run of the same file, here or on another machine sharing the
      // results folder, waits and then reuses it); a lock whose holder died is taken over (report/lock.ts).
      const { result, reused } = await store.withSeedLock(key, seed, async () => {
        const done = store.readSeed(key, seed);
        if (done) return { result: done, reused: true };
        const computed = await explained(seedContext(loadSplits()), runSeed);
        store.writeSeed(key, seed, computed);
        store.removeStages(key, seed); // the seed's JSON and kernel files now hold everything the stages kept
        return { result: computed, reused: false };
      }, {
        signal: opts.signal,
        onWait: (holder) => emit({ type: 'log', level: 'info', message: `[${t.name} seed ${seed}] being computed by ${describeHolder(holder)}: waiting for it, then reusing its result` }),
        onTakeOver: (holder, why) => emit({ type: 'log', level: 'warn', message: `[${t.name} seed ${seed}] taking over from ${describeHolder(holder)} (${why})` }),
      });
      results.push(result);
      emit({ type: 'seed-done', template: t.name, seed, result, reused });
    }
    if (opts.kernelTile !== undefined) continue; // a tile job reports no template
    const report = templateReport(spec, t, key, results, labelIds);
    store.writeTemplateReport(key, report, {
      specFile: spec.file,
      templateName: t.name,
      model: model.id,
      task: spec.task.name,
      createdAt: new Date().toISOString(),
      classes: spec.task.labels,
    });
    reports.push(report);
    emit({ type: 'template-done', template: report });
  }
  emit({ type: 'phase', phase: 'done', message: `finished in ${((Date.now() - started) / 1000).toFixed(1)} s` });
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    createdAt: new Date().toISOString(),
    specFile: spec.file,
    task: spec.task.name,
    classes: spec.task.labels,
    model: { id: model.id, dir: model.dir, fingerprint: model.fingerprint, modelType: model.config.modelType, parameterCount: [...model.params.values()].reduce((s, v) => s + v.size, 0) },
    backend,
    templates: reports,
    outDir: store.root,
    seconds: (Date.now() - started) / 1000,
  };
}

/**
 * A template's report from its seed results: summary (intervals), verdict, trained set and every distinct warning
 * once. The single run and the study's aggregation (study/table.ts) both build it here.
 */
export function templateReport(spec: ExperimentSpec, t: TemplateSpec, key: string, seeds: SeedResult[], labelTokenIds: number[] | null): TemplateReport {
  const metric = spec.task.metrics.includes('f1') ? 'f1' : 'acc';
  const summary = summarise(seeds, metric);
  return {
    name: t.name,
    template: t.template ?? null,
    mode: t.mode,
    words: t.words ?? null,
    labelTokenIds,
    key,
    seeds,
    summary,
    trainable: seeds.find((r) => r.finetune)?.finetune!.trainable,
    warnings: [...new Map(seeds.flatMap((r) => r.warnings ?? []).map((w): [string, RunWarning] => [w.message, w])).values()],
    verdict: verdict(seeds, summary, spec.finetune.optimizer),
  };
}

/**
 * Out-of-memory failures come out of tfjs as low-level errors (a wasm trap, a failed ArrayBuffer allocation); say
 * what ran out, in which phase, and what to change there. Seeds finished before are already stored and are kept.
 */
const OOM = /memory access out of bounds|Cannot allocate Wasm memory|Array buffer allocation failed|out of memory|Invalid typed array length|Aborted\(OOM\)/i;

/** What lowers memory in each phase of a seed (the phase events of seed-run.ts). */
const OOM_ADVICE: Record<string, string> = {
  finetune: 'lower finetune.batch_size or max_length (fine-tuning holds one batch\'s activations and their gradients)',
  kernel: 'lower kernel.max_gradients_in_memory (or --memory-mb / ntkLens.memoryBudgetMB), test_limit or max_length (the kernel holds per-example gradients of a chunk of examples)',
  solve: 'lower test_limit (the solver holds the kernel matrices)',
  diagnostics: 'lower test_limit or max_length',
};

/** The message for an out-of-memory failure `e` in `phase` of a seed (undefined when `e` is something else). */
export function explainOutOfMemory(e: unknown, where: { file: string; template: string; seed: number }, phase: string): Error | undefined {
  if (!(e instanceof Error && OOM.test(e.message))) return undefined;
  const err = new Error(
    `${where.file}: template '${where.template}', seed ${where.seed}: ran out of memory in the ${phase} phase (${e.message}). ` +
      `The wasm backend has a 4 GB heap; ${OOM_ADVICE[phase] ?? 'use fewer or shorter examples (test_limit, max_length)'}, ` +
      `or a backend with more memory (webgpu, tensorflow). Seeds finished before this one are kept in the results folder.`,
  );
  (err as Error & { cause?: unknown }).cause = e;
  return err;
}

/** A seed's work (its run, or one kernel tile of it), an out-of-memory failure explained with the phase it was in. */
async function explained<T>(ctx: SeedContext, work: (ctx: SeedContext) => Promise<T>): Promise<T> {
  let phase = 'data';
  const onEvent = (e: RunEvent): void => {
    if (e.type === 'phase') phase = e.phase;
    ctx.onEvent(e);
  };
  try {
    return await work({ ...ctx, onEvent });
  } catch (e) {
    throw explainOutOfMemory(e, { file: ctx.spec.file, template: ctx.template.name, seed: ctx.seed }, phase) ?? e;
  }
}

function describeModel(spec: ExperimentSpec): string {
  const m = spec.model;
  return m.kind === 'builtin' ? `${m.name} (built-in)` : m.kind === 'path' ? m.path : `${m.id} (Hugging Face Hub)`;
}

export interface EngineDiagnostic {
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  message: string;
  severity: 'error' | 'warning' | 'info';
}

/**
 * Every problem of an experiment file's text, for the editor and `ntk-lens validate`: the spec validator's, then
 * preflight's (preflight.ts: data, checkpoint headers, tokenizer, templates and label words), so that it never passes
 * a file that a run rejects.
 */
export async function validateSpecFile(specFile: string, text: string): Promise<{ diagnostics: EngineDiagnostic[] }> {
  const parsed = parseSpec(text, path.resolve(specFile), { checkPaths: false });
  const diagnostics: EngineDiagnostic[] = parsed.errors.map(toDiagnostic);
  const spec = parsed.spec;
  if (!spec) return { diagnostics };
  for (const { file: _file, ...d } of await preflight(spec)) diagnostics.push(d);
  return { diagnostics };
}

/** Token ids of label words in the file's model (for the hover). */
export async function labelWordTokens(specFile: string, text: string, words: string[]) {
  const parsed = parseSpec(text, path.resolve(specFile), { checkPaths: false });
  if (!parsed.spec) throw new SpecErrors(parsed.errors);
  const tokenizer = await tokenizerIfLocal(parsed.spec);
  if (!tokenizer) throw new Error(`the tokenizer of ${describeModel(parsed.spec)} is not on disk yet; run the comparison once to download it`);
  return {
    model: describeModel(parsed.spec),
    tokens: words.map((word) => {
      const ids = tokenizer.kind === 'wordpiece' ? tokenizer.encode(word) : tokenizer.encodeContinuation(' ' + word);
      return { word, ids, pieces: ids.map((i) => tokenizer.idToToken(i) ?? '?') };
    }),
  };
}

const tokenizerCache = new Map<string, Promise<TextTokenizer>>();
async function tokenizerIfLocal(spec: ExperimentSpec): Promise<TextTokenizer | undefined> {
  const m = spec.model;
  let dir: string | undefined;
  if (m.kind === 'builtin') dir = builtinModelDir(m.name);
  else if (m.kind === 'path') dir = m.path;
  else {
    try {
      dir = (await resolveModel(m.id, { offline: true })).dir;
    } catch {
      return undefined;
    }
  }
  let p = tokenizerCache.get(dir);
  if (!p) {
    p = loadTokenizer(dir);
    tokenizerCache.set(dir, p);
    p.catch(() => tokenizerCache.delete(dir!));
  }
  return p;
}

function toDiagnostic(e: SpecError): EngineDiagnostic {
  return { line: e.line, column: e.column, endLine: e.endLine, endColumn: e.endColumn, message: e.message, severity: e.severity };
}

