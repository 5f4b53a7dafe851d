/**
 * Parsing and validation of the experiment file `*.ntk.yaml`.
 *
 * ```yaml
 * task: SST-2                          # one of TASKS (or an alias such as ag_news), or `custom`
 * data: ../shared/data/lm-bff/SST-2    # a folder with k-shot/<shots>-<seed>/, train/dev/test files, or a pool
 * shots: 16                            # default 16 (examples per class, for train and again for dev)
 * seeds: [13, 21, 42, 87, 100]         # default: LM-BFF's five seeds
 * model: ntk-mini                      # default; or a local checkpoint folder (./ ../ / ~), or a Hub id
 * max_length: 128                      # default: the task's (256 for MNLI, SNLI, RTE, AG News)
 * first_sent_limit: 110                # default: the task's (docs §1.5); other_sent_limit likewise
 * test_set: 1k                         # 1k (default: the kernel paper's test-1k/) or full
 * test_limit: 200                      # optional: evaluate N test examples (a fixed seed-42 sample, file order); dev_limit likewise
 * skip_malformed: false                # default false: a malformed data row is an error
 * backend: auto                        # auto | tensorflow | webgpu | wasm | cpu
 * finetune: {optimizer: sgd, learning_rate: [1.0e-3, 1.0e-2, 1.0e-1], steps: 1000, batch_size: 8}   # a grid: best on dev
 * kernel: {kinds: [sgd, asymmetric-signgd], solver: lstsq, parameters: all}
 * templates:
 *   - name: manual                     # the task's LM-BFF template and words when given alone
 *   - name: mine
 *     template: "*cls**sent_0*_It_was*mask*.*sep+*"
 *     words: {"0": terrible, "1": great}
 *     parameters: head                 # optional: this template's parameter set (default: kernel.parameters)
 *   - name: standard                   # no template: the no-prompt baseline
 * # task: custom also takes  columns: {text_a, text_b?, label}, labels: [...], files: {train, dev, test}, metrics
 * ```
 * Defaults are in `SPEC_DEFAULTS`. Relative paths resolve from the file's folder. Every problem found is returned
 * (not only the first) as a SpecError with its range; unknown keys get a "did you mean" hint.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Node, Pair } from 'yaml';
import { findTask, TASKS, TaskInfo } from '../data/tasks';
import { Checker, Field } from './checker';
import { parseCustomTask } from './custom-task';
import { didYouMean } from './suggest';
import { parseTemplates } from './templates';
import {
  BackendName, ExperimentSpec, FinetuneSpec, KernelKind, KernelSpec, ModelRef, Optimizer, ParameterSet, Solver,
  SourceRange, SpecErrors, SpecResult,
} from './types';

export { TEMPLATE_KEYS } from './templates';

/** Defaults of every optional field (documented in the module comment and in schemas/ntk.schema.json). */
export const SPEC_DEFAULTS = {
  shots: 16,
  seeds: [13, 21, 42, 87, 100],
  model: 'ntk-mini',
  testSet: '1k' as const,
  skipMalformed: false,
  backend: 'auto' as BackendName,
  templates: ['manual'],
  finetune: {
    optimizer: 'sgd', learningRates: [], steps: 1000, batchSize: 8, warmupSteps: 0, weightDecay: 0,
    maxGradNorm: 1.0, evalEvery: 100, dropout: true,
  } as FinetuneSpec,
  kernel: {
    kinds: ['sgd'], solver: 'lstsq', ridge: 0, aroundInit: false, parameters: 'all', loraRank: 8, untieDecoder: false, tiles: 1,
    maxGradientsInMemory: 'auto',
  } as KernelSpec,
};

export const TOP_LEVEL_KEYS = [
  'task', 'data', 'shots', 'seeds', 'model', 'max_length', 'first_sent_limit', 'other_sent_limit', 'test_set',
  'test_limit', 'dev_limit', 'skip_malformed', 'backend', 'finetune', 'kernel', 'templates', 'columns', 'labels',
  'files', 'metrics',
] as const;
const CUSTOM_ONLY_KEYS = ['columns', 'labels', 'files', 'metrics'];
export const FINETUNE_KEYS = ['optimizer', 'learning_rate', 'steps', 'batch_size', 'warmup_steps', 'weight_decay', 'max_grad_norm', 'eval_every', 'dropout'] as const;
export const KERNEL_KEYS = ['kinds', 'solver', 'ridge', 'around_init', 'parameters', 'lora_rank', 'untie_decoder', 'max_gradients_in_memory', 'tiles'] as const;
const OPTIMIZERS: Optimizer[] = ['sgd', 'adam'];

