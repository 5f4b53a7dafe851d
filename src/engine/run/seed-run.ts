/**
 * One (template, seed) comparison, in the order of the paper's procedure:
 *   1. encode the k-shot split with the template (or the standard encoding);
 *   2. at the pre-trained weights θ0: the initial logits f0 and the kernels (train×train, train×dev, train×test);
 *   3. kernel predictions: each solver's hyperparameters chosen on dev;
 *   4. fine-tuning from θ0 (dev evaluation, best-dev restore);
 *   5. kernel-regime diagnostics: the SGD train kernel at the fine-tuned weights (fixed features) and the linearised
 *      model trained in function space with the same batches (linearisation);
 *   6. the parameters are put back to θ0 for the next seed.
 * Kernels are written as .npy files as soon as they exist; the seed's JSON is written by the caller.
 */
import * as tf from '@tensorflow/tfjs';
import { addLinearProbeHead, HEAD_BIAS, HEAD_WEIGHT, predictLogits, promptClassifier, standardClassifier, type Classifier } from '../classifier/masked-lm-classifier';
import type { EncodedExample } from '../classifier/batch';
import type { Example, TaskSplits } from '../data';
import { crossEntropyLoss, finetune, linearizedDynamics } from '../finetune';
import { defaultMaxGradients, empiricalNtkFn, loraSubspace, selectParameters, type KernelBlock, type KernelParameter, type KernelResult as KernelBlocks } from '../kernel';
import { structuredNtkFn, type EmpiricalNtk, type EmpiricalNtkOptions } from '../kernel';
import { parameterGroup, type EncoderConfig, type Params } from '../model';
import { recordingModel, type RecordHead } from '../model/recording';
import { agreement, argmaxRows, pearson } from '../report/metrics';
import { writeNpy } from '../report/npy';
import type { ResultsStore } from '../report/store';
import type { Diagnostics, FinetuneResult, KernelKind, KernelResult, RunEvent, Scores, SeedResult } from '../report/types';
import { scoreMetrics, selectOnDev, symEig, type ScoreMatrix, type SolverName } from '../solve';
import type { ExperimentSpec, TemplateSpec } from '../spec';
import { compilePrompt, encodeStandard, type PreparedTemplate } from '../template';
import type { TextTokenizer } from '../tokenize';
import { throwIfAborted } from '../util/abort';
import { mulberry32, shuffledCopy } from '../util/random';

export interface LoadedModel {
  id: string;
  dir: string;
  /** sha256 of the checkpoint's config, weights and tokenizer files (model/fingerprint.ts). */
  fingerprint: string;
  config: EncoderConfig;
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
  const { spec, template, seed, model, splits } = ctx;
  const where = { template: template.name, seed };
  const emit = (e: RunEvent) => ctx.onEvent(e);
  const classes = spec.task.labels;
  const C = classes.length;

  // 1. Encode.
  const dev = limitRows(splits.dev, spec.devLimit);
  const test = limitRows(splits.test, spec.testLimit);
  const enc = (examples: Example[]) => examples.map((e) => encodeExample(ctx, e));
  const data = { train: enc(splits.train), dev: enc(dev), test: enc(test) };
  const gold = {
    train: splits.train.map((e) => classIndex(classes, e)),
    dev: dev.map((e) => classIndex(classes, e)),
    test: test.map((e) => classIndex(classes, e)),
  };
  const metric = spec.task.metrics.includes('f1') ? 'f1' : 'acc';

