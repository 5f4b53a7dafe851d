/**
 * Running study jobs and reading their state: the one entry every executor calls (`runStudyJob`: the local worker
 * pool, Slurm array tasks, a Kubernetes Indexed Job, GNU parallel), the check of the whole study before any job
 * starts, and whether a job's result is in the store.
 */
import * as path from 'node:path';
import { modelIdentity, resultKey, runExperiment, type RunOptions } from '../run/experiment';
import { tileStageName } from '../run/theta0-stage';
import { preflight } from '../run/preflight';
import { ResultsStore } from '../report/store';
import type { Report } from '../report/types';
import { SpecErrors, type ExperimentSpec, type SpecError } from '../spec/types';
import { expandJobs, jobSpec, relocate, templateNameOf, type StudyJob } from './jobs';
import type { StudySpec } from './study-file';

/** The results store of a study: `--out DIR`, else `.ntk` beside the study file (on a cluster: a shared filesystem). */
export function studyStore(study: StudySpec, out?: string): ResultsStore {
  return new ResultsStore(out ?? path.join(path.dirname(study.file), '.ntk'));
}

/** Runs job `index` of the study: one template, one seed, stored under the key a single run would use. */
export async function runStudyJob(study: StudySpec, index: number, opts: Omit<RunOptions, 'templates' | 'seeds' | 'resultsDir'> & { out?: string } = {}): Promise<Report> {
  const jobs = expandJobs(study);
  const job = jobs[index];
  if (!job) throw new RangeError(`${study.file}: the study has ${jobs.length} jobs (indices 0–${jobs.length - 1}); there is no job ${index}`);
  const { out, ...run } = opts;
  return runExperiment(jobSpec(study, job), {
    ...run, resultsDir: studyStore(study, out).root, templates: [templateNameOf(job.mode)], seeds: [job.seed],
    ...(job.tile ? { kernelTile: job.tile.index - 1 } : {}),
  });
}

/** The result key of each job (undefined where the model is a Hub id not downloaded yet), computed once per model. */
export async function jobKeys(study: StudySpec, jobs: StudyJob[] = expandJobs(study), opts: { hubCacheDir?: string } = {}): Promise<(string | undefined)[]> {
  const identities = new Map<string, Promise<{ id: string; fingerprint: string } | undefined>>();
  const out: (string | undefined)[] = [];
  for (const job of jobs) {
    const spec = jobSpec(study, job);
    if (!identities.has(job.model)) identities.set(job.model, modelIdentity(spec, opts));
    const identity = await identities.get(job.model)!;
    out.push(identity ? resultKey(spec, spec.templates[0], identity) : undefined);
  }
  return out;
}

/** Which jobs are done: the seed's result is in the store (a tile job also when its kernel tile is). */
export async function doneJobs(study: StudySpec, store: ResultsStore, jobs: StudyJob[] = expandJobs(study), keys?: (string | undefined)[]): Promise<boolean[]> {
  const k = keys ?? await jobKeys(study, jobs);
  return jobs.map((job, i) => k[i] !== undefined && (store.readSeed(k[i]!, job.seed) !== undefined
    || (job.tile !== undefined && store.hasStage(k[i]!, job.seed, tileStageName(job.tile.index - 1, job.tile.count)))));
}

/**
 * Every problem of the study that needs no computation (each (model, task, shots, mode)'s data, checkpoint headers,
 * tokenizer, template and label words), located at the task in the study file: run before any job starts.
 */
export async function checkStudy(study: StudySpec, opts: { hubCacheDir?: string } = {}): Promise<SpecError[]> {
  const problems: SpecError[] = [];
  const seen = new Set<string>();
  for (const job of expandJobs(study)) {
    const group = `${job.model}|${job.task.task.name}|${job.shots}|${job.mode}`;
    if (seen.has(group)) continue;
    seen.add(group);
    let spec: ExperimentSpec;
    try {
      spec = jobSpec(study, job);
    } catch (e) {
      if (e instanceof SpecErrors) { problems.push(...e.errors); continue; }
      throw e;
    }
    for (const p of await preflight(spec, { seeds: study.seeds, hubCacheDir: opts.hubCacheDir })) {
      if (p.severity === 'info') continue;
      problems.push(relocate(study, job, { ...p, severity: p.severity }));
    }
  }
  return problems;
}
