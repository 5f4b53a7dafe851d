/**
 * A study expands into independent jobs with stable indices: model → task → shots → mode → seed (→ its kernel tile
 * jobs, then the seed's own job, when kernel.tiles > 1), in the file's order.
 * Job I is exactly the computation of the experiment file `experimentText(study, job)` for one seed; its spec is
 * parsed from that text, so a study and a single run compute, validate and key results in one way.
 */
import * as path from 'node:path';
import { stringify } from 'yaml';
import { isCausalModelRef } from '../model/model-type';
import { modelRefOf, parseSpec } from '../spec/parse';
import { causalTemplateOf } from '../template/parse-template';
import { SpecErrors, type ExperimentSpec, type SpecError } from '../spec/types';
import type { StudyMode, StudySpec, StudyTask } from './study-file';

export interface StudyJob {
  index: number;
  model: string;
  task: StudyTask;
  shots: number;
  mode: StudyMode;
  seed: number;
  /**
   * A tile job (`kernel.tiles` = count > 1): tile `index` (1-based; 2..count — the seed's own job computes tile 1,
   * merges and goes on) of this seed's θ0 kernels, into the store. Absent: the seed's job.
   */
  tile?: { index: number; count: number };
  /** e.g. "roberta-base SST-2 16-shot prompt seed 13" (a tile job: "… seed 13 kernel tile 2/4") */
  label: string;
}

export function expandJobs(study: StudySpec): StudyJob[] {
  const jobs: StudyJob[] = [];
  const tiles = kernelTiles(study);
  for (const model of study.models) {
    for (const task of study.tasks) {
      for (const shots of study.shots) {
        for (const mode of study.modes) {
          for (const seed of study.seeds) {
            const label = `${model} ${task.task.name} ${shots}-shot ${mode} seed ${seed}`;
            // Tile jobs first, so that an executor starts them before the seed's job, which waits for them.
            for (let t = 2; t <= tiles; t++) jobs.push({ index: jobs.length, model, task, shots, mode, seed, tile: { index: t, count: tiles }, label: `${label} kernel tile ${t}/${tiles}` });
            jobs.push({ index: jobs.length, model, task, shots, mode, seed, label });
          }
        }
      }
    }
  }
  return jobs;
}

/** `kernel.tiles` of the study (validated by the experiment parser): 1 when absent. */
export function kernelTiles(study: StudySpec): number {
  const t = study.kernel?.tiles;
  return typeof t === 'number' && Number.isInteger(t) && t >= 1 ? t : 1;
}

/** The jobs that compute a seed (not a kernel tile of it): one per table cell seed. */
export const seedJobs = (jobs: StudyJob[]): StudyJob[] => jobs.filter((j) => !j.tile);

/** The template name a job's experiment uses: 'prompt' or 'standard'. */
export const templateNameOf = (mode: StudyMode) => mode;

/**
 * The experiment file equivalent to a job (all of its seeds when `seeds` is given: a job of the same (model, task,
 * shots, mode) differs only in its seed). Paths are absolute.
 */
export function experimentText(study: StudySpec, job: Pick<StudyJob, 'model' | 'task' | 'shots' | 'mode' | 'seed'>, seeds: number[] = [job.seed]): string {
  const o = job.task.override;
  const doc: Record<string, unknown> = {
    task: job.task.task.name,
    data: `${study.data}/${job.task.task.name}`,
    shots: job.shots,
    seeds,
    model: job.model,
    ...study.common,
  };
  for (const k of ['max_length', 'first_sent_limit', 'other_sent_limit', 'test_limit', 'dev_limit']) if (o[k] !== undefined) doc[k] = o[k];
  if (study.finetune) doc.finetune = study.finetune;
  if (study.kernel) doc.kernel = study.kernel;
  doc.templates = job.mode === 'prompt'
    ? [o.template !== undefined ? { name: 'prompt', template: o.template, words: o.words } : { name: 'prompt', template: defaultTemplate(study, job), words: job.task.task.words }]
    : [{ name: 'standard' }];
  return stringify(doc, { lineWidth: 0 });
}

/**
 * The task's LM-BFF template, or for a causal LM (known from its config.json, locally or in the Hub cache) the same
 * template ending at *mask* (`causalTemplateOf`: "*cls**sent_0*_It_was*mask*.*sep+*" → "…_It_was*mask*"). Where a
 * sentence follows the mask (MNLI, RTE, MRPC, …) there is no such template: the LM-BFF one is kept, and the study's
 * check reports it at the task, with the hint to give a causal template in `overrides`.
 */
function defaultTemplate(study: StudySpec, job: Pick<StudyJob, 'model' | 'task'>): string {
  const template = job.task.task.template;
  const ref = modelRefOf(job.model, path.dirname(study.file));
  return ref && isCausalModelRef(ref) ? causalTemplateOf(template) ?? template : template;
}

/**
 * The job's experiment spec (file = the study file, so messages and the index name the study). Errors would point
 * into the generated text; they are moved to where the task is named in the study file.
 */
export function jobSpec(study: StudySpec, job: StudyJob): ExperimentSpec {
  const r = parseSpec(experimentText(study, job), study.file);
  if (r.spec) return r.spec;
  throw new SpecErrors(r.errors.filter((e) => e.severity === 'error').map((e) => relocate(study, job, e)));
}

/** An error of a job's generated experiment, at the task's place in the study file. */
export function relocate(study: StudySpec, job: Pick<StudyJob, 'task' | 'mode' | 'model'>, e: SpecError): SpecError {
  const r = job.task.range;
  return { ...e, file: study.file, line: r.line, column: r.column, endLine: r.endLine, endColumn: r.endColumn, message: `${job.task.task.name} (${job.mode}, ${job.model}): ${e.message}` };
}