/**
 * The learning-rate grid of each optimizer when the file gives none (README "Fine-tuning defaults" says where each
 * comes from). Each seed fine-tunes with every rate and keeps the best on dev.
 *  - adam: LM-BFF's grid for RoBERTa-large {1e-5, 2e-5, 5e-5} spans too little for small models; we keep its 1e-5
 *    end and extend it by decades to 1e-3, where ntk-mini (2.4 M parameters) trains (measured, bench/RESULTS.md).
 *  - sgd: with gradients clipped at norm 1 (the reference's default), a step moves the weights by at most lr; 1e-4
 *    (the old default) left SST-2 standard-mode fine-tuning flat; the grid spans 1e-3 … 1e-1 (measured on ntk-mini).
 */
export const DEFAULT_LEARNING_RATES: Record<Optimizer, number[]> = {
  adam: [1e-5, 1e-4, 1e-3],
  sgd: [1e-3, 1e-2, 1e-1],
};
const KERNEL_KINDS: KernelKind[] = ['sgd', 'signgd', 'asymmetric-signgd'];
const SOLVERS: Solver[] = ['lstsq', 'logistic', 'asym-svm'];
const PARAMETER_SETS: ParameterSet[] = ['all', 'no-embeddings', 'head', 'biases', 'lora'];
const BACKENDS: BackendName[] = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

/**
 * Parses and validates an experiment file. Returns every error found; `spec` is set only when there are none.
 * @param text the file's contents
 * @param filePath its path (relative paths in it resolve from its folder)
 * @param opts.checkPaths check that `data` and a model path exist (default true)
 */
