/**
 * Preflight: every check of an experiment that needs no computation, so that `ntk-lens validate` (and the editor)
 * never passes a file that `ntk-lens run` rejects, and a run rejects a bad file before it loads a model or computes
 * anything (runExperiment calls `requirePreflight` right after parsing the file).
 *
 * - data: the splits of every seed, as loadTaskSplits reads them: the data folder, `k-shot/<shots>-<seed>/` or the
 *   files it falls back to (train/dev/test files, a pool), a custom task's train/dev/test files, malformed rows;
 * - model: its folder (built in, a local path, or a Hub id in the local cache: one not there yet is an info, `run`
 *   downloads it), config.json, the safetensors headers only (header length and tensor byte ranges against the file
 *   size, tensor names and shapes against config.json; pickle weights refused), the tokenizer files; and a warning
 *   when max_length is more than the model's position embeddings take;
 * - templates: pieces, literals and label words against the tokenizer (one token each, one word per class);
 * - the `--template` names of run/kernel.
 * Each problem is located at the key it concerns (`spec.ranges`) or inside its template (`TemplateSpec.ranges`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DataError, loadTaskSplits } from '../data';
import { NATIVE_TENSORFLOW_PACKAGES, type BackendName } from '../backend';
import { IDENTICALLY_ZERO_GRADIENT } from '../kernel/parameter-subsets';
import { WASM_GRADIENT_BYTES } from '../kernel/structured-ntk';
import { HEAD_BIAS } from '../classifier/masked-lm-classifier';
import { isCausalConfig, languageModel, type ModelConfig } from '../model/language-model';
import { estimateMemory, fitProblem, mlpActivationFactor, mlpKindOf, trainedParameterCount, type FitSettings, type ModelShape } from './memory-fit';
import { inspectAnyCheckpoint } from '../model/load';
import { resolveModel } from '../model/hub';
import { SpecErrors, type ExperimentSpec, type SourceRange, type SpecError, type TemplateSpec } from '../spec';
import { compilePrompt, encodeStandard, labelWordId, labelWordIds, prepareTemplate, TemplateError, templateProblems } from '../template';
import { loadTokenizer, type TextTokenizer } from '../tokenize';
import { builtinModelDir } from './experiment';

/** A SpecError, or an `info` (e.g. a Hub model that `run` will download). */
export interface PreflightProblem extends Omit<SpecError, 'severity'> {
  severity: SpecError['severity'] | 'info';
}

export interface PreflightOptions {
  /** The backend the run will use (default: the file's); the memory check applies the wasm heap's limit. */
  backend?: BackendName;
  /** The run computes kernels only (`ntk-lens kernel`): no fine-tuning memory. */
  kernelsOnly?: boolean;
  /** The kernel's memory budget (--memory-mb), when given. */
  memoryBudgetMB?: number;
  /** The `--template` names of run/kernel: each must name a template of the file; only those are checked. */
  templates?: string[];
  /** The `--seeds` of run/kernel (default: the file's): the seeds whose data is checked. */
  seeds?: number[];
  /** Hugging Face cache folder (default: the hub module's: $HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub). */
  hubCacheDir?: string;
}

/** Where a problem of a key that the file does not have is reported: its first character. */
const FILE_START: Pick<SourceRange, 'line' | 'column' | 'endLine' | 'endColumn'> = { line: 1, column: 1, endLine: 1, endColumn: 1 };

type Place = Pick<SourceRange, 'line' | 'column' | 'endLine' | 'endColumn'>;

function problem(spec: ExperimentSpec, at: Place | undefined, message: string, severity: PreflightProblem['severity'] = 'error'): PreflightProblem {
  const r = at ?? FILE_START;
  return { file: spec.file, line: r.line, column: r.column, endLine: r.endLine, endColumn: r.endColumn, message, severity };
}

/**
 * Every problem of a parsed experiment that can be found without computing anything (see the file comment), sorted
 * by position. Errors mean `run` would fail; warnings and infos do not stop it.
 */
