/**
 * One (template, seed) comparison, in the order of the paper's procedure:
 *   1. encode the k-shot split with the template (or the standard encoding); choose the trained parameters — the
 *      kernel's parameter set, so that fine-tuning and the kernel are about the same parameters (LoRA: the LoRA
 *      factors on the frozen model);
 *   2. at the pre-trained weights θ0: the initial logits f0 and the kernels (train×train, train×dev, train×test);
 *   3. kernel predictions: each solver's hyperparameters chosen on dev;
 *   4. fine-tuning from θ0 with each learning rate of the grid (dev evaluation, best-dev restore), keeping the rate
 *      with the best dev metric; a check that it trained at all;
 *   5. kernel-regime diagnostics at the kept step: the SGD train kernel at the kept weights (fixed features), and
 *      the linearised model trained in function space with the same batches and schedule, read at the same step;
 *   6. the parameters are put back to θ0 for the next seed.
 * Kernels are written as .npy files as soon as they exist; the seed's JSON is written by the caller.
 */
import * as tf from '@tensorflow/tfjs';
import { addLinearProbeHead, HEAD_BIAS, HEAD_WEIGHT, predictLogits, promptClassifier, standardClassifier, type Classifier } from '../classifier/masked-lm-classifier';
import type { EncodedExample } from '../classifier/batch';
import type { Example, TaskSplits } from '../data';
import { crossEntropyLoss, finetune, linearizedDynamics } from '../finetune';
import { defaultMaxGradients, empiricalNtkFn, loraSubspace, selectParameters, type KernelBlock, type KernelParameter, type KernelResult as KernelBlocks } from '../kernel';
import { defaultRecordBudget, mergeKernelTiles, structuredNtkFn, WASM_GRADIENT_BYTES, type EmpiricalNtk, type StructuredNtkOptions } from '../kernel';
import type { Params } from '../model';
import { isCausalConfig, isModernBertConfig, languageModel, type ModelConfig } from '../model/language-model';
import { recordingModel, type RecordHead } from '../model/recording';
import { causalRecordingModel, type CausalRecordHead } from '../model/causal/recording';
import { modernBertRecordingModel } from '../model/modernbert';
import { agreement, argmaxRows, marginCorrelation } from '../report/metrics';
import { writeNpy } from '../report/npy';
import { describeHolder, type LockHolder, type ResultsStore } from '../report/store';
import { summarise, verdict } from '../report/summary';
import { checkTraining, meanCrossEntropy } from '../report/training-check';
import type { Diagnostics, FinetuneResult, KernelKind, KernelResult, RunEvent, RunWarning, Scores, SeedResult, TrainableSet } from '../report/types';
import { loraModel } from '../classifier/lora';
import { scoreMetrics, selectOnDev, symEig, type ScoreMatrix, type SolverName } from '../solve';
import type { ExperimentSpec, ParameterSet, TemplateSpec } from '../spec';
import { compilePrompt, encodeStandard, type PreparedTemplate } from '../template';
import type { TextTokenizer } from '../tokenize';
import { throwIfAborted } from '../util/abort';
import { mulberry32, shuffledCopy } from '../util/random';
import {
  blocksFromStage, newF0, sameKinds, SPLITS, stageArrays, tileArrays, tileFromArrays, tileMeta, tileStageName,
  type F0, type F0Values, type Theta0Meta, type TileMeta,
} from './theta0-stage';

export interface LoadedModel {
  id: string;
  dir: string;
  /** sha256 of the checkpoint's config, weights and tokenizer files (model/fingerprint.ts). */
  fingerprint: string;
  /** A masked LM's (BERT, RoBERTa) or a causal LM's (GPT-2, GPT-NeoX, Llama layout) config. */
  config: ModelConfig;
  params: Params;
  tokenizer: TextTokenizer;
}

export interface SeedContext {
  spec: ExperimentSpec;
  template: TemplateSpec;
  labelIds: number[] | null;
  /** The template parsed and its literal pieces tokenised once (prompt mode). */
  prepared?: PreparedTemplate;
  seed: number;
  model: LoadedModel;
  splits: TaskSplits;
  store: ResultsStore;
  key: string;
  /** Bytes the kernel may use for gradients (from the memory-budget setting). */
  memoryBudgetBytes?: number;
  /**
   * The θ0 kernels' implementation: 'structured' (default; batched recordings, kernel/structured-ntk.ts) or 'plain'
   * (per-example autodiff, kernel/empirical-ntk.ts). LoRA kernels always use 'plain'.
   */
  kernelImplementation?: 'plain' | 'structured';
  /** Kernels and their predictions only: no fine-tuning, no diagnostics (`ntk-lens kernel`). */
  kernelsOnly?: boolean;
  /** Fine-tuning only, no kernels (model-card evaluation of the built-in model). */
  finetuneOnly?: boolean;
  onEvent: (e: RunEvent) => void;
  signal?: AbortSignal;
}

const SOLVER_OF: Record<ExperimentSpec['kernel']['solver'], SolverName> = { lstsq: 'lstsq', logistic: 'logistic', 'asym-svm': 'asym' };
/** Above this many rows the train matrix is left out of the JSON report (the .npy file has it). */
const MAX_MATRIX_ROWS = 256;

