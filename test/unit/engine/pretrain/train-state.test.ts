import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { saveTrainCheckpoint, loadLatestTrainCheckpoint, TRAIN_STATE_FORMAT, type TrainCheckpoint } from '../../../../src/engine/pretrain/train-state';

function ckpt(step: number): TrainCheckpoint {
  const arr = (seed: number, shape: number[]) => ({ shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(seed + i) * 1e-3 + i * 1e-7) });
  const names: [string, number[]][] = [['bert.embeddings.word_embeddings.weight', [5, 3]], ['cls.predictions.bias', [5]]];
  return {
    params: new Map(names.map(([n, s], k) => [n, arr(step + k, s)])),
    m: new Map(names.map(([n, s], k) => [n, arr(step + k + 10, s)])),
    v: new Map(names.map(([n, s], k) => [n, arr(step + k + 20, s)])),
    state: { format: TRAIN_STATE_FORMAT, step, epoch: 1, cursor: 17, maskRng: [1, 2, 3, 4294967295], tokensSeen: step * 100, trainSeconds: 1.5, options: { seed: 1 } },
  };
}

describe('pretrain/train-state', () => {
  let root: string;
  beforeEach(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-pretrain-')); });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('round-trips params, both AdamW moments and the state bit-exactly', () => {
    const c = ckpt(3);
    saveTrainCheckpoint(root, c);
    const back = loadLatestTrainCheckpoint(root)!;
    assert.deepEqual(back.state, c.state);
    for (const key of ['params', 'm', 'v'] as const) {
      for (const [name, t] of c[key]) {
        assert.deepEqual(back[key].get(name)!.shape, t.shape);
        assert.deepEqual(back[key].get(name)!.data, t.data, `${key}/${name}`);
      }
    }
  });
  it('makes the newest checkpoint the latest and keeps only the last two', () => {
    for (const s of [10, 20, 30]) saveTrainCheckpoint(root, ckpt(s));
    assert.equal(loadLatestTrainCheckpoint(root)!.state.step, 30);
    assert.deepEqual(fs.readdirSync(root).filter((d) => d.startsWith('step-')).sort(), ['step-0000020', 'step-0000030']);
  });
  it('returns undefined when there is no checkpoint and names the missing file when one is incomplete', () => {
    assert.equal(loadLatestTrainCheckpoint(root), undefined);
    saveTrainCheckpoint(root, ckpt(1));
    fs.rmSync(path.join(root, 'step-0000001', 'state.json'));
    assert.throws(() => loadLatestTrainCheckpoint(root), /state\.json is missing/);
  });
});
