/**
 * The pre-training checkpoint: everything a later run needs to continue EXACTLY where this one stopped.
 *
 *   <root>/step-0001234/params.safetensors   model parameters, F32, keyed by the checkpoint's tensor names
 *   <root>/step-0001234/adam-m.safetensors   AdamW first moments, same names and shapes
 *   <root>/step-0001234/adam-v.safetensors   AdamW second moments
 *   <root>/step-0001234/state.json           step, data position, RNG state, options (see TrainState)
 *   <root>/latest.json                        { "dir": "step-0001234" }: the newest complete checkpoint
 *
 * A checkpoint is written into `step-….tmp` and renamed only when complete, then `latest.json` is replaced
 * atomically, so a run killed while saving leaves the previous checkpoint as the latest. The oldest checkpoints
 * beyond `keep` are deleted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { encodeSafetensors, parseSafetensors, decodeTensor } from '../model/safetensors';
import type { RngState } from './rng';

export const TRAIN_STATE_FORMAT = 'ntk-lens-pretrain/1';

export interface TrainState {
  format: typeof TRAIN_STATE_FORMAT;
  /** Optimizer steps completed. */
  step: number;
  /** Data position: the epoch and the index of the next block in that epoch's permutation. */
  epoch: number;
  cursor: number;
  /** State of the masking RNG before the next batch is drawn. */
  maskRng: RngState;
  tokensSeen: number;
  /** Training wall-clock seconds summed over all runs (excluding evaluation). */
  trainSeconds: number;
  /** The options the run was started with; a resume refuses different model or data options. */
  options: Record<string, unknown>;
  /** Free-form extra state (e.g. the last held-out figures). */
  extra?: Record<string, unknown>;
}

export interface NamedArray { shape: number[]; data: Float32Array }

export interface TrainCheckpoint {
  params: Map<string, NamedArray>;
  m: Map<string, NamedArray>;
  v: Map<string, NamedArray>;
  state: TrainState;
}

function toWrite(map: Map<string, NamedArray>): { name: string; shape: number[]; data: Float32Array }[] {
  return [...map].map(([name, t]) => ({ name, shape: t.shape, data: t.data }));
}

function writeAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

export function checkpointDirName(step: number): string {
  return `step-${String(step).padStart(7, '0')}`;
}

/** Writes a checkpoint under `root` and makes it the latest. Returns its folder. */
export function saveTrainCheckpoint(root: string, ckpt: TrainCheckpoint, keep = 2): string {
  fs.mkdirSync(root, { recursive: true });
  const name = checkpointDirName(ckpt.state.step);
  const final = path.join(root, name);
  const tmp = `${final}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp);
  fs.writeFileSync(path.join(tmp, 'params.safetensors'), encodeSafetensors(toWrite(ckpt.params), 'F32'));
  fs.writeFileSync(path.join(tmp, 'adam-m.safetensors'), encodeSafetensors(toWrite(ckpt.m), 'F32'));
  fs.writeFileSync(path.join(tmp, 'adam-v.safetensors'), encodeSafetensors(toWrite(ckpt.v), 'F32'));
  fs.writeFileSync(path.join(tmp, 'state.json'), JSON.stringify(ckpt.state, null, 2));
  fs.rmSync(final, { recursive: true, force: true });
  fs.renameSync(tmp, final);
  writeAtomic(path.join(root, 'latest.json'), JSON.stringify({ dir: name }));
  const old = fs.readdirSync(root).filter((d) => /^step-\d{7}$/.test(d)).sort();
  for (const d of old.slice(0, Math.max(0, old.length - keep))) if (d !== name) fs.rmSync(path.join(root, d), { recursive: true, force: true });
  return final;
}

function readArrays(file: string): Map<string, NamedArray> {
  const st = parseSafetensors(new Uint8Array(fs.readFileSync(file)), file);
  const out = new Map<string, NamedArray>();
  for (const [name, e] of st.entries) out.set(name, { shape: e.shape, data: decodeTensor(st, name) });
  return out;
}

/** The folder of the latest complete checkpoint under `root` (its latest.json), or undefined when there is none. */
export function latestCheckpointDir(root: string): string | undefined {
  const pointer = path.join(root, 'latest.json');
  if (!fs.existsSync(pointer)) return undefined;
  const { dir } = JSON.parse(fs.readFileSync(pointer, 'utf8')) as { dir: string };
  return path.join(root, dir);
}

/** The latest complete checkpoint under `root`, or undefined when there is none. */
export function loadLatestTrainCheckpoint(root: string): TrainCheckpoint | undefined {
  const dir = latestCheckpointDir(root);
  return dir === undefined ? undefined : loadTrainCheckpoint(dir);
}

export function loadTrainCheckpoint(dir: string): TrainCheckpoint {
  const stateFile = path.join(dir, 'state.json');
  if (!fs.existsSync(stateFile)) throw new Error(`train-state.ts: ${stateFile} is missing; the checkpoint folder is incomplete. Delete ${dir} (and point latest.json at an older step-… folder) to resume from an earlier checkpoint.`);
  const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as TrainState;
  if (state.format !== TRAIN_STATE_FORMAT) throw new Error(`train-state.ts: ${stateFile}: format "${String(state.format)}", expected "${TRAIN_STATE_FORMAT}"`);
  const params = readArrays(path.join(dir, 'params.safetensors'));
  const m = readArrays(path.join(dir, 'adam-m.safetensors'));
  const v = readArrays(path.join(dir, 'adam-v.safetensors'));
  for (const name of params.keys()) {
    if (!m.has(name) || !v.has(name)) throw new Error(`train-state.ts: ${dir}: parameter "${name}" has no AdamW moment; the checkpoint is inconsistent`);
  }
  return { params, m, v, state };
}