export async function runSeed(ctx: SeedContext): Promise<SeedResult> {
  const started = Date.now();
  const { spec, template, seed } = ctx;
  const where = { template: template.name, seed };
  const emit = (e: RunEvent) => ctx.onEvent(e);
  const warnings: RunWarning[] = [];
  const warn = (w: RunWarning) => {
    warnings.push(w);
    emit({ type: 'log', level: 'warn', message: `[${template.name} seed ${seed}] ${w.message}` });
  };
  const C = spec.task.labels.length;

  // 1. Encode; the trained parameters (= the kernel's) and f.
  const prep = await prepareSeed(ctx, warn);
  const { data, test, gold, metric, trained, classify, theta0 } = prep;
  try {
    // 2. f0 and the kernels at θ0.
    emit({ type: 'phase', phase: 'kernel', ...where, message: `initial logits and ${spec.kernel.kinds.join(', ')} kernels at the pre-trained weights` });
    const plan = kernelPlan(ctx, prep);
    const { kinds, parameterCount, maxGradientsInMemory } = plan;
    const { blocks, f0, kernelSeconds } = await theta0Kernels(ctx, prep, plan, warn);
    const before = { dev: scores(f0.dev, gold.dev, C, metric), test: scores(f0.test, gold.test, C, metric) };
    const files = await writeKernels(ctx, blocks, kinds);

    // 3. Kernel predictions (hyperparameters on dev).
    emit({ type: 'phase', phase: 'solve', ...where, message: `solver ${spec.kernel.solver}, hyperparameters chosen on dev` });
    const kernels: Partial<Record<KernelKind, KernelResult>> = {};
    for (const kind of kinds) {
      const b = blocks[kind]!;
      const sel = selectOnDev({
        solver: SOLVER_OF[spec.kernel.solver],
        train: b.train as KernelBlock,
        dev: b.dev as KernelBlock,
        test: b.test as KernelBlock,
        yTrain: gold.train,
        yDev: gold.dev,
        yTest: gold.test,
        metric,
        grid: spec.kernel.ridge > 0 ? { ridge: [spec.kernel.ridge] } : undefined,
        options: { numClasses: C },
        f0: spec.kernel.aroundInit
          ? { train: mat(f0.train, C), dev: mat(f0.dev, C), test: mat(f0.test, C) }
          : undefined,
      });
      kernels[kind] = {
        kind,
        solver: spec.kernel.solver,
        hyper: sel.hyper,
        dev: sel.dev,
        test: sel.test!,
        testScores: byRows(sel.testScores.data, C),
        agreement: NaN,
        logitCorrelation: NaN,
        spectrum: spectrum(b.train as KernelBlock),
        trainMatrix: b.train.shape[0] * C <= MAX_MATRIX_ROWS ? byRows(b.train.data, b.train.shape[0] * C) : undefined,
        files: files[kind] ?? {},
        parameterCount,
        seconds: kernelSeconds,
      };
    }

    if (ctx.kernelsOnly) {
      return { ...seedShell(ctx, data, test, gold.test), kernels, diagnostics: {}, warnings, seconds: (Date.now() - started) / 1000 };
    }

    // 4. Fine-tuning from θ0, over the learning-rate grid (best on dev).
    throwIfAborted(ctx.signal, 'run: before fine-tuning');
    const ft = await fineTuneOverGrid(ctx, classify, trained, theta0, data, gold, metric, before, f0, warn);
    const ftPred = argmaxRows(Float64Array.from(ft.testLogits.flat()), test.length, C);
    for (const kind of kinds) {
      const k = kernels[kind]!;
      k.agreement = agreement(argmaxRows(Float64Array.from(k.testScores.flat()), test.length, C), ftPred);
      k.logitCorrelation = marginCorrelation(ft.testLogits.flat(), k.testScores.flat(), test.length, C);
    }

    // 5. Diagnostics of the kernel regime, at the step whose weights fine-tuning kept.
    emit({ type: 'phase', phase: 'diagnostics', ...where, message: `fixed features (kernel change) and linearisation, at step ${ft.bestStep}` });
    const diagnostics = await diagnose(ctx, classify, trained, blocks, f0, data, gold, ft, metric, maxGradientsInMemory);
    const result: SeedResult = { ...seedShell(ctx, data, test, gold.test), finetune: ft, kernels, diagnostics, warnings, seconds: (Date.now() - started) / 1000 };
    result.verdict = verdict([result], summarise([result], metric), spec.finetune.optimizer);
    return result;
  } finally {
    prep.release();
  }
}

/** A seed ready to compute: its encoded data and gold labels, the trained parameters, f, and θ0. */
interface PreparedSeed {
  data: Record<'train' | 'dev' | 'test', EncodedExample[]>;
  /** The test rows used (after test_limit). */
  test: Example[];
  gold: Record<'train' | 'dev' | 'test', number[]>;
  metric: 'acc' | 'f1';
  trained: TrainedParameters;
  classify: Classifier;
  /** The trained parameters' values at θ0. */
  theta0: Map<string, tf.Tensor>;
  /** Puts θ0 back and releases the LP head, the LoRA factors and the snapshot. */
  release(): void;
}

/**
 * Step 1 of the procedure: encode the k-shot split with the template (or the standard encoding), fit the LP head in
 * standard mode, and choose the trained parameters: the kernel's set, so that fine-tuning and the kernel are about
 * the same parameters (LoRA: the LoRA factors on the frozen model).
 */