  // The trainable parameters: the model's, plus the LP head in standard mode (removed again at the end).
  const params: Params = new Map(model.params);
  const padId = model.tokenizer.padId;
  let classify: Classifier;
  if (template.mode === 'prompt') {
    classify = promptClassifier(params, model.config, padId, ctx.labelIds!);
  } else {
    emit({ type: 'phase', phase: 'finetune', ...where, message: 'fitting the linear-probe head on frozen features' });
    await addLinearProbeHead(params, model.config, padId, data.train, gold.train, C);
    classify = standardClassifier(params, model.config, padId);
  }
  const { parameters: kernelParams, dispose: disposeKernelParams } = kernelParameters(ctx, params); // LoRA: its A matrices
  const theta0 = snapshot(params);
  try {
    // 2. f0 and the kernels at θ0.
    emit({ type: 'phase', phase: 'kernel', ...where, message: `initial logits and ${spec.kernel.kinds.join(', ')} kernels at the pre-trained weights` });
    const parameterCount = countKernelCoordinates(kernelParams, spec.kernel.loraRank);
    const kinds = (ctx.finetuneOnly ? [] : spec.kernel.kinds) as KernelKind[];
    // The diagnostics need the SGD kernel (fixed features; linearised SGD) even when the file does not ask for it.
    const extraSgd = !kinds.includes('sgd') && !ctx.kernelsOnly && !ctx.finetuneOnly;
    const kernelStart = Date.now();
    const outputFn = (x: EncodedExample) => classify([x], { training: false });
    const maxGradientsInMemory = gradientCap(ctx, parameterCount, kinds);
    const ntk = ctx.finetuneOnly ? undefined! : kernelFn(ctx, params, outputFn, kernelParams, { kinds: extraSgd ? [...kinds, 'sgd'] : kinds, maxGradientsInMemory });
    // f0 = the model's logits at θ0 [M·C]: taken from the kernel's own forward passes where it reports them (the
    // structured kernel does), the rest computed here.
    const sets = { train: data.train, dev: data.dev, test: data.test };
    const f0Seen = { train: new Uint8Array(data.train.length), dev: new Uint8Array(data.dev.length), test: new Uint8Array(data.test.length) };
    const f0 = { train: new Float64Array(data.train.length * C), dev: new Float64Array(data.dev.length * C), test: new Float64Array(data.test.length * C) };
    const onOutputs = (set: string, indices: number[], values: Float32Array): void => {
      if (!(set in f0)) return;
      const key = set as keyof typeof f0;
      indices.forEach((i, r) => { f0Seen[key][i] = 1; for (let c = 0; c < C; c++) f0[key][i * C + c] = values[r * C + c]; });
    };
    const blocks: KernelBlocks = ctx.finetuneOnly ? {} : await ntk(data.train, [{ name: 'dev', inputs: data.dev }, { name: 'test', inputs: data.test }], {
      signal: ctx.signal,
      onProgress: (p) => emit({ type: 'step', phase: 'kernel', ...where, step: p.done, total: p.total, etaSeconds: p.etaSeconds }),
      onOutputs,
    });
    const kernelSeconds = (Date.now() - kernelStart) / 1000;
    for (const key of ['train', 'dev', 'test'] as const) {
      const missing = [...f0Seen[key].keys()].filter((i) => !f0Seen[key][i]);
      if (missing.length) onOutputs(key, missing, Float32Array.from(await predictLogits(classify, missing.map((i) => sets[key][i]))));
    }
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
      return { ...seedShell(ctx, data, test, gold.test), kernels, diagnostics: {}, seconds: (Date.now() - started) / 1000 };
    }

    // 4. Fine-tuning from θ0.
    throwIfAborted(ctx.signal, 'run: before fine-tuning');
    const ft = await fineTune(ctx, classify, params, data, gold, metric, before);
    ft.testLogitsBefore = byRows(f0.test, C);
    const ftPred = argmaxRows(Float64Array.from(ft.testLogits.flat()), test.length, C);
    for (const kind of kinds) {
      const k = kernels[kind]!;
      k.agreement = agreement(argmaxRows(Float64Array.from(k.testScores.flat()), test.length, C), ftPred);
      k.logitCorrelation = pearson(ft.testLogits.flat(), k.testScores.flat());
    }