export function parseSpec(text: string, filePath: string, opts: { checkPaths?: boolean } = {}): SpecResult {
  const file = path.resolve(filePath);
  const baseDir = path.dirname(file);
  const checkPaths = opts.checkPaths ?? true;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const c = new Checker(file, lines, text);
  for (const e of doc.errors) c.error(c.rangeOf(e.pos[0], e.pos[1]), `YAML: ${e.message.split('\n')[0]}`);
  for (const w of doc.warnings) c.error(c.rangeOf(w.pos[0], w.pos[1]), `YAML: ${w.message.split('\n')[0]}`, 'warning');
  if (c.errors.some((e) => e.severity === 'error')) return { errors: c.errors };
  const top = doc.contents as Node | null;
  const fileStart = c.rangeOf(0, Math.max(0, text.indexOf('\n') < 0 ? text.length : text.indexOf('\n')));
  if (top === null || (isScalar(top) && top.value === null)) {
    c.error(fileStart, 'The experiment file is empty: it needs at least `task` and `data` (and usually `templates`).');
    return { errors: c.errors };
  }
  const f = c.fields(top, 'the experiment file', TOP_LEVEL_KEYS, fileStart);
  if (!f) return { errors: c.errors };
  const ranges: Record<string, SourceRange> = {};
  for (const [k, v] of f) ranges[k] = c.nodeRange(v.value ?? v.key);
  const get = (k: string): Field | undefined => f.get(k);

  // task (a built-in task or `custom`)
  let task: TaskInfo | undefined;
  let taskName = '';
  const taskField = get('task');
  if (!taskField) c.error(fileStart, "Missing 'task': name one of " + `${Object.keys(TASKS).join(', ')}, or 'custom'.`);
  else {
    const name = c.str(taskField, 'task');
    if (name !== undefined) {
      taskName = name;
      if (name.toLowerCase() === 'custom') task = parseCustomTask(c, f, taskField);
      else {
        task = findTask(name);
        if (!task) c.at(taskField.value, `Unknown task '${name}'.${didYouMean(name, Object.keys(TASKS))} Known: ${Object.keys(TASKS).join(', ')}, or 'custom'.`);
      }
    }
  }
  if (taskName.toLowerCase() !== 'custom') {
    for (const k of CUSTOM_ONLY_KEYS) {
      const fk = get(k);
      if (fk) c.at(fk.key, `'${k}' is only for 'task: custom' (a built-in task has its own ${k}).`);
    }
  }

  // data folder
  let data = '';
  const dataField = get('data');
  if (!dataField) c.error(fileStart, "Missing 'data': the task's data folder (with k-shot/<shots>-<seed>/, train/dev/test files, or pool/train.json).");
  else {
    const d = c.str(dataField, 'data');
    if (d !== undefined) {
      data = resolvePath(baseDir, d);
      if (checkPaths && !(fs.existsSync(data) && fs.statSync(data).isDirectory())) {
        c.at(dataField.value, `Data folder not found: ${data} (relative paths resolve from ${baseDir}).`);
      }
    }
  }

  const intOr = (k: string, min: number, dflt: number | undefined): number | undefined => {
    const fk = get(k);
    return fk ? c.int(fk, k, min) : dflt;
  };
  const shots = intOr('shots', 1, SPEC_DEFAULTS.shots);
  const seeds = parseSeeds(c, get('seeds'));
  const model = parseModel(c, get('model'), baseDir, checkPaths);
  const maxLength = intOr('max_length', 8, task?.maxLength ?? 128);
  const firstSentLimit = intOr('first_sent_limit', 1, task?.firstSentLimit);
  const otherSentLimit = intOr('other_sent_limit', 1, task?.otherSentLimit);
  const testSetField = get('test_set');
  const testSet = testSetField ? c.oneOf(testSetField, 'test_set', ['1k', 'full'] as const) : SPEC_DEFAULTS.testSet;
  const testLimit = intOr('test_limit', 1, undefined);
  const devLimit = intOr('dev_limit', 1, undefined);
  const skipField = get('skip_malformed');
  const skipMalformed = skipField ? c.bool(skipField, 'skip_malformed') : SPEC_DEFAULTS.skipMalformed;
  const backendField = get('backend');
  const backend = backendField ? c.oneOf(backendField, 'backend', BACKENDS) : SPEC_DEFAULTS.backend;
  const finetune = parseFinetune(c, get('finetune'));
  const kernel = parseKernel(c, get('kernel'), task);
  const templates = parseTemplates(c, get('templates'), task, fileStart);
  const loraRankKey = kernel && templates ? loraRankField(get('kernel')) : undefined;
  if (loraRankKey && kernel!.parameters !== 'lora' && !templates!.some((t) => t.parameters === 'lora')) {
    c.at(loraRankKey, "'lora_rank' is only used with 'parameters: lora' (in 'kernel' or in a template).");
  }

  c.errors.sort((a, b) => a.line - b.line || a.column - b.column);
  if (c.errors.some((e) => e.severity === 'error') || !task || shots === undefined || !seeds || !model || maxLength === undefined ||
      !testSet || skipMalformed === undefined || !backend || !finetune || !kernel || !templates) {
    return { errors: c.errors };
  }
  const spec: ExperimentSpec = {
    file, taskName, task: { ...task, maxLength }, data, shots, seeds, model, maxLength, firstSentLimit, otherSentLimit,
    testSet, testLimit, devLimit, skipMalformed, backend, finetune, kernel, templates, ranges,
  };
  return { spec, errors: c.errors };
}

/** Reads and parses a *.ntk.yaml file; throws SpecErrors listing every error. */
export function loadSpec(filePath: string, opts: { checkPaths?: boolean } = {}): ExperimentSpec {
  return requireSpec(parseSpec(fs.readFileSync(filePath, 'utf8'), filePath, opts));
}

/** The spec of a result, or SpecErrors with all its errors. */
export function requireSpec(result: SpecResult): ExperimentSpec {
  if (!result.spec) throw new SpecErrors(result.errors.filter((e) => e.severity === 'error'));
  return result.spec;
}

/** `~` expands to the home folder; relative paths resolve from `baseDir`. */
function resolvePath(baseDir: string, p: string): string {
  if (p === '~' || p.startsWith('~/')) return path.join(os.homedir(), p.slice(1));
  return path.resolve(baseDir, p);
}