export async function preflight(spec: ExperimentSpec, opts: PreflightOptions = {}): Promise<PreflightProblem[]> {
  const problems: PreflightProblem[] = [];
  let templates = spec.templates;
  if (opts.templates) {
    const missing = opts.templates.filter((n) => !spec.templates.some((t) => t.name === n));
    if (missing.length) problems.push(unknownTemplatesProblem(spec, missing));
    templates = spec.templates.filter((t) => opts.templates!.includes(t.name));
  }
  problems.push(...checkData(spec, opts.seeds ?? spec.seeds));
  const model = await checkModel(spec, opts);
  problems.push(...model.problems);
  problems.push(...checkTemplates(spec, templates, model.tokenizer));
  if (model.config) problems.push(...checkParameterSets(spec, templates, model.config));
  if (model.config) problems.push(...checkMemory(spec, templates, model.config, opts, model.tokenizer));
  return problems.sort((a, b) => a.line - b.line || a.column - b.column);
}

/**
 * Runs preflight and throws SpecErrors listing its errors (the CLI exits 2 on those); returns the warnings and infos.
 */
export async function requirePreflight(spec: ExperimentSpec, opts: PreflightOptions = {}): Promise<PreflightProblem[]> {
  const problems = await preflight(spec, opts);
  const errors = problems.filter((p): p is SpecError => p.severity === 'error');
  if (errors.length) throw new SpecErrors(errors);
  return problems;
}

/** `--template` names the file does not have, located at its `templates` key. */
export function unknownTemplatesProblem(spec: ExperimentSpec, missing: string[]): SpecError {
  const names = missing.map((m) => `'${m}'`).join(', ');
  const p = problem(spec, spec.ranges.templates, `--template: no template named ${names}; the file has ${spec.templates.map((t) => t.name).join(', ')}.`);
  return { ...p, severity: 'error' };
}

/**
 * A template or label-word error located in the file: at the label word's value, at the offending characters of a
 * one-line template written without escapes, else at the template's value (or the item, for a task default).
 */
export function templateProblem(spec: ExperimentSpec, t: TemplateSpec, e: TemplateError): SpecError {
  const r = t.ranges;
  let at: Place = r.template ?? r.item;
  if (e.source === 'labelWord' && e.labelIndex !== undefined) {
    at = r.words[spec.task.labels[e.labelIndex]] ?? at;
  } else if (r.template && r.templateText?.exact && r.template.line === r.template.endLine) {
    const column = r.template.column + (r.templateText.offset - r.template.offset) + e.offset;
    at = { line: r.template.line, column, endLine: r.template.line, endColumn: column + Math.max(1, e.length) };
  }
  return { ...problem(spec, at, `template '${t.name}': ${e.message} (${e.hint})`), severity: 'error' };
}

// ---- data -------------------------------------------------------------------------------------------------------

/** Data checks that passed, by request, with the state of the files they read (the editor validates on every edit). */
const dataPassed = new Map<string, { files: string[]; signature: string }>();

function statKey(p: string): string {
  try {
    const s = fs.statSync(p);
    return `${s.mtimeMs}:${s.size}`;
  } catch {
    return '-';
  }
}

/** The state of the data folder, its k-shot folder and the files a passed check read (and their folders). */
function dataSignature(dataDir: string, files: string[]): string {
  const paths = new Set([dataDir, path.join(dataDir, 'k-shot'), ...files, ...files.map((f) => path.dirname(f))]);
  return [...paths].sort().map((p) => `${p}=${statKey(p)}`).join('|');
}

/** The splits of every seed load as a run loads them; problems at `data` (a custom task's files: at `files`). */
function checkData(spec: ExperimentSpec, seeds: number[]): PreflightProblem[] {
  const problems: PreflightProblem[] = [];
  const seen = new Set<string>();
  for (const seed of seeds) {
    const req = { shots: spec.shots, seed, testSet: spec.testSet, skipMalformed: spec.skipMalformed };
    const key = JSON.stringify({ task: spec.task, data: spec.data, ...req });
    const passed = dataPassed.get(key);
    if (passed && passed.signature === dataSignature(spec.data, passed.files)) continue;
    try {
      const files = [...new Set(Object.values(loadTaskSplits(spec.task, spec.data, req).files))];
      dataPassed.set(key, { files, signature: dataSignature(spec.data, files) });
    } catch (e) {
      dataPassed.delete(key);
      const message = (e as Error).message;
      if (seen.has(message)) continue;
      seen.add(message);
      problems.push(problem(spec, dataPlace(spec, e), message));
    }
  }
  return problems;
}