async function prepareSeed(ctx: SeedContext, warn: (w: RunWarning) => void): Promise<PreparedSeed> {
  const { spec, template, seed, model, splits } = ctx;
  const classes = spec.task.labels;
  const C = classes.length;
  const dev = limitRows(splits.dev, spec.devLimit);
  const test = limitRows(splits.test, spec.testLimit);
  if (splits.skipped.length) warn(skippedRowsWarning(splits.skipped));
  const truncated = { n: 0, tokens: 0, total: 0 };
  const enc = (examples: Example[]) => examples.map((e) => encodeExample(ctx, e, truncated));
  const data = { train: enc(splits.train), dev: enc(dev), test: enc(test) };
  if (truncated.n > 0) warn(truncationWarning(maxLengthOf(ctx), truncated));
  const gold = {
    train: splits.train.map((e) => classIndex(classes, e)),
    dev: dev.map((e) => classIndex(classes, e)),
    test: test.map((e) => classIndex(classes, e)),
  };
  const metric = spec.task.metrics.includes('f1') ? 'f1' : 'acc';

  // The model's parameters, plus the LP head in standard mode (removed again by release()).
  const params: Params = new Map(model.params);
  const padId = model.tokenizer.padId;
  if (template.mode === 'standard') {
    ctx.onEvent({ type: 'phase', phase: 'finetune', template: template.name, seed, message: 'fitting the linear-probe head on frozen features' });
    await addLinearProbeHead(params, model.config, padId, data.train, gold.train, C);
  }
  // The trained parameters are the kernel's: the comparison is about the same parameters on both sides.
  const trained = trainedParameters(ctx, params);
  const classify: Classifier = template.mode === 'prompt'
    ? promptClassifier(trained.view, model.config, padId, ctx.labelIds!)
    : standardClassifier(trained.view, model.config, padId);
  const theta0 = snapshot(trained.trainable);
  return {
    data, test, gold, metric, trained, classify, theta0,
    release: () => {
      restore(trained.trainable, theta0);
      tf.dispose([...theta0.values()]);
      trained.dispose();
      for (const name of [HEAD_WEIGHT, HEAD_BIAS]) {
        if (!model.params.has(name)) params.get(name)?.dispose();
      }
    },
  };
}

/** What the θ0 kernels of a seed are: the kinds asked for, those computed, and how. */
interface KernelPlanOfSeed {
  /** The kinds the file asks for (none when fine-tuning only). */
  kinds: KernelKind[];
  /** Those plus SGD when the diagnostics need it and the file does not ask for it. */
  computeKinds: KernelKind[];
  parameterCount: number;
  maxGradientsInMemory: number | undefined;
  /** Bytes one structured recording may keep (pinned, so that the tiles of a kernel plan alike). */
  recordBudgetBytes: number;
}

function kernelPlan(ctx: SeedContext, prep: PreparedSeed): KernelPlanOfSeed {
  const kinds = (ctx.finetuneOnly ? [] : ctx.spec.kernel.kinds) as KernelKind[];
  // The diagnostics need the SGD kernel (fixed features; linearised SGD) even when the file does not ask for it.
  const extraSgd = !kinds.includes('sgd') && !ctx.kernelsOnly && !ctx.finetuneOnly;
  const parameterCount = countKernelCoordinates(prep.trained.kernel, ctx.spec.kernel.loraRank);
  return {
    kinds,
    computeKinds: extraSgd ? [...kinds, 'sgd'] : kinds,
    parameterCount,
    maxGradientsInMemory: gradientCap(ctx, parameterCount, kinds),
    recordBudgetBytes: defaultRecordBudget(),
  };
}

/**
 * Step 2: f0 and the kernels at θ0, as the 'theta0' stage of the seed: reused when an interrupted run finished it;
 * else computed in one call, or (kernel.tiles > 1) tile by tile, each tile a stage that another process may be
 * computing (a tile job) or have computed, then merged (kernel/tiles.ts: the merged kernel is the one-call kernel).
 * f0 = the model's logits at θ0 [M·C]: taken from the kernel's own forward passes where it reports them (the
 * structured kernel does), the rest computed here.
 */
async function theta0Kernels(ctx: SeedContext, prep: PreparedSeed, seedPlan: KernelPlanOfSeed, warn: (w: RunWarning) => void): Promise<{ blocks: KernelBlocks; f0: F0Values; kernelSeconds: number }> {
  const { template, seed } = ctx;
  let plan = seedPlan;
  const { computeKinds } = plan;
  const f0 = newF0(prep.data, ctx.spec.task.labels.length);
  const stage = computeKinds.length ? ctx.store.readStage<Theta0Meta>(ctx.key, seed, 'theta0') : undefined;
  if (stage !== undefined && sameKinds(stage.meta.kinds, computeKinds)) {
    for (const key of SPLITS) { f0.values[key].set(stage.arrays[`f0-${key}`].data as Float64Array); f0.seen[key].fill(1); }
    ctx.onEvent({ type: 'log', level: 'info', message: `[${template.name} seed ${seed}] reusing the kernels and initial logits at θ0 that an interrupted run computed` });
    return { blocks: blocksFromStage(stage.arrays, computeKinds), f0: f0.values, kernelSeconds: stage.meta.kernelSeconds };
  }
  const started = Date.now();
  let blocks: KernelBlocks = {};
  if (computeKinds.length) {
    const tiles = ctx.spec.kernel.tiles;
    if (tiles > 1) {
      plan = await pinTilePlan(ctx, plan);
      const parts: KernelBlocks[] = [];
      for (let index = 0; index < tiles; index++) parts.push(await kernelTile(ctx, prep, plan, index, f0, warn));
      blocks = mergeKernelTiles(parts);
    } else {
      blocks = await computeKernels(ctx, prep, plan, undefined, (set, indices, values) => f0.add(set, indices, values), warn);
    }
  }
  for (const key of SPLITS) {
    const missing = [...f0.seen[key].keys()].filter((i) => !f0.seen[key][i]);
    if (missing.length) f0.add(key, missing, Float32Array.from(await predictLogits(prep.classify, missing.map((i) => prep.data[key][i]))));
  }
  const kernelSeconds = (Date.now() - started) / 1000;
  if (computeKinds.length) ctx.store.writeStage(ctx.key, seed, 'theta0', stageArrays(blocks, f0.values), { kinds: computeKinds, kernelSeconds } satisfies Theta0Meta);
  return { blocks, f0: f0.values, kernelSeconds };
}