function parseSeeds(c: Checker, f: Field | undefined): number[] | undefined {
  if (!f) return SPEC_DEFAULTS.seeds.slice();
  if (!isSeq(f.value) || f.value.items.length === 0) { c.at(f.value ?? f.key, "'seeds' must be a non-empty list of integers, e.g. [13, 21, 42, 87, 100]."); return undefined; }
  const seeds: number[] = [];
  let ok = true;
  for (const item of f.value.items as Node[]) {
    const v = isScalar(item) ? item.value : undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) { c.at(item, 'A seed must be an integer ≥ 0.'); ok = false; continue; }
    if (seeds.includes(v)) { c.at(item, `Seed ${v} is listed twice.`); ok = false; continue; }
    seeds.push(v);
  }
  return ok ? seeds : undefined;
}

/**
 * What a `model:` value names: 'ntk-mini' (built in); a folder (a path: ./, ../, /, ~, a drive letter, a backslash,
 * or any value that exists as a file or folder beside the file); else a Hub id ('name' or 'org/name'); undefined
 * for a value that is none of these. Shared with studies, whose `model:` values mean the same.
 */
export function modelRefOf(m: string, baseDir: string): ModelRef | undefined {
  if (m === 'ntk-mini') return { kind: 'builtin', name: 'ntk-mini' };
  const looksLikePath = /^(\.{1,2}([/\\]|$)|[/\\~]|[A-Za-z]:[/\\])/.test(m) || m.includes('\\');
  const resolved = resolvePath(baseDir, m);
  if (looksLikePath || fs.existsSync(resolved)) return { kind: 'path', path: resolved };
  if (/^[\w.-]+(\/[\w.-]+)?$/.test(m)) return { kind: 'hub', id: m };
  return undefined;
}

function parseModel(c: Checker, f: Field | undefined, baseDir: string, checkPaths: boolean): ModelRef | undefined {
  if (!f) return { kind: 'builtin', name: 'ntk-mini' };
  const m = c.str(f, 'model');
  if (m === undefined) return undefined;
  const ref = modelRefOf(m, baseDir);
  if (ref?.kind === 'path' && checkPaths && !(fs.existsSync(ref.path) && fs.statSync(ref.path).isDirectory())) {
    c.at(f.value, `Model folder not found: ${ref.path} (relative paths resolve from ${baseDir}); it should hold config.json and model.safetensors.`);
    return undefined;
  }
  if (ref) return ref;
  c.at(f.value, `'model' must be 'ntk-mini', a local folder (starting with ./, ../ or /) or a Hub id like 'roberta-base' or 'org/name'; got '${m}'.`);
  return undefined;
}

/** The `finetune` mapping (also of study files), every default filled in. */
export function parseFinetune(c: Checker, f: Field | undefined): FinetuneSpec | undefined {
  const out: FinetuneSpec = { ...SPEC_DEFAULTS.finetune };
  if (!f) return out;
  const m = c.fields(f.value, "'finetune'", FINETUNE_KEYS, c.nodeRange(f.key));
  if (!m) return undefined;
  let ok = true;
  const set = <K extends keyof FinetuneSpec>(k: K, v: FinetuneSpec[K] | undefined): void => { if (v === undefined) ok = false; else out[k] = v; };
  for (const [k, fk] of m) {
    switch (k) {
      case 'optimizer': set('optimizer', c.oneOf(fk, k, OPTIMIZERS)); break;
      case 'learning_rate': set('learningRates', parseRates(c, fk)); break;
      case 'steps': set('steps', c.int(fk, k, 1)); break;
      case 'batch_size': set('batchSize', c.int(fk, k, 1)); break;
      case 'warmup_steps': set('warmupSteps', c.int(fk, k, 0)); break;
      case 'weight_decay': set('weightDecay', c.num(fk, k, 0)); break;
      case 'max_grad_norm': set('maxGradNorm', c.num(fk, k, 0)); break;
      case 'eval_every': set('evalEvery', c.int(fk, k, 1)); break;
      case 'dropout': set('dropout', c.bool(fk, k)); break;
    }
  }
  if (ok && out.learningRates.length === 0) out.learningRates = DEFAULT_LEARNING_RATES[out.optimizer].slice();
  return ok ? out : undefined;
}