/** A custom task's own file is at fault: its `files` key; anything else: the `data` key. */
function dataPlace(spec: ExperimentSpec, e: unknown): Place | undefined {
  const file = e instanceof DataError ? e.file : undefined;
  const ownFiles = spec.taskName.toLowerCase() === 'custom' ? Object.values(spec.task.splitFiles).map((f) => path.resolve(spec.data, f)) : [];
  if (file && spec.ranges.files && ownFiles.includes(path.resolve(file))) return spec.ranges.files;
  return spec.ranges.data;
}

// ---- model --------------------------------------------------------------------------------------------------------

/** Tokenizers by folder, with the state of the folder's tokenizer files when loaded. */
const tokenizers = new Map<string, { signature: string; tokenizer: TextTokenizer }>();
const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt', 'vocab.json', 'merges.txt'];

async function tokenizerOf(dir: string): Promise<TextTokenizer> {
  const signature = TOKENIZER_FILES.map((f) => statKey(path.join(dir, f))).join('|');
  const cached = tokenizers.get(dir);
  if (cached?.signature === signature) return cached.tokenizer;
  const tokenizer = await loadTokenizer(dir);
  tokenizers.set(dir, { signature, tokenizer });
  return tokenizer;
}

/** The model's folder, config.json, safetensors headers and tokenizer; problems at `model` (else the file's start). */
async function checkModel(spec: ExperimentSpec, opts: PreflightOptions): Promise<{ problems: PreflightProblem[]; tokenizer?: TextTokenizer; config?: ModelConfig }> {
  const at = spec.ranges.model;
  const ref = spec.model;
  let dir: string;
  try {
    if (ref.kind === 'builtin') dir = builtinModelDir(ref.name);
    else if (ref.kind === 'path') {
      dir = ref.path;
      if (!(fs.existsSync(dir) && fs.statSync(dir).isDirectory())) {
        return { problems: [problem(spec, at, `Model folder not found: ${dir}; it should hold config.json, model.safetensors and the tokenizer files.`)] };
      }
    } else {
      try {
        dir = (await resolveModel(ref.id, { offline: true, cacheDir: opts.hubCacheDir })).dir;
      } catch {
        return { problems: [problem(spec, at, `'${ref.id}' is not in the local Hugging Face cache yet: run downloads it (its label words are checked once it is there).`, 'info')] };
      }
    }
  } catch (e) {
    return { problems: [problem(spec, at, (e as Error).message)] };
  }
  const problems: PreflightProblem[] = [];
  let config: ModelConfig | undefined;
  try {
    config = (await inspectAnyCheckpoint(dir)).config;
  } catch (e) {
    problems.push(problem(spec, at, (e as Error).message));
  }
  let tokenizer: TextTokenizer | undefined;
  try {
    tokenizer = await tokenizerOf(dir);
  } catch (e) {
    problems.push(problem(spec, at, (e as Error).message));
  }
  const limit = config && languageModel(config).maxTokens;
  if (config && limit !== undefined && spec.maxLength > limit) {
    problems.push(problem(spec, spec.ranges.max_length ?? at,
      `max_length ${spec.maxLength} is more than the model takes (max_position_embeddings ${config.maxPositions}: at most ${limit} tokens); ` +
      `inputs are cut to ${limit} tokens, and the run warns how many examples that shortens. Set max_length: ${limit} to say so in the file.`, 'warning'));
  }
  return { problems, tokenizer, config };
}

/**
 * Runs that cannot fit: the peak-memory estimate of each template's run (run/memory-fit.ts) against the backend's
 * hard limit — the wasm heap's 4 GiB, whatever the machine has. Other backends have no limit known before the run
 * (tensorflow uses the machine's memory; webgpu's device limit is read only once a device is open). An error at
 * `finetune` (or `model`), with every figure and the remedies.
 */