/** One kernel call over the seed's train, dev and test inputs (a tile of it when `tile` is given). */
async function computeKernels(
  ctx: SeedContext, prep: PreparedSeed, plan: KernelPlanOfSeed, tile: { index: number; count: number } | undefined,
  onOutputs: (set: string, indices: number[], values: Float32Array) => void, warn: (w: RunWarning) => void,
): Promise<KernelBlocks> {
  const { template, seed } = ctx;
  const where = { template: template.name, seed };
  const outputFn = (x: EncodedExample) => prep.classify([x], { training: false });
  const ntk = kernelFn(ctx, prep.trained.view, outputFn, prep.trained.kernel, {
    kinds: plan.computeKinds, maxGradientsInMemory: plan.maxGradientsInMemory, recordBudgetBytes: plan.recordBudgetBytes,
  });
  return ntk(prep.data.train, [{ name: 'dev', inputs: prep.data.dev }, { name: 'test', inputs: prep.data.test }], {
    signal: ctx.signal,
    tile,
    onProgress: (p) => ctx.onEvent({ type: 'step', phase: 'kernel', ...where, step: p.done, total: p.total, etaSeconds: p.etaSeconds }),
    onOutputs,
    onPlan: (p) => { if (p.chunks > 1) warn(chunkWarning(ctx, p)); },
  });
}

/**
 * Tile `index` of the seed's θ0 kernels (kernel.tiles): read from its stage when some process computed it, else
 * computed here under the tile's lock (a process computing it meanwhile is waited for, then reused). Its f0 rows are
 * added to `f0`. Also the whole work of a tile job (`runKernelTile`).
 */
async function kernelTile(ctx: SeedContext, prep: PreparedSeed, plan: KernelPlanOfSeed, index: number, f0: F0 | undefined, warn: (w: RunWarning) => void): Promise<KernelBlocks> {
  const count = ctx.spec.kernel.tiles;
  const name = tileStageName(index, count);
  const read = () => ctx.store.readStage<TileMeta>(ctx.key, ctx.seed, name);
  let stage = read();
  if (!stage) {
    await ctx.store.withStageLock(ctx.key, ctx.seed, name, async () => {
      if (read()) return;
      const rows = newF0(prep.data, ctx.spec.task.labels.length);
      ctx.onEvent({ type: 'log', level: 'info', message: `[${ctx.template.name} seed ${ctx.seed}] kernel tile ${index + 1} of ${count}` });
      const blocks = await computeKernels(ctx, prep, plan, { index, count }, (set, indices, values) => rows.add(set, indices, values), warn);
      ctx.store.writeStage(ctx.key, ctx.seed, name, tileArrays(blocks, rows), tileMeta(blocks, plan.computeKinds));
    }, {
      signal: ctx.signal,
      onWait: (holder: LockHolder) => ctx.onEvent({ type: 'log', level: 'info', message: `[${ctx.template.name} seed ${ctx.seed}] kernel tile ${index + 1} of ${count} is being computed by ${describeHolder(holder)}: waiting for it` }),
    });
    stage = read();
    if (!stage) throw new Error(`run: kernel tile ${index + 1} of ${count} (seed ${ctx.seed}) was not stored; run again`);
  }
  if (!sameKinds(stage.meta.kinds, plan.computeKinds)) {
    throw new Error(`run: the stored kernel tile ${index + 1} of ${count} (seed ${ctx.seed}) has kinds ${stage.meta.kinds.join(', ')}, this run needs ${plan.computeKinds.join(', ')}`);
  }
  if (f0) for (const key of SPLITS) f0.merge(key, stage.arrays[`f0-${key}`].data as Float64Array, stage.arrays[`f0seen-${key}`].data as Int32Array);
  return tileFromArrays(stage.arrays, stage.meta);
}

/**
 * The memory settings that fix a kernel's plan (gradients held per chunk, bytes per recording), the same for every
 * tile: the first process to need them stores its own in the seed's 'theta0-plan' stage, the others take them from
 * there (their free memory, hence their 'auto' choice, may differ; tiles of different plans cannot be merged).
 */
async function pinTilePlan(ctx: SeedContext, plan: KernelPlanOfSeed): Promise<KernelPlanOfSeed> {
  type Pinned = Pick<KernelPlanOfSeed, 'maxGradientsInMemory' | 'recordBudgetBytes'>;
  const read = () => ctx.store.readStage<Pinned>(ctx.key, ctx.seed, 'theta0-plan')?.meta;
  let pinned = read();
  if (!pinned) {
    await ctx.store.withStageLock(ctx.key, ctx.seed, 'theta0-plan', async () => {
      if (!read()) ctx.store.writeStage(ctx.key, ctx.seed, 'theta0-plan', {}, { maxGradientsInMemory: plan.maxGradientsInMemory ?? null, recordBudgetBytes: plan.recordBudgetBytes });
    }, { signal: ctx.signal });
    pinned = read()!;
  }
  return { ...plan, maxGradientsInMemory: pinned.maxGradientsInMemory ?? undefined, recordBudgetBytes: pinned.recordBudgetBytes };
}

/**
 * A tile job: computes tile `index` of this seed's θ0 kernels (kernel.tiles) into the store, where the seed's run
 * finds it. Nothing else: the seed's own run merges the tiles, solves and fine-tunes.
 */
export async function runKernelTile(ctx: SeedContext, index: number): Promise<void> {
  const count = ctx.spec.kernel.tiles;
  if (!(Number.isInteger(index) && index >= 0 && index < count)) throw new RangeError(`run: tile ${index + 1} of ${count} does not exist (kernel.tiles is ${count})`);
  const warn = (w: RunWarning) => ctx.onEvent({ type: 'log', level: 'warn', message: `[${ctx.template.name} seed ${ctx.seed} tile ${index + 1}/${count}] ${w.message}` });
  const prep = await prepareSeed(ctx, warn);
  try {
    const plan = kernelPlan(ctx, prep);
    ctx.onEvent({ type: 'phase', phase: 'kernel', template: ctx.template.name, seed: ctx.seed, message: `θ0 kernel tile ${index + 1} of ${count}` });
    if (plan.computeKinds.length) await kernelTile(ctx, prep, await pinTilePlan(ctx, plan), index, undefined, warn);
  } finally {
    prep.release();
  }
}

