/**
 * Rough resources of one (template, seed) run, for scheduling (the local executor's worker count, Slurm's --mem and
 * --time): from the model's size in its config.json and the run's settings. A guide, not a measurement.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ExperimentSpec } from '../spec';
import { builtinModelDir } from './experiment';

/** ~20 GFLOP/s: the wasm engine on one core (bench/RESULTS.md). */
const FLOPS = 20e9;
/** ntk-mini's size, when the config cannot be read (a Hub id not downloaded yet). */
const DEFAULT_PARAMETERS = 2.4e6;

/** Parameters of the model a spec names, from its config.json (embeddings, layers, MLM head). */
export function modelParameters(spec: ExperimentSpec): number {
  try {
    const dir = spec.model.kind === 'path' ? spec.model.path : spec.model.kind === 'builtin' ? builtinModelDir(spec.model.name) : undefined;
    if (!dir) return DEFAULT_PARAMETERS;
    const c = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    const H = c.hidden_size, L = c.num_hidden_layers, I = c.intermediate_size, V = c.vocab_size, T = c.max_position_embeddings ?? 512;
    return V * H + T * H + L * (4 * H * H + 2 * H * I) + H * H;
  } catch {
    return DEFAULT_PARAMETERS;
  }
}

/** Peak memory: weights, gradients (and Adam's two moments), the θ0 snapshot and the best-dev copy, plus the runtime. */
export function estimateRun(spec: ExperimentSpec, shots: number): { memoryMB: number; seconds: number } {
  const P = modelParameters(spec);
  const f = spec.finetune;
  const C = spec.task.labels.length;
  const states = f.optimizer === 'adam' ? 4 : 2;
  const memoryMB = Math.round((4 * P * (states + 2)) / 2 ** 20 + 400);
  const examples = 2 * shots * C + (spec.testLimit ?? 1000);
  const tokens = 64; // a typical LM-BFF input
  const flops = 6 * P * tokens * f.steps * f.batchSize * f.learningRates.length + 2 * P * tokens * C * examples * 3;
  return { memoryMB, seconds: Math.round(flops / FLOPS) };
}