    // 5. Diagnostics of the kernel regime.
    emit({ type: 'phase', phase: 'diagnostics', ...where, message: 'fixed features (kernel change) and linearisation' });
    const diagnostics = await diagnose(ctx, classify, params, kernelParams, blocks, f0, data, gold, ft, metric, maxGradientsInMemory);
    return { ...seedShell(ctx, data, test, gold.test), finetune: ft, kernels, diagnostics, seconds: (Date.now() - started) / 1000 };
  } finally {
    disposeKernelParams();
    restore(params, theta0);
    tf.dispose([...theta0.values()]);
    for (const name of [HEAD_WEIGHT, HEAD_BIAS]) {
      if (!model.params.has(name)) params.get(name)?.dispose();
    }
  }
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
  const cap = defaultMaxGradients(parameterCount, { budgetBytes: ctx.memoryBudgetBytes, signCopies: kinds.some((k) => k !== 'sgd') });
  return Math.max(2 * C, cap);
}

function encodeExample(ctx: SeedContext, e: Example): EncodedExample {
  const { spec, template, model } = ctx;
  if (template.mode === 'standard') {
    const s = encodeStandard(model.tokenizer, e, spec.maxLength);
    return { ...s, maskPos: -1 };
  }
  const opts = { maxLength: spec.maxLength, firstSentLimit: spec.firstSentLimit, otherSentLimit: spec.otherSentLimit };
  return compilePrompt(ctx.prepared ?? template.template!, model.tokenizer, e, opts);
}

function classIndex(classes: string[], e: Example): number {
  const i = classes.indexOf(e.label);
  if (i < 0) throw new Error(`${e.source.file}:${e.source.line}: label '${e.label}' is not one of the task's labels (${classes.join(', ')})`);
  return i;
}

/** The θ0 kernel function: structured (one batched recording per batch of examples) unless 'plain' or LoRA. */
function kernelFn(ctx: SeedContext, params: Params, outputFn: (x: EncodedExample) => tf.Tensor2D, kernelParams: KernelParameter[], opts: EmpiricalNtkOptions): EmpiricalNtk<EncodedExample> {
  if ((ctx.kernelImplementation ?? 'structured') === 'plain' || ctx.spec.kernel.parameters === 'lora') return empiricalNtkFn(outputFn, kernelParams, opts);
  const head: RecordHead = ctx.template.mode === 'prompt'
    ? { kind: 'mlm', labelIds: ctx.labelIds! }
    : { kind: 'linear', weight: params.get(HEAD_WEIGHT)!, bias: params.get(HEAD_BIAS)! };
  return structuredNtkFn(recordingModel(params, ctx.model.config, ctx.model.tokenizer.padId, head), kernelParams, opts);
}

/** The kernel's parameters, and what releases the tensors made for them (LoRA's random A matrices). */
function kernelParameters(ctx: SeedContext, params: Params): { parameters: KernelParameter[]; dispose(): void } {
  const { spec, model, seed } = ctx;
  const groupOf = (name: string) => (name === HEAD_WEIGHT || name === HEAD_BIAS ? 'head' : parameterGroup(name, model.config));
  if (spec.kernel.parameters === 'lora') {
    // α = r (scale 1). The random A matrices are small (r × H per matrix) and live until the seed ends.
    const sub = loraSubspace(params, groupOf, { rank: spec.kernel.loraRank, alpha: spec.kernel.loraRank, seed });
    return { parameters: sub.parameters, dispose: () => sub.dispose() };
  }
  return { parameters: selectParameters(params, spec.kernel.parameters, groupOf), dispose: () => undefined };
}

/** Coordinates entering the kernel: a LoRA-projected [out, in] matrix contributes out·r. */
function countKernelCoordinates(ps: KernelParameter[], loraRank: number): number {
  return ps.reduce((s, p) => s + (p.project ? p.variable.shape[0] * loraRank : p.variable.size), 0);
}