/** The parameter set of this template: its own `parameters:`, else the file's `kernel.parameters`. */
export function parameterSetOf(spec: ExperimentSpec, template: TemplateSpec): ParameterSet {
  return template.parameters ?? spec.kernel.parameters;
}

interface TrainedParameters {
  /** What the model reads: the parameters, with LoRA targets as W + s·B·A. */
  view: Params;
  /** The variables fine-tuning updates (and θ0 restores), by name. */
  trainable: Params;
  /** The θ0 kernel's parameters (LoRA: the full gradients projected onto the B factors). */
  kernel: KernelParameter[];
  /** The kernel over the trained parameters at any weights (fixed features at the end of fine-tuning). */
  endKernel: KernelParameter[];
  info: TrainableSet;
  dispose(): void;
}

/**
 * Fine-tuning trains exactly the parameters the kernel is taken over (the paper's comparison): a subset of the
 * model's tensors, or for `lora` the LoRA factors B (= 0) and A (the kernel's random A) on the frozen model, plus the
 * head (the reference keeps the MLM head trainable in its LoRA runs).
 */
function trainedParameters(ctx: SeedContext, modelParams: Params): TrainedParameters {
  let params = modelParams;
  const { spec, model, seed } = ctx;
  const set = parameterSetOf(spec, ctx.template);
  const lm = languageModel(model.config);
  const groupOf = (name: string) => (name === HEAD_WEIGHT || name === HEAD_BIAS ? 'head' : lm.parameterGroup(name));
  // Standard mode reads the LP head, not the MLM head: those tensors do not enter f, so they are neither trained nor
  // in the kernel (their gradient is identically 0; counting them would only inflate the reported size).
  if (ctx.template.mode === 'standard') params = new Map([...params].filter(([n]) => n === HEAD_WEIGHT || n === HEAD_BIAS || lm.parameterGroup(n) !== 'head'));
  const count = (ps: Iterable<tf.Variable>) => [...ps].reduce((s, v) => s + v.size, 0);
  if (set === 'lora') {
    // α = r (scale 1). The random A matrices are small (r × H per matrix) and live until the seed ends.
    const rank = spec.kernel.loraRank;
    const sub = loraSubspace(params, groupOf, { rank, alpha: rank, seed, isTarget: lm.lora.isTarget, layout: lm.lora.layout });
    const lora = loraModel(params, sub, { rank, alpha: rank, layout: lm.lora.layout });
    return {
      view: lora.view,
      trainable: lora.trainable,
      kernel: sub.parameters,
      endKernel: lora.kernelParameters,
      info: { parameters: set, count: count(lora.trainable.values()), tensors: lora.trainable.size, lora: { rank, alpha: rank } },
      dispose: () => { lora.dispose(); sub.dispose(); },
    };
  }
  const kernel = selectParameters(params, set, groupOf);
  const trainable: Params = new Map(kernel.map((p) => [p.name!, p.variable]));
  return { view: params, trainable, kernel, endKernel: kernel, info: { parameters: set, count: count(trainable.values()), tensors: trainable.size }, dispose: () => undefined };
}

/**
 * At most `n` rows, drawn by a fixed-seed shuffle (mulberry32 seed 42, like the reference's 1k-test cap) and kept in
 * file order. Not the first n: LM-BFF test files are often grouped by label (CR's first 1,000 rows are all negative).
 */
export function limitRows<T>(rows: T[], n: number | undefined): T[] {
  if (n === undefined || n >= rows.length) return rows;
  const keep = shuffledCopy(rows.map((_, i) => i), mulberry32(42)).slice(0, n).sort((a, b) => a - b);
  return keep.map((i) => rows[i]);
}

function seedShell(ctx: SeedContext, data: Record<'train' | 'dev' | 'test', EncodedExample[]>, test: Example[], goldTest: number[]) {
  const { splits, spec } = ctx;
  return {
    seed: ctx.seed,
    split: {
      trainFile: splits.files.train,
      devFile: splits.files.dev,
      testFile: splits.files.test,
      nTrain: data.train.length,
      nDev: data.dev.length,
      nTest: data.test.length,
      testLimit: spec.testLimit,
    },
    test: { text: test.map((e) => (e.textB === undefined ? e.textA : `${e.textA} ‖ ${e.textB}`)), gold: goldTest },
  };
}

/** The kernel's cap on gradient vectors held at once: the file's number, else sized from the memory budget / free memory. */
function gradientCap(ctx: SeedContext, parameterCount: number, kinds: KernelKind[]): number | undefined {
  const m = ctx.spec.kernel.maxGradientsInMemory;
  if (m !== 'auto') return m;
  const C = ctx.spec.task.labels.length;
  // On wasm the held gradients live in its 4 GiB heap (shared with the model): at most WASM_GRADIENT_BYTES there,
  // whatever the machine's free memory (a failed allocation corrupts that heap instead of throwing).
  const wasm = tf.getBackend() === 'wasm' ? WASM_GRADIENT_BYTES : Infinity;
  const cap = defaultMaxGradients(parameterCount, { budgetBytes: Math.min(ctx.memoryBudgetBytes ?? Infinity, wasm), signCopies: kinds.some((k) => k !== 'sgd') });
  return Math.max(2 * C, cap);
}

/**
 * The example's model input. `truncated` counts the examples that `max_length` cut (beyond the task's sentence
 * limits, which are the paper's settings) and the tokens cut, for the run's warning.
 */
