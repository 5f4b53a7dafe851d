/**
 * The study file `*.ntk-study.yaml`: the paper's whole table from one file.
 *
 * ```yaml
 * model: roberta-base                    # or a list of models
 * data: ../shared/data/lm-bff            # holds <TASK>/k-shot/<shots>-<seed>/
 * tasks: [SST-2, sst-5, mr, ...]         # default: the 14 LM-BFF tasks
 * shots: 16                              # or a list
 * seeds: [13, 21, 42, 87, 100]
 * modes: [prompt, standard]              # prompt: the task's manual template and words; standard: no prompt
 * test_limit: 1000                       # dev_limit, max_length, backend likewise (as in experiment files)
 * finetune: {optimizer: sgd, learning_rate: 1.0e-3, steps: 1000, batch_size: 8}
 * kernel: {kinds: [sgd, asymmetric-signgd], solver: lstsq, parameters: all}
 * overrides:                             # per task: template, words, max_length, first/other_sent_limit, test/dev_limit
 *   trec: {template: "*cls**mask*:*+sent_0**sep+*", words: {"0": Description, ...}}
 * ```
 * Every (model, task, shots, mode, seed) is one job: exactly the computation an experiment file with those settings
 * would do, stored under the same result key (study/jobs.ts builds that experiment file's spec). Every problem is a
 * located error, found before any job starts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import type { Node, Pair } from 'yaml';
import { findTask, TASKS, type TaskInfo } from '../data/tasks';
import { Checker, type Field } from '../spec/checker';
import { parseFinetune, parseKernel } from '../spec/parse';
import { didYouMean } from '../spec/suggest';
import { SpecErrors, type SourceRange, type SpecError } from '../spec/types';

export const STUDY_KEYS = ['model', 'data', 'tasks', 'shots', 'seeds', 'modes', 'test_limit', 'dev_limit', 'max_length', 'backend', 'finetune', 'kernel', 'overrides'] as const;
export const OVERRIDE_KEYS = ['template', 'words', 'max_length', 'first_sent_limit', 'other_sent_limit', 'test_limit', 'dev_limit'] as const;
export const PAPER_TASKS = ['SST-2', 'sst-5', 'mr', 'cr', 'mpqa', 'subj', 'trec', 'agnews', 'MNLI', 'SNLI', 'QNLI', 'RTE', 'MRPC', 'QQP'];
export type StudyMode = 'prompt' | 'standard';

export interface StudyTask {
  task: TaskInfo;
  /** The override mapping as plain values (experiment-file keys), {} when none. */
  override: Record<string, unknown>;
  /** Where the task is named (its item in `tasks`, or the file start when `tasks` is absent). */
  range: SourceRange;
}

export interface StudySpec {
  /** Absolute path of the study file. */
  file: string;
  /** Models as written in the file, paths made absolute. */
  models: string[];
  /** Absolute data root holding one folder per task. */
  data: string;
  tasks: StudyTask[];
  shots: number[];
  seeds: number[];
  modes: StudyMode[];
  /** Top-level experiment-file keys copied into every job's experiment (test_limit, dev_limit, max_length, backend). */
  common: Record<string, unknown>;
  /** The `finetune` and `kernel` mappings as written (plain values), copied into every job. */
  finetune?: Record<string, unknown>;
  kernel?: Record<string, unknown>;
  ranges: Record<string, SourceRange>;
}

export interface StudyResult {
  study?: StudySpec;
  errors: SpecError[];
}