function checkMemory(spec: ExperimentSpec, templates: TemplateSpec[], config: ModelConfig, opts: PreflightOptions, tokenizer: TextTokenizer | undefined): PreflightProblem[] {
  if (resolveBackend(opts.backend ?? spec.backend) !== 'wasm') return [];
  const lm = languageModel(config);
  const shapes = lm.expectedShapes();
  const sizes = [...shapes.values()].map((s) => s.reduce((x, y) => x * y, 1));
  const shape: ModelShape = {
    parameters: sizes.reduce((a, b) => a + b, 0),
    hiddenSize: config.hiddenSize, numLayers: config.numLayers, numHeads: config.numHeads, intermediateSize: config.intermediateSize,
    largestTensor: Math.max(...sizes),
    mlpActivations: mlpActivationFactor(mlpKindOf(config)),
  };
  const maxTokens = Math.min(spec.maxLength, lm.maxTokens);
  const seen = new Set<string>();
  const out: PreflightProblem[] = [];
  for (const t of templates) {
    const set = t.parameters ?? spec.kernel.parameters;
    const settings: FitSettings = {
      trainedParameters: trainedParameterCount(shapes, set, {
        groupOf: (n) => lm.parameterGroup(n),
        isLoraTarget: lm.lora.isTarget,
        loraRank: spec.kernel.loraRank,
        standardHead: t.mode === 'standard' ? { classes: spec.task.labels.length, hidden: config.hiddenSize } : undefined,
      }),
      optimizer: spec.finetune.optimizer,
      batchSize: spec.finetune.batchSize,
      // Fine-tuning batches are padded to their longest train input, not to max_length.
      maxLength: Math.min(maxTokens, longestTrainInput(spec, t, tokenizer, maxTokens, opts.seeds ?? spec.seeds) ?? maxTokens),
      finetune: !opts.kernelsOnly,
      kernels: true,
      gradientBudgetBytes: Math.min(WASM_GRADIENT_BYTES, (opts.memoryBudgetMB ?? Infinity) * 2 ** 20),
      recordBudgetBytes: 256 * 2 ** 20,
    };
    const message = fitProblem(estimateMemory(shape, settings, 'wasm'), settings, 'wasm');
    if (!message || seen.has(message)) continue;
    seen.add(message);
    out.push(problem(spec, spec.ranges.finetune ?? spec.ranges.model, `template '${t.name}': ${message}`));
  }
  return out;
}

/** The longest train input of the template over the seeds' splits, in tokens (undefined when it cannot be told). */
function longestTrainInput(spec: ExperimentSpec, t: TemplateSpec, tokenizer: TextTokenizer | undefined, maxTokens: number, seeds: number[]): number | undefined {
  if (!tokenizer) return undefined;
  try {
    const prepared = t.mode === 'prompt' ? prepareTemplate(t.template!, tokenizer) : undefined;
    let longest = 0;
    for (const seed of seeds) {
      const { train } = loadTaskSplits(spec.task, spec.data, { shots: spec.shots, seed, testSet: spec.testSet, skipMalformed: spec.skipMalformed });
      for (const e of train) {
        const n = prepared
          ? compilePrompt(prepared, tokenizer, e, { maxLength: maxTokens, firstSentLimit: spec.firstSentLimit, otherSentLimit: spec.otherSentLimit }).inputIds.length
          : encodeStandard(tokenizer, e, maxTokens).inputIds.length;
        longest = Math.max(longest, n);
      }
    }
    return longest || undefined;
  } catch {
    return undefined; // the template or data checks report why
  }
}

/** The backend 'auto' will pick, without loading it: tensorflow when tfjs-node(-gpu) is installed, else wasm. */
function resolveBackend(name: BackendName): BackendName {
  if (name !== 'auto') return name;
  for (const pkg of NATIVE_TENSORFLOW_PACKAGES) {
    try { require.resolve(pkg); return 'tensorflow'; } catch { /* not installed */ }
  }
  return 'wasm';
}

