import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Pretrainer, DEFAULT_PRETRAIN_CONFIG, maskingOptions, type PretrainConfig, type TokenIds } from '../../../../src/engine/pretrain/loop';
import { packDocuments } from '../../../../src/engine/pretrain/packing';
import { saveTrainCheckpoint, loadLatestTrainCheckpoint, type TrainCheckpoint } from '../../../../src/engine/pretrain/train-state';
import { heldOutMlm } from '../../../../src/engine/pretrain/evaluate';
import { Rng } from '../../../../src/engine/pretrain/rng';

const TOK: TokenIds = { vocabSize: 40, padId: 0, unkId: 1, clsId: 2, sepId: 3, maskId: 4 };
const CFG: PretrainConfig = {
  ...DEFAULT_PRETRAIN_CONFIG, seed: 11, numLayers: 1, hiddenSize: 16, numHeads: 2, intermediateSize: 32, maxLen: 12,
  batchSize: 4, learningRate: 3e-3, warmupSteps: 2, totalSteps: 40, dropout: 0.1,
};

/** Documents that count 5, 6, 7, … from a random start, so that a masked token follows from its neighbours. */
function blocks(docs = 10) {
  const rng = new Rng(3);
  const d = Array.from({ length: docs }, () => {
    const s = rng.int(30);
    return Array.from({ length: 8 + rng.int(10) }, (_, i) => 5 + ((s + i) % 30));
  });
  return packDocuments(d, CFG.maxLen, TOK.clsId, TOK.sepId);
}

function assertSameCheckpoint(a: TrainCheckpoint, b: TrainCheckpoint): void {
  // Everything but the wall-clock training time, which is a measurement.
  assert.deepEqual({ ...b.state, trainSeconds: 0 }, { ...a.state, trainSeconds: 0 });
  for (const key of ['params', 'm', 'v'] as const) {
    for (const [name, t] of a[key]) assert.deepEqual(b[key].get(name)!.data, t.data, `${key}/${name} differs`);
  }
}