/** Parses and validates a study file: every error with its range; `study` only when there is none. */
export function parseStudy(text: string, filePath: string): StudyResult {
  const file = path.resolve(filePath);
  const baseDir = path.dirname(file);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const c = new Checker(file, lines, text);
  for (const e of doc.errors) c.error(c.rangeOf(e.pos[0], e.pos[1]), `YAML: ${e.message.split('\n')[0]}`);
  if (c.errors.length) return { errors: c.errors };
  const fileStart = c.rangeOf(0, Math.max(0, text.indexOf('\n') < 0 ? text.length : text.indexOf('\n')));
  const top = doc.contents as Node | null;
  if (top === null || (isScalar(top) && top.value === null)) {
    c.error(fileStart, 'The study file is empty: it needs at least `model` and `data` (see `ntk-lens study init`).');
    return { errors: c.errors };
  }
  const f = c.fields(top, 'the study file', STUDY_KEYS, fileStart);
  if (!f) return { errors: c.errors };
  const ranges: Record<string, SourceRange> = {};
  for (const [k, v] of f) ranges[k] = c.nodeRange(v.value ?? v.key);
  const js = (fk: Field | undefined) => (fk?.value ? (fk.value as Node & { toJSON(): unknown }).toJSON() : undefined);

  // model(s)
  const models: string[] = [];
  const mf = f.get('model');
  if (!mf) c.error(fileStart, "Missing 'model': ntk-mini, a local checkpoint folder, a Hub id, or a list of them.");
  else {
    const items = isSeq(mf.value) ? (mf.value.items as Node[]) : [mf.value];
    for (const item of items) {
      const v = isScalar(item) ? item.value : undefined;
      if (typeof v !== 'string' || !v.trim()) { c.at(item ?? mf.key, "A model must be 'ntk-mini', a folder or a Hub id."); continue; }
      const looksLikePath = /^(\.{1,2}([/\\]|$)|[/\\~]|[A-Za-z]:[/\\])/.test(v);
      if (looksLikePath) {
        const abs = path.resolve(baseDir, v);
        if (!fs.existsSync(abs)) { c.at(item, `Model folder not found: ${abs} (relative paths resolve from ${baseDir}).`); continue; }
        models.push(abs);
      } else models.push(v);
    }
  }

  // data root
  let data = '';
  const df = f.get('data');
  if (!df) c.error(fileStart, "Missing 'data': the folder holding one folder per task (<TASK>/k-shot/<shots>-<seed>/).");
  else {
    const d = c.str(df, 'data');
    if (d !== undefined) {
      data = path.resolve(baseDir, d);
      if (!fs.existsSync(data)) c.at(df.value, `Data folder not found: ${data} (relative paths resolve from ${baseDir}).`);
    }
  }

  // overrides (parsed first: tasks check that every overridden task is in the study)
  const overrides = new Map<string, { value: Record<string, unknown>; key: Node }>();
  const of = f.get('overrides');
  if (of) {
    if (!isMap(of.value)) c.at(of.value ?? of.key, "'overrides' must map task names to settings, e.g. {trec: {max_length: 128}}.");
    else {
      for (const pair of of.value.items as Pair[]) {
        const name = isScalar(pair.key) ? String(pair.key.value) : '';
        const task = findTask(name);
        if (!task) { c.at(pair.key as Node, `Unknown task '${name}' in 'overrides'.${didYouMean(name, Object.keys(TASKS))}`); continue; }
        const m = c.fields(pair.value as Node, `the overrides of '${name}'`, OVERRIDE_KEYS, c.nodeRange(pair.key as Node));
        if (!m) continue;
        if (m.has('template') !== m.has('words')) c.at(pair.key as Node, `The overrides of '${name}' need 'template' and 'words' together.`);
        overrides.set(task.name, { value: (pair.value as Node & { toJSON(): Record<string, unknown> }).toJSON(), key: pair.key as Node });
      }
    }
  }

  // tasks
  const tasks: StudyTask[] = [];
  const tf = f.get('tasks');
  if (!tf) {
    // The 14 tasks by default; a task's problems are then shown at its overrides, if it has any, else at the file start.
    for (const name of PAPER_TASKS) {
      const o = overrides.get(findTask(name)!.name);
      tasks.push({ task: findTask(name)!, override: o?.value ?? {}, range: o ? c.nodeRange(o.key) : fileStart });
    }
  }
  else if (!isSeq(tf.value) || tf.value.items.length === 0) c.at(tf.value ?? tf.key, `'tasks' must be a non-empty list of task names (${PAPER_TASKS.join(', ')}).`);
  else {
    for (const item of tf.value.items as Node[]) {
      const name = isScalar(item) ? String(item.value) : '';
      const task = findTask(name);
      if (!task) { c.at(item, `Unknown task '${name}'.${didYouMean(name, Object.keys(TASKS))} Known: ${Object.keys(TASKS).join(', ')}.`); continue; }
      if (tasks.some((t) => t.task.name === task.name)) { c.at(item, `Task '${name}' is listed twice.`); continue; }
      tasks.push({ task, override: overrides.get(task.name)?.value ?? {}, range: c.nodeRange(item) });
    }
  }
  for (const [name, o] of overrides) if (!tasks.some((t) => t.task.name === name)) c.at(o.key, `'${name}' has overrides but is not one of the study's tasks.`);

  const intList = (k: string, dflt: number[], min: number): number[] | undefined => {
    const fk = f.get(k);
    if (!fk) return dflt;
    const items = isSeq(fk.value) ? (fk.value.items as Node[]) : [fk.value];
    const out: number[] = [];
    for (const item of items) {
      const v = isScalar(item) ? item.value : undefined;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min) { c.at(item ?? fk.key, `'${k}' must be an integer ≥ ${min} or a list of them.`); return undefined; }
      if (out.includes(v)) { c.at(item, `${v} is listed twice in '${k}'.`); return undefined; }
      out.push(v);
    }
    return out;
  };
  const shots = intList('shots', [16], 1);
  const seeds = intList('seeds', [13, 21, 42, 87, 100], 0);
  let modes: StudyMode[] | undefined = ['prompt', 'standard'];
  const mo = f.get('modes');
  if (mo) {
    const items = isSeq(mo.value) ? (mo.value.items as Node[]) : [mo.value];
    modes = [];
    for (const item of items) {
      const v = isScalar(item) ? String(item.value) : '';
      if (v !== 'prompt' && v !== 'standard') { c.at(item ?? mo.key, `A mode is 'prompt' (the task's template and words) or 'standard' (no prompt); got '${v}'.`); modes = undefined; break; }
      if (!modes.includes(v)) modes.push(v);
    }
  }
  const common: Record<string, unknown> = {};
  for (const k of ['test_limit', 'dev_limit', 'max_length', 'backend']) {
    const fk = f.get(k);
    if (fk) common[k] = js(fk);
  }
  // finetune and kernel: validated by the experiment file's own parsers, so their errors point into this file.
  const finetune = js(f.get('finetune')) as Record<string, unknown> | undefined;
  const kernel = js(f.get('kernel')) as Record<string, unknown> | undefined;
  parseFinetune(c, f.get('finetune'));
  for (const t of tasks) parseKernel(c, f.get('kernel'), t.task);
  const kf = f.get('kernel');
  if (kf && isMap(kf.value)) {
    const rank = (kf.value.items as Pair[]).find((p) => isScalar(p.key) && p.key.value === 'lora_rank');
    if (rank && kernel?.parameters !== 'lora') c.at(rank.key as Node, "'lora_rank' is only used with 'parameters: lora'.");
  }

  const errors = dedupe(c.errors).sort((a, b) => a.line - b.line || a.column - b.column);
  if (errors.some((e) => e.severity === 'error') || !shots || !seeds || !modes || !models.length || !tasks.length) return { errors };
  return { study: { file, models, data, tasks, shots, seeds, modes, common, finetune, kernel, ranges }, errors };
}

/** Reads and parses a study file; throws SpecErrors listing every error. */
export function loadStudy(file: string): StudySpec {
  const r = parseStudy(fs.readFileSync(file, 'utf8'), file);
  if (!r.study) throw new SpecErrors(r.errors.filter((e) => e.severity === 'error'));
  return r.study;
}

function dedupe(errors: SpecError[]): SpecError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const k = `${e.line}:${e.column}:${e.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