function encodeExample(ctx: SeedContext, e: Example, truncated: { n: number; tokens: number; total: number }): EncodedExample {
  const { template, model } = ctx;
  const maxLength = maxLengthOf(ctx);
  truncated.total++;
  if (template.mode === 'standard') {
    const s = encodeStandard(model.tokenizer, e, maxLength);
    const full = encodeStandard(model.tokenizer, e, Number.MAX_SAFE_INTEGER).inputIds.length;
    if (full > maxLength) { truncated.n++; truncated.tokens += full - maxLength; }
    return { ...s, maskPos: s.maskPos ?? -1 }; // a causal LM reads its last token; a masked LM (−1) its first
  }
  const opts = { maxLength, firstSentLimit: ctx.spec.firstSentLimit, otherSentLimit: ctx.spec.otherSentLimit };
  const prepared = ctx.prepared ?? template.template!;
  const full = compilePrompt(prepared, model.tokenizer, e, { ...opts, maxLength: Number.MAX_SAFE_INTEGER }).inputIds.length;
  if (full > maxLength) { truncated.n++; truncated.tokens += full - maxLength; }
  return compilePrompt(prepared, model.tokenizer, e, opts);
}

/**
 * `max_length`, but never more tokens than the model has positions for (a task's default of 256 with a 128-position
 * model used to stop the run at the first long input): the cut is counted in the truncation warning.
 */
function maxLengthOf(ctx: SeedContext): number {
  return Math.min(ctx.spec.maxLength, languageModel(ctx.model.config).maxTokens);
}

function classIndex(classes: string[], e: Example): number {
  const i = classes.indexOf(e.label);
  if (i < 0) throw new Error(`${e.source.file}:${e.source.line}: label '${e.label}' is not one of the task's labels (${classes.join(', ')})`);
  return i;
}

/**
 * The kernel function: structured (one batched recording per batch of examples) unless 'plain' or LoRA (the plain
 * kernel, the structured one's reference, computes those). BERT's layout records with model/recording.ts (a hand-written
 * backward); causal LMs and ModernBERT with model/causal/recording.ts (taps on the family's own forward pass).
 */
function kernelFn(ctx: SeedContext, params: Params, outputFn: (x: EncodedExample) => tf.Tensor2D, kernelParams: KernelParameter[], opts: StructuredNtkOptions): EmpiricalNtk<EncodedExample> {
  const config = ctx.model.config;
  if ((ctx.kernelImplementation ?? 'structured') === 'plain' || parameterSetOf(ctx.spec, ctx.template) === 'lora') {
    return empiricalNtkFn(outputFn, kernelParams, opts);
  }
  if (isCausalConfig(config) || isModernBertConfig(config)) {
    const head: CausalRecordHead = ctx.template.mode === 'prompt'
      ? { kind: 'lm', labelIds: ctx.labelIds! }
      : { kind: 'linear', weight: params.get(HEAD_WEIGHT)!, bias: params.get(HEAD_BIAS)! };
    const padId = ctx.model.tokenizer.padId;
    return structuredNtkFn(isCausalConfig(config) ? causalRecordingModel(params, config, padId, head) : modernBertRecordingModel(params, config, padId, head), kernelParams, opts);
  }
  const head: RecordHead = ctx.template.mode === 'prompt'
    ? { kind: 'mlm', labelIds: ctx.labelIds! }
    : { kind: 'linear', weight: params.get(HEAD_WEIGHT)!, bias: params.get(HEAD_BIAS)! };
  return structuredNtkFn(recordingModel(params, config, ctx.model.tokenizer.padId, head), kernelParams, opts);
}

/** Coordinates entering the kernel: a LoRA-projected [out, in] matrix contributes out·r. */
function countKernelCoordinates(ps: KernelParameter[], loraRank: number): number {
  return ps.reduce((s, p) => s + (p.project ? p.variable.shape[0] * loraRank : p.variable.size), 0);
}

/** One fine-tuning run with one learning rate, from the current (θ0) weights; the best-dev weights are kept. */
async function fineTuneOnce(
  ctx: SeedContext,
  classify: Classifier,
  trainable: Params,
  data: Record<'train' | 'dev' | 'test', EncodedExample[]>,
  gold: Record<'train' | 'dev' | 'test', number[]>,
  metric: 'acc' | 'f1',
  learningRate: number,
  label: string,
) {
  const { spec, seed, template } = ctx;
  const f = spec.finetune;
  const C = spec.task.labels.length;
  const started = Date.now();
  ctx.onEvent({ type: 'phase', phase: 'finetune', template: template.name, seed, message: `${f.optimizer} lr ${learningRate}${label}, ${f.steps} steps, batch ${f.batchSize}` });
  const run = await finetune({
    params: trainable,
    lossFn: (batch, { training, seed: s }) =>
      tf.tidy(() => crossEntropyLoss(classify(batch.map((i) => data.train[i]), { training: training && f.dropout, seed: s }), batch.map((i) => gold.train[i]))),
    nTrain: data.train.length,
    steps: f.steps,
    batchSize: Math.min(f.batchSize, data.train.length),
    optimizer: f.optimizer === 'adam' ? 'adamw' : 'sgd',
    learningRate,
    warmupSteps: f.warmupSteps,
    weightDecay: f.weightDecay,
    maxGradNorm: f.maxGradNorm > 0 ? f.maxGradNorm : Infinity,
    evalEvery: f.evalEvery,
    evaluate: async () => {
      const s = scores(await predictLogits(classify, data.dev), gold.dev, C, metric);
      const trainLoss = meanCrossEntropy(await predictLogits(classify, data.train), gold.train, C);
      return { metric: metric === 'f1' ? s.f1! : s.acc, trainLoss };
    },
    seed,
    signal: ctx.signal,
    onStep: (s) =>
      ctx.onEvent({
        type: 'step',
        phase: 'finetune',
        template: template.name,
        seed,
        step: s.step,
        total: f.steps,
        loss: s.loss,
        etaSeconds: ((Date.now() - started) / 1000 / s.step) * (f.steps - s.step),
      }),
  });
  const devLogits = await predictLogits(classify, data.dev);
  const testLogits = await predictLogits(classify, data.test);
  return { ...run, learningRate, devLogits, testLogits, dev: scores(devLogits, gold.dev, C, metric), test: scores(testLogits, gold.test, C, metric), seconds: (Date.now() - started) / 1000 };
}