/** The `lora_rank` key node of the `kernel` mapping, if present. */
function loraRankField(f: Field | undefined): Node | undefined {
  if (!f || !isMap(f.value)) return undefined;
  const pair = (f.value.items as Pair[]).find((p) => isScalar(p.key) && p.key.value === 'lora_rank');
  return pair?.key as Node | undefined;
}

/** `learning_rate: 1e-3` or a non-empty list of distinct positive numbers (a grid, searched on dev). */
function parseRates(c: Checker, f: Field): number[] | undefined {
  if (!isSeq(f.value)) {
    const v = c.num(f, 'learning_rate', 0, true);
    return v === undefined ? undefined : [v];
  }
  const items = f.value.items as Node[];
  if (items.length === 0) { c.at(f.value, "'learning_rate' must be a number > 0 or a non-empty list of them, e.g. [1.0e-3, 1.0e-2]."); return undefined; }
  const out: number[] = [];
  for (const item of items) {
    const v = isScalar(item) ? item.value : undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) { c.at(item, "A learning rate must be a number > 0."); return undefined; }
    if (out.includes(v)) { c.at(item, `Learning rate ${v} is listed twice.`); return undefined; }
    out.push(v);
  }
  return out;
}

/** The `kernel` mapping (also of study files), every default filled in. */
export function parseKernel(c: Checker, f: Field | undefined, task: TaskInfo | undefined): KernelSpec | undefined {
  const out: KernelSpec = { ...SPEC_DEFAULTS.kernel, kinds: SPEC_DEFAULTS.kernel.kinds.slice() };
  if (!f) return out;
  const m = c.fields(f.value, "'kernel'", KERNEL_KEYS, c.nodeRange(f.key));
  if (!m) return undefined;
  let ok = true;
  const set = <K extends keyof KernelSpec>(k: K, v: KernelSpec[K] | undefined): void => { if (v === undefined) ok = false; else out[k] = v; };
  for (const [k, fk] of m) {
    switch (k) {
      case 'kinds': {
        const v = fk.value;
        if (!isSeq(v) || v.items.length === 0) { c.at(v ?? fk.key, `'kinds' must be a non-empty list of ${KERNEL_KINDS.join(', ')}.`); ok = false; break; }
        const kinds: KernelKind[] = [];
        for (const item of v.items as Node[]) {
          const s = isScalar(item) ? String(item.value) : '';
          if (!(KERNEL_KINDS as string[]).includes(s)) { c.at(item, `Unknown kernel kind '${s}'; use ${KERNEL_KINDS.join(', ')}.${didYouMean(s, KERNEL_KINDS)}`); ok = false; }
          else if (kinds.includes(s as KernelKind)) { c.at(item, `Kernel kind '${s}' is listed twice.`); ok = false; }
          else kinds.push(s as KernelKind);
        }
        if (ok) out.kinds = kinds;
        break;
      }
      case 'solver': {
        const s = c.oneOf(fk, k, SOLVERS);
        if (s === 'asym-svm' && task && task.labels.length !== 2) {
          c.at(fk.value, `The 'asym-svm' solver (AsK-LS) is for binary tasks; '${task.name}' has ${task.labels.length} classes. Use lstsq or logistic.`);
          ok = false;
        } else set('solver', s);
        break;
      }
      case 'ridge': set('ridge', c.num(fk, k, 0)); break;
      case 'around_init': set('aroundInit', c.bool(fk, k)); break;
      case 'parameters': set('parameters', c.oneOf(fk, k, PARAMETER_SETS)); break;
      case 'lora_rank': set('loraRank', c.int(fk, k, 1)); break;
      case 'untie_decoder': set('untieDecoder', c.bool(fk, k)); break;
      case 'tiles': set('tiles', c.int(fk, k, 1)); break;
      case 'max_gradients_in_memory': {
        const s = c.scalar(fk, k);
        if (s && s.value === 'auto') out.maxGradientsInMemory = 'auto';
        else if (s && typeof s.value === 'number' && Number.isInteger(s.value) && s.value >= 1) out.maxGradientsInMemory = s.value;
        else { if (s) c.at(s, "'max_gradients_in_memory' must be 'auto' or an integer ≥ 1."); ok = false; }
        break;
      }
    }
  }
  return ok ? out : undefined;
}