async function fineTune(
  ctx: SeedContext,
  classify: Classifier,
  params: Params,
  data: Record<'train' | 'dev' | 'test', EncodedExample[]>,
  gold: Record<'train' | 'dev' | 'test', number[]>,
  metric: 'acc' | 'f1',
  before: { dev: Scores; test: Scores },
): Promise<FinetuneResult> {
  const { spec, seed, template } = ctx;
  const f = spec.finetune;
  const C = spec.task.labels.length;
  const started = Date.now();
  ctx.onEvent({ type: 'phase', phase: 'finetune', template: template.name, seed, message: `${f.optimizer} lr ${f.learningRate}, ${f.steps} steps, batch ${f.batchSize}` });
  const result = await finetune({
    params,
    lossFn: (batch, { training, seed: s }) =>
      tf.tidy(() => crossEntropyLoss(classify(batch.map((i) => data.train[i]), { training: training && f.dropout, seed: s }), batch.map((i) => gold.train[i]))),
    nTrain: data.train.length,
    steps: f.steps,
    batchSize: Math.min(f.batchSize, data.train.length),
    optimizer: f.optimizer === 'adam' ? 'adamw' : 'sgd',
    learningRate: f.learningRate,
    warmupSteps: f.warmupSteps,
    weightDecay: f.weightDecay,
    maxGradNorm: f.maxGradNorm > 0 ? f.maxGradNorm : Infinity,
    evalEvery: f.evalEvery,
    evaluate: async () => {
      const s = scores(await predictLogits(classify, data.dev), gold.dev, C, metric);
      return { metric: metric === 'f1' ? s.f1! : s.acc };
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
  return {
    optimizer: f.optimizer,
    learningRate: f.learningRate,
    steps: f.steps,
    batchSize: f.batchSize,
    bestStep: result.bestStep,
    dev: scores(devLogits, gold.dev, C, metric),
    test: scores(testLogits, gold.test, C, metric),
    before,
    lossCurve: result.lossCurve,
    devCurve: result.devCurve,
    testLogitsBefore: [],
    testLogits: byRows(testLogits, C),
    seconds: (Date.now() - started) / 1000,
  };
}

async function diagnose(
  ctx: SeedContext,
  classify: Classifier,
  params: Params,
  kernelParams: KernelParameter[],
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
  // Fixed features: the SGD train×train kernel at the fine-tuned weights against the one at θ0.
  const sgd0 = blocks.sgd?.train;
  if (sgd0) {
    // The same implementation as the θ0 kernel (structured unless LoRA or 'plain'), so the two are comparable.
    const ntk = kernelFn(ctx, params, (x: EncodedExample) => classify([x], { training: false }), kernelParams, { kinds: ['sgd'], maxGradientsInMemory });
    const end = await ntk(data.train, [], {
      signal: ctx.signal,
      onProgress: (p) => ctx.onEvent({ type: 'step', phase: 'kernel', template: template.name, seed, step: p.done, total: p.total, etaSeconds: p.etaSeconds }),
    });
    out.kernelChange = relativeDistance(end.sgd!.train.data, sgd0.data);
  }
  // Linearisation: the linearised model trained with the same batches (SGD kernel for SGD, A-SignGD for Adam).
  const update = spec.finetune.optimizer === 'sgd' ? 'sgd' : 'sign';
  const kb = update === 'sgd' ? blocks.sgd : blocks['asymmetric-signgd'];
  if (kb) {
    const lin = linearizedDynamics({
      kernel: { train: kb.train, test: kb.test },
      f0: { train: f0.train, test: f0.test },
      labels: gold.train,
      loss: 'cross-entropy',
      update,
      steps: spec.finetune.steps,
      batchSize: Math.min(spec.finetune.batchSize, data.train.length),
      seed,
      learningRate: spec.finetune.learningRate,
      warmupSteps: spec.finetune.warmupSteps,
      maxGradNorm: spec.finetune.maxGradNorm > 0 ? spec.finetune.maxGradNorm : Infinity,
      signal: ctx.signal,
    });
    const fFt = Float64Array.from(ft.testLogits.flat());
    const diff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      let s = 0;
      for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
      return Math.sqrt(s);
    };
    const moved = diff(fFt, f0.test);
    out.linearizationDistance = moved > 0 ? diff(fFt, lin.logits.test) / moved : 0;
    out.linearizedTest = scores(lin.logits.test, gold.test, C, metric);
  }
  return out;
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