/**
 * Fine-tuning from θ0 with every learning rate of the file's grid; the rate with the best dev metric is kept (a
 * rate that trained wins a tie with one that did not; otherwise the first in the grid), as the paper chose its
 * fine-tuning hyperparameters on dev per seed. The trainable parameters end at the kept run's best-dev weights.
 */
async function fineTuneOverGrid(
  ctx: SeedContext,
  classify: Classifier,
  trained: TrainedParameters,
  theta0: Map<string, tf.Tensor>,
  data: Record<'train' | 'dev' | 'test', EncodedExample[]>,
  gold: Record<'train' | 'dev' | 'test', number[]>,
  metric: 'acc' | 'f1',
  before: { dev: Scores; test: Scores },
  f0: { train: Float64Array; test: Float64Array },
  warn: (w: RunWarning) => void,
): Promise<FinetuneResult> {
  const f0Test = f0.test;
  const f = ctx.spec.finetune;
  const C = ctx.spec.task.labels.length;
  const rates = f.learningRates;
  const trainLossStart = meanCrossEntropy(f0.train, gold.train, C);
  const grid: FinetuneResult['grid'] = [];
  let kept: { run: Awaited<ReturnType<typeof fineTuneOnce>>; check: ReturnType<typeof checkTraining>; devMetric: number; weights?: Map<string, tf.Tensor> } | undefined;
  let seconds = 0;
  try {
    for (const [i, lr] of rates.entries()) {
      if (i > 0) restore(trained.trainable, theta0);
      const run = await fineTuneOnce(ctx, classify, trained.trainable, data, gold, metric, lr, rates.length > 1 ? ` (${i + 1} of ${rates.length} in the grid)` : '');
      seconds += run.seconds;
      const check = checkTraining({
        trainLossStart, trainLossEnd: run.devCurve[run.devCurve.length - 1]?.trainLoss ?? trainLossStart,
        devCurve: run.devCurve, nDev: data.dev.length, logitsBefore: f0Test, logitsAfter: run.testLogits,
        numClasses: C, optimizer: f.optimizer, learningRate: lr, steps: f.steps,
      });
      const devMetric = metric === 'f1' ? run.dev.f1 ?? run.dev.acc : run.dev.acc;
      grid.push({ learningRate: lr, devMetric, bestStep: run.bestStep, trained: check.trained });
      const better = !kept || devMetric > kept.devMetric || (devMetric === kept.devMetric && check.trained && !kept.check.trained);
      if (better) {
        kept?.weights && tf.dispose([...kept.weights.values()]);
        kept = { run, check, devMetric, weights: rates.length > 1 && i < rates.length - 1 ? snapshot(trained.trainable) : undefined };
      }
    }
    if (kept!.weights) restore(trained.trainable, kept!.weights);
  } finally {
    kept?.weights && tf.dispose([...kept.weights.values()]);
  }
  const { run, check } = kept!;
  if (rates.length > 1 && check.trained) {
    const sorted = [...rates].sort((a, b) => a - b);
    const edge = run.learningRate === sorted[0] ? 'smallest' : run.learningRate === sorted[sorted.length - 1] ? 'largest' : undefined;
    if (edge) warn({ code: 'lr-grid-edge', message: `the best learning rate on dev, ${run.learningRate}, is the grid's ${edge}: a better one may lie beyond it (extend finetune.learning_rate)` });
  }
  return {
    optimizer: f.optimizer,
    learningRate: run.learningRate,
    grid,
    trainable: trained.info,
    dropout: f.dropout,
    check,
    steps: f.steps,
    batchSize: f.batchSize,
    bestStep: run.bestStep,
    dev: run.dev,
    test: run.test,
    before,
    lossCurve: run.lossCurve,
    devCurve: run.devCurve,
    testLogitsBefore: byRows(f0Test, C),
    testLogits: byRows(run.testLogits, C),
    seconds,
  };
}

async function diagnose(
  ctx: SeedContext,
  classify: Classifier,
  trained: TrainedParameters,
  blocks: KernelBlocks,
  f0: Record<'train' | 'dev' | 'test', Float64Array>,
  data: Record<'train' | 'dev' | 'test', EncodedExample[]>,
  gold: Record<'train' | 'dev' | 'test', number[]>,
  ft: FinetuneResult,
  metric: 'acc' | 'f1',
  maxGradientsInMemory: number | undefined,
): Promise<Diagnostics> {
  const { spec, seed, template } = ctx;
  const C = spec.task.labels.length;
  const out: Diagnostics = {};
  // Fixed features: the SGD train×train kernel over the trained parameters, at the kept weights vs θ0.
  const sgd0 = blocks.sgd?.train;
  if (sgd0) {
    // The same implementation as the θ0 kernel (structured unless LoRA or 'plain'), so the two are comparable.
    const ntk = kernelFn(ctx, trained.view, (x: EncodedExample) => classify([x], { training: false }), trained.endKernel, { kinds: ['sgd'], maxGradientsInMemory });
    const end = await ntk(data.train, [], {
      signal: ctx.signal,
      onProgress: (p) => ctx.onEvent({ type: 'step', phase: 'kernel', template: template.name, seed, step: p.done, total: p.total, etaSeconds: p.etaSeconds }),
    });
    out.kernelChange = relativeDistance(end.sgd!.train.data, sgd0.data);
  }
  // Linearisation: the linearised model trained with the same batches, schedule and learning rate (SGD kernel for
  // SGD, A-SignGD for Adam), read at the step fine-tuning kept — the two models compared at the same moment.
  const update = spec.finetune.optimizer === 'sgd' ? 'sgd' : 'sign';
  const kb = update === 'sgd' ? blocks.sgd : blocks['asymmetric-signgd'];
  if (kb) {
    let atStep: Float64Array | undefined;
    linearizedDynamics({
      kernel: { train: kb.train, test: kb.test },
      f0: { train: f0.train, test: f0.test },
      labels: gold.train,
      loss: 'cross-entropy',
      update,
      steps: ft.bestStep,
      scheduleSteps: spec.finetune.steps,
      batchSize: Math.min(spec.finetune.batchSize, data.train.length),
      seed,
      learningRate: ft.learningRate,
      warmupSteps: spec.finetune.warmupSteps,
      maxGradNorm: spec.finetune.maxGradNorm > 0 ? spec.finetune.maxGradNorm : Infinity,
      signal: ctx.signal,
      onStep: ({ step, logits }) => { if (step === ft.bestStep) atStep = Float64Array.from(logits.test); },
    });
    const fFt = Float64Array.from(ft.testLogits.flat());
    const ftToLinearized = l2Distance(fFt, atStep!);
    const ftToInit = l2Distance(fFt, f0.test);
    out.linearization = {
      step: ft.bestStep,
      ftToLinearized,
      ftToInit,
      relative: ftToInit > 0 ? ftToLinearized / ftToInit : 0,
      test: scores(atStep!, gold.test, C, metric),
    };
  }
  return out;
}