/**
 * Parameter sets that select nothing of this model: `head` in prompt mode on a causal LM whose output layer is its
 * token embedding (GPT-2, tied Llama-layout models) — its logits have no parameters of their own; and `biases` on a
 * model whose only bias is the one added straight to the logits (ModernBERT without attention, MLP, norm or head
 * biases: its decoder bias; in standard mode the linear head's) — that bias's gradient is the same one-hot vector for
 * every input, so its kernel cannot tell examples apart.
 */
function checkParameterSets(spec: ExperimentSpec, templates: TemplateSpec[], config: ModelConfig): PreflightProblem[] {
  return [...checkBiasesSets(spec, templates, config), ...checkTiedHeadSets(spec, templates, config)];
}

function checkBiasesSets(spec: ExperimentSpec, templates: TemplateSpec[], config: ModelConfig): PreflightProblem[] {
  const lm = languageModel(config);
  const biases = [...lm.expectedShapes().keys()].filter((n) => n.includes('bias') && !IDENTICALLY_ZERO_GRADIENT.test(n));
  return templates.filter((t) => (t.parameters ?? spec.kernel.parameters) === 'biases').flatMap((t) => {
    // standard mode: the MLM head gives way to the linear head, whose bias is also added straight to the logits
    const standard = t.mode === 'standard';
    const outputBias = standard ? HEAD_BIAS : lm.outputBias;
    const selected = standard ? [...biases.filter((n) => lm.parameterGroup(n) !== 'head'), HEAD_BIAS] : biases;
    if (selected.some((n) => n !== outputBias)) return [];
    const at = t.parameters ? t.ranges.item : spec.ranges.kernel;
    if (selected.length === 0) {
      return [problem(spec, at, `template '${t.name}': 'parameters: biases' selects no parameter of this ${config.modelType} model: it has no bias tensors. Use no-embeddings, lora or all.`)];
    }
    return [problem(spec, at,
      `template '${t.name}': 'parameters: biases' selects only ${outputBias} of this ${config.modelType} model, which has no other bias tensors; `
      + 'that bias\'s gradient is the same one-hot vector for every input, so its kernel cannot tell examples apart. Use no-embeddings, lora or all.')];
  });
}

function checkTiedHeadSets(spec: ExperimentSpec, templates: TemplateSpec[], config: ModelConfig): PreflightProblem[] {
  if (!isCausalConfig(config) || !config.tieWordEmbeddings) return [];
  return templates.filter((t) => t.mode === 'prompt' && (t.parameters ?? spec.kernel.parameters) === 'head').map((t) => problem(spec, t.parameters ? t.ranges.item : spec.ranges.kernel,
    `template '${t.name}': 'parameters: head' selects nothing of this ${config.modelType} model: its output layer is the token embedding `
    + '(tie_word_embeddings), which is in the embeddings group. Use no-embeddings, biases or lora, or a standard (no-prompt) template, whose head is the linear-probe head.'));
}

// ---- templates ----------------------------------------------------------------------------------------------------

/**
 * The compile-time checks of a run, without data: template pieces (and, with the tokenizer, its literals and the
 * prepared template) and every label word (one token, in the vocabulary, one per class).
 */
function checkTemplates(spec: ExperimentSpec, templates: TemplateSpec[], tokenizer: TextTokenizer | undefined): PreflightProblem[] {
  const problems: PreflightProblem[] = [];
  for (const t of templates) {
    if (t.mode !== 'prompt') continue;
    const errors = templateProblems(t.template!, { numSentences: spec.task.numSentences, tokenizer });
    if (tokenizer) {
      if (errors.length === 0) catchTemplateError(() => prepareTemplate(t.template!, tokenizer), errors);
      const words = t.labelWords!;
      const before = errors.length;
      words.forEach((w, i) => catchTemplateError(() => labelWordId(tokenizer, w, i), errors));
      if (errors.length === before) catchTemplateError(() => labelWordIds(tokenizer, words), errors);
    }
    problems.push(...errors.map((e) => templateProblem(spec, t, e)));
  }
  return problems;
}

function catchTemplateError(f: () => unknown, into: TemplateError[]): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
    into.push(e);
  }
}