describe('pretrain/loop', function () {
  this.timeout(60_000);
  before(async () => { await tf.setBackend('cpu'); });
  let root: string;
  beforeEach(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-loop-')); });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('a run resumed from a saved checkpoint takes bit-identical steps (params, moments, data position, RNG, dropout), across an epoch boundary', async () => {
    const data = blocks();
    assert.ok(data.count < 6 * CFG.batchSize, 'the 6 steps must wrap around an epoch');
    const straight = Pretrainer.create(CFG, TOK, data);
    const straightLosses: number[] = [];
    for (let i = 0; i < 6; i++) straightLosses.push((await straight.trainStep()).loss);
    const expected = await straight.snapshot();
    straight.dispose();

    const first = Pretrainer.create(CFG, TOK, data);
    for (let i = 0; i < 3; i++) await first.trainStep();
    saveTrainCheckpoint(root, await first.snapshot());
    first.dispose();
    const before = tf.memory().numTensors;
    const resumed = Pretrainer.create(CFG, TOK, data, loadLatestTrainCheckpoint(root));
    assert.equal(resumed.step, 3);
    const resumedLosses: number[] = [];
    for (let i = 0; i < 3; i++) resumedLosses.push((await resumed.trainStep()).loss);
    assert.deepEqual(resumedLosses, straightLosses.slice(3));
    assertSameCheckpoint(expected, await resumed.snapshot());
    assert.ok(expected.state.epoch >= 1, 'the data position wrapped into a later epoch');
    resumed.dispose();
    assert.equal(tf.memory().numTensors, before, 'steps and resume leak no tensors');
  });

  it('refuses to resume with different settings, naming them', async () => {
    const data = blocks();
    const run = Pretrainer.create(CFG, TOK, data);
    await run.trainStep();
    const ck = await run.snapshot();
    run.dispose();
    assert.throws(() => Pretrainer.create({ ...CFG, learningRate: 1e-2 }, TOK, data, ck), /learningRate: 0\.003 there, 0\.01 now/);
  });

  it('a continued run (init) starts from the other run\'s parameters with fresh moments, its own schedule and step 0, and keeps that run\'s figures', async () => {
    const data = blocks();
    const first = Pretrainer.create(CFG, TOK, data);
    for (let i = 0; i < 3; i++) await first.trainStep();
    first.extra.history = [{ step: 3, heldOutLoss: 3.5, heldOutAccuracy: 0.1 }];
    const ck = await first.snapshot();
    first.dispose();
    const stage2Cfg = { ...CFG, learningRate: 1e-2, warmupSteps: 0, seed: 12 };
    const second = Pretrainer.create(stage2Cfg, TOK, data, undefined, { from: 'stage-1', checkpoint: ck });
    assert.equal(second.step, 0);
    const start = await second.snapshot();
    for (const [name, t] of ck.params) assert.deepEqual(start.params.get(name)!.data, t.data, `${name} is taken over`);
    for (const [name, t] of start.m) assert.ok(t.data.every((x) => x === 0) && start.v.get(name)!.data.every((x) => x === 0), `${name}: fresh moments`);
    assert.deepEqual(start.state.options.learningRate, 1e-2);
    assert.deepEqual((start.state.extra as { previous: unknown }).previous, {
      from: 'stage-1', step: 3, tokensSeen: ck.state.tokensSeen, trainSeconds: ck.state.trainSeconds, options: ck.state.options,
      history: [{ step: 3, heldOutLoss: 3.5, heldOutAccuracy: 0.1 }],
    });
    const r = await second.trainStep();
    assert.equal(r.lr, 1e-2, 'its own schedule: no warm-up, the peak learning rate at its step 0');
    // The continued run resumes like any other: its checkpoint, not the init, is what a restart takes.
    saveTrainCheckpoint(root, await second.snapshot());
    const expected = (await second.trainStep()).loss;
    second.dispose();
    const resumed = Pretrainer.create(stage2Cfg, TOK, data, loadLatestTrainCheckpoint(root), { from: 'stage-1', checkpoint: ck });
    assert.equal(resumed.step, 1);
    assert.equal((await resumed.trainStep()).loss, expected);
    assert.equal((resumed.extra.previous as { step: number }).step, 3, 'the lineage survives a resume');
    resumed.dispose();
  });

  it('refuses to continue a run of another shape, naming the option', async () => {
    const data = blocks();
    const run = Pretrainer.create(CFG, TOK, data);
    const ck = await run.snapshot();
    run.dispose();
    assert.throws(() => Pretrainer.create({ ...CFG, hiddenSize: 32 }, TOK, data, undefined, { from: 'other/ckpt', checkpoint: ck }), /cannot continue from other\/ckpt: its model has hiddenSize 16, not 32/);
  });

  it('learns: 30 steps on text that is 90% one token take the held-out loss from ln V to below 1 and accuracy above 80%', async () => {
    const rng = new Rng(4);
    const docs = Array.from({ length: 40 }, () => Array.from({ length: 8 + rng.int(10) }, () => (rng.next() < 0.9 ? 7 : 5 + rng.int(30))));
    const data = packDocuments(docs, CFG.maxLen, TOK.clsId, TOK.sepId);
    const run = Pretrainer.create({ ...CFG, dropout: 0, learningRate: 1e-2, totalSteps: 30 }, TOK, data);
    const masking = maskingOptions(CFG, TOK);
    const start = await heldOutMlm(run.params, run.config, data, masking, { maxBlocks: 16 });
    for (let i = 0; i < 30; i++) await run.trainStep();
    const end = await heldOutMlm(run.params, run.config, data, masking, { maxBlocks: 16 });
    run.dispose();
    assert.ok(Math.abs(start.loss - Math.log(TOK.vocabSize)) < 0.2, `an untrained model is near uniform: ${start.loss} vs ln V = ${Math.log(TOK.vocabSize)}`);
    assert.ok(end.loss < 1, `held-out loss ${start.loss} → ${end.loss}`);
    assert.ok(end.accuracy > 0.8, `held-out accuracy ${start.accuracy} → ${end.accuracy}`);
  });
});