function l2Distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

function skippedRowsWarning(skipped: { file: string; line: number; reason: string }[]): RunWarning {
  const byFile = new Map<string, number>();
  for (const r of skipped) byFile.set(r.file, (byFile.get(r.file) ?? 0) + 1);
  const first = skipped[0];
  return {
    code: 'skipped-rows',
    message: `skip_malformed dropped ${skipped.length} malformed row${skipped.length === 1 ? '' : 's'} (${[...byFile].map(([f, n]) => `${n} in ${f}`).join(', ')}; first: ${first.file}:${first.line}: ${first.reason}): the splits are smaller than the files`,
  };
}

function truncationWarning(maxLength: number, t: { n: number; tokens: number; total: number }): RunWarning {
  return {
    code: 'truncated',
    message: `max_length ${maxLength} cut ${t.n} of ${t.total} examples (${t.tokens} tokens in all, ${(t.tokens / t.n).toFixed(1)} per cut example): the model does not see the end of those sentences, which costs accuracy; raise max_length`,
  };
}

function chunkWarning(ctx: SeedContext, plan: { perChunk: number; chunks: number; passes: number; passesOneChunk: number }): RunWarning {
  const budget = ctx.memoryBudgetBytes ? `the memory budget (${Number((ctx.memoryBudgetBytes / 2 ** 20).toPrecision(3))} MB)` : ctx.spec.kernel.maxGradientsInMemory !== 'auto' ? `kernel.max_gradients_in_memory (${ctx.spec.kernel.maxGradientsInMemory})` : 'the free memory';
  return {
    code: 'memory-chunks',
    message: `${budget} holds the gradients of ${plan.perChunk} training example${plan.perChunk === 1 ? '' : 's'} at once: the kernel runs in ${plan.chunks} chunks and makes ${plan.passes} example passes instead of ${plan.passesOneChunk} (≈ ${(plan.passes / plan.passesOneChunk).toFixed(1)}× the time); raise --memory-mb / ntkLens.memoryBudgetMB or kernel.max_gradients_in_memory`,
  };
}

async function writeKernels(ctx: SeedContext, blocks: KernelBlocks, kinds: KernelKind[]): Promise<Partial<Record<KernelKind, Record<string, string>>>> {
  const out: Partial<Record<KernelKind, Record<string, string>>> = {};
  for (const kind of kinds) {
    const b = blocks[kind]!;
    out[kind] = {};
    for (const [split, block] of Object.entries(b)) {
      const file = ctx.store.kernelPath(ctx.key, ctx.seed, kind, split);
      const stacked = block.flipped
        ? { data: concat(block.data, block.flipped), shape: [2, ...block.shape] }
        : { data: block.data, shape: [...block.shape] };
      await writeNpy(file, { dtype: 'float64', ...stacked } as Parameters<typeof writeNpy>[1]);
      out[kind]![split] = file;
    }
  }
  return out;
}

function concat(a: Float64Array, b: Float64Array): Float64Array {
  const o = new Float64Array(a.length + b.length);
  o.set(a);
  o.set(b, a.length);
  return o;
}

function snapshot(params: Params): Map<string, tf.Tensor> {
  return new Map([...params].map(([n, v]) => [n, tf.clone(v)]));
}

function restore(params: Params, values: Map<string, tf.Tensor>): void {
  for (const [n, v] of params) {
    const t = values.get(n);
    if (t) v.assign(t);
  }
}

function scores(logits: Float64Array, gold: number[], C: number, metric: 'acc' | 'f1'): Scores {
  return scoreMetrics(mat(logits, C), gold, metric);
}

function mat(data: Float64Array, C: number): ScoreMatrix {
  return { data, shape: [data.length / C, C] };
}

/** Row-major data with `cols` columns → an array of rows. */
function byRows(data: ArrayLike<number>, cols: number): number[][] {
  const nRows = data.length / cols;
  return Array.from({ length: nRows }, (_, r) => Array.from({ length: cols }, (_, c) => data[r * cols + c]));
}

/** Eigenvalues (descending) of the symmetrised (N·C)×(N·C) train kernel. */
function spectrum(b: KernelBlock): number[] {
  const n = b.shape[0] * b.shape[1];
  const A = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) A[i * n + j] = 0.5 * (b.data[i * n + j] + b.data[j * n + i]);
  const { values } = symEig({ data: A, rows: n, cols: n });
  return Array.from(values).sort((x, y) => y - x);
}

function relativeDistance(a: Float64Array, b: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return den > 0 ? Math.sqrt(num / den) : 0;
}
