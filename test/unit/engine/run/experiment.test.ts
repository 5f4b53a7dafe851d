import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { explainOutOfMemory, labelWordTokens, runExperiment, validateSpecFile } from '../../../../src/engine/run/experiment';
import { limitRows } from '../../../../src/engine/run/seed-run';
import { loadCheckpoint, saveCheckpoint } from '../../../../src/engine/model/checkpoint';
import { readNpy } from '../../../../src/engine/report/npy';
import { isAbortError } from '../../../../src/engine/util/abort';
import type { RunEvent } from '../../../../src/engine/report/types';
import { makeTinyExperiment, type TinyExperiment } from '../../../support/tiny-experiment';

describe('runExperiment on a tiny model the test makes', function () {
  this.timeout(300000);
  let exp: TinyExperiment;
  before(async () => {
    await tf.setBackend('cpu');
    exp = await makeTinyExperiment({ kinds: ['sgd', 'signgd', 'asymmetric-signgd'], seeds: [13, 21] });
  });
  after(() => exp?.cleanup());

  it('produces a full report whose kernel files hold the kernels, and a second run reuses every seed', async () => {
    const events: RunEvent[] = [];
    const report = await runExperiment(exp.specFile, { onEvent: (e) => events.push(e) });
    assert.equal(report.templates.length, 1);
    const t = report.templates[0];
    assert.equal(t.seeds.length, 2);
    const s = t.seeds[0];
    assert.equal(s.split.nTrain, 8);
    assert.equal(s.split.nTest, 8);
    assert.ok(s.finetune && s.finetune.lossCurve.length === 4, 'the loss curve has one point per step');
    // [M, C] layouts: one row per test example, one column per class.
    for (const m of [s.finetune.testLogits, s.finetune.testLogitsBefore, s.kernels.sgd!.testScores]) {
      assert.equal(m.length, 8);
      assert.ok(m.every((row) => row.length === 2));
    }
    for (const kind of ['sgd', 'signgd', 'asymmetric-signgd'] as const) {
      const k = s.kernels[kind]!;
      assert.ok(k.test.acc >= 0 && k.test.acc <= 1);
      assert.ok(k.agreement >= 0 && k.agreement <= 1);
      assert.equal(k.spectrum.length, 16);
      const npy = await readNpy(k.files.train);
      const expectShape = kind === 'asymmetric-signgd' ? [2, 8, 2, 8, 2] : [8, 2, 8, 2];
      assert.deepEqual(npy.shape, expectShape);
      // The report's train matrix is the .npy kernel, row n·C + c.
      assert.equal(k.trainMatrix![3][5], (npy.data as Float64Array)[3 * 16 + 5]);
    }
    // SignGD entries are integers.
    const sign = await readNpy(s.kernels.signgd!.files.test);
    assert.ok(Array.from(sign.data as Float64Array).every((v) => Number.isInteger(v)));
    assert.ok(s.diagnostics.kernelChange! >= 0 && s.diagnostics.linearization!.relative >= 0 && s.diagnostics.linearization!.step === s.finetune.bestStep);
    assert.ok(t.summary.kernels.sgd!.n === 2 && t.summary.finetune!.n === 2);
    assert.ok(typeof t.verdict.text === 'string' && t.verdict.evidence.length >= 2);
    assert.ok(events.some((e) => e.type === 'step' && e.phase === 'kernel'));
    assert.ok(events.some((e) => e.type === 'step' && e.phase === 'finetune'));

    const again: RunEvent[] = [];
    const report2 = await runExperiment(exp.specFile, { onEvent: (e) => again.push(e) });
    assert.ok(again.filter((e) => e.type === 'seed-done').every((e) => e.type === 'seed-done' && e.reused));
    assert.ok(!again.some((e) => e.type === 'step'), 'a reused seed computes nothing');
    assert.deepEqual(report2.templates[0].summary, t.summary);
  });

  it('new weights saved over the same checkpoint folder are a new result: nothing is reused, and the report says so', async () => {
    const e2 = await makeTinyExperiment({ kinds: ['sgd'], seeds: [13] });
    try {
      const first = await runExperiment(e2.specFile, {});
      const modelDir = path.join(e2.dir, 'model');
      const { config, params } = await loadCheckpoint(modelDir);
      const [name, v] = [...params.entries()].find(([n]) => n.endsWith('intermediate.dense.weight'))!;
      params.set(name, tf.variable(tf.mul(v, 1.5), true, name));
      await saveCheckpoint(modelDir, config, params);
      const events: RunEvent[] = [];
      const second = await runExperiment(e2.specFile, { onEvent: (e) => events.push(e) });
      assert.match(first.model.fingerprint!, /^[0-9a-f]{64}$/);
      assert.notEqual(second.model.fingerprint, first.model.fingerprint);
      const done = events.filter((e) => e.type === 'seed-done') as Extract<RunEvent, { type: 'seed-done' }>[];
      assert.deepEqual(done.map((e) => e.reused), [false], 'the seed of the old weights must not be reused');
      assert.notDeepEqual(second.templates[0].seeds[0].kernels.sgd!.testScores, first.templates[0].seeds[0].kernels.sgd!.testScores);
    } finally {
      e2.cleanup();
    }
  });

  it('a LoRA-kernel run releases its random A matrices: a second run leaves no more tensors than the first', async () => {
    const lora = path.join(exp.dir, 'lora.ntk.yaml');
    fs.writeFileSync(lora, fs.readFileSync(exp.specFile, 'utf8').replace('kernel: {kinds: [sgd, signgd, asymmetric-signgd], solver: lstsq}', 'kernel: {kinds: [sgd], solver: lstsq, parameters: lora, lora_rank: 2}'));
    assert.match(fs.readFileSync(lora, 'utf8'), /parameters: lora/);
    await runExperiment(lora, { resultsDir: path.join(exp.dir, 'lora-1'), seeds: [13] });
    const after1 = tf.memory().numTensors;
    const r = await runExperiment(lora, { resultsDir: path.join(exp.dir, 'lora-2'), seeds: [13] });
    assert.equal(tf.memory().numTensors, after1, 'tensors left behind by a LoRA run');
    assert.ok(r.templates[0].seeds[0].kernels.sgd!.parameterCount < 100_000, 'the LoRA kernel counts r·out coordinates per target, not the full weights');
  });

  it('two runs on the same inputs give the same numbers (deterministic on cpu)', async () => {
    const a = await runExperiment(exp.specFile, { resultsDir: path.join(exp.dir, 'r1'), seeds: [13] });
    const b = await runExperiment(exp.specFile, { resultsDir: path.join(exp.dir, 'r2'), seeds: [13] });
    assert.deepEqual(a.templates[0].seeds[0].finetune!.lossCurve, b.templates[0].seeds[0].finetune!.lossCurve);
    assert.deepEqual(a.templates[0].seeds[0].kernels.sgd!.testScores, b.templates[0].seeds[0].kernels.sgd!.testScores);
  });

  it('a cancelled run keeps the seeds it finished and the next run computes only the rest', async () => {
    const dir = path.join(exp.dir, 'cancel');
    const controller = new AbortController();
    let finished = 0;
    await assert.rejects(
      runExperiment(exp.specFile, {
        resultsDir: dir,
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'seed-done') finished++;
          // cancel during the second seed's fine-tuning
          if (finished === 1 && e.type === 'step' && e.phase === 'finetune' && e.step === 2) controller.abort();
        },
      }),
      (e) => isAbortError(e),
    );
    const seedFiles = fs.readdirSync(dir).flatMap((k) => (fs.existsSync(path.join(dir, k, 'seeds')) ? fs.readdirSync(path.join(dir, k, 'seeds')) : []));
    assert.deepEqual(seedFiles, ['13.json']);
    const events: RunEvent[] = [];
    await runExperiment(exp.specFile, { resultsDir: dir, onEvent: (e) => events.push(e) });
    const done = events.filter((e) => e.type === 'seed-done') as Extract<RunEvent, { type: 'seed-done' }>[];
    assert.deepEqual(done.map((e) => [e.seed, e.reused]), [[13, true], [21, false]]);
  });

  it('cancelled during the kernel, the run stops within a step and keeps the seed it finished', async () => {
    const dir = path.join(exp.dir, 'cancel-kernel');
    const controller = new AbortController();
    let seedsDone = 0;
    let kernelStepsAfterAbort = 0;
    await assert.rejects(
      runExperiment(exp.specFile, {
        resultsDir: dir,
        signal: controller.signal,
        onEvent: (e) => {
          if (e.type === 'seed-done') seedsDone++;
          if (controller.signal.aborted && e.type === 'step') kernelStepsAfterAbort++;
          if (seedsDone === 1 && e.type === 'step' && e.phase === 'kernel' && !controller.signal.aborted) controller.abort();
        },
      }),
      (e) => isAbortError(e),
    );
    assert.ok(kernelStepsAfterAbort <= 1, `${kernelStepsAfterAbort} kernel steps after the abort`);
    const seeds = fs.readdirSync(dir).flatMap((k) => (fs.existsSync(path.join(dir, k, 'seeds')) ? fs.readdirSync(path.join(dir, k, 'seeds')) : []));
    assert.deepEqual(seeds, ['13.json']);
  });

  it('a label word that is several tokens fails before any computation, naming the file and line', async () => {
    const text = fs.readFileSync(exp.specFile, 'utf8').replace('"1": great', '"1": greatnessly');
    const bad = path.join(exp.dir, 'bad.ntk.yaml');
    fs.writeFileSync(bad, text);
    const events: RunEvent[] = [];
    await assert.rejects(runExperiment(bad, { onEvent: (e) => events.push(e) }), (e: Error) => {
      assert.match(e.message, new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+`));
      assert.match(e.message, /greatnessly/);
      return true;
    });
    assert.ok(!events.some((e) => e.type === 'step'));
    const { diagnostics } = await validateSpecFile(bad, text);
    const line = text.split('\n').findIndex((l) => l.includes('greatnessly')) + 1;
    assert.ok(diagnostics.some((d) => d.line === line && /token/i.test(d.message)), JSON.stringify(diagnostics));
  });

  it('a template without *mask* is reported at its line by the validator', async () => {
    const text = fs.readFileSync(exp.specFile, 'utf8').replace('*mask*', '');
    const { diagnostics } = await validateSpecFile(exp.specFile, text);
    const line = text.split('\n').findIndex((l) => l.includes('template:')) + 1;
    assert.ok(diagnostics.some((d) => d.line === line && /mask/i.test(d.message)), JSON.stringify(diagnostics));
  });
});

describe('labelWordTokens (the label-word hover)', () => {
  it("gives each word's token ids and pieces in the file's model, several for a word that is not one token", async () => {
    const exp = await makeTinyExperiment();
    try {
      const r = await labelWordTokens(exp.specFile, fs.readFileSync(exp.specFile, 'utf8'), ['great', 'greatnessly']);
      assert.equal(r.tokens[0].ids.length, 1);
      assert.equal(r.tokens[0].pieces[0], 'great');
      assert.ok(r.tokens[1].ids.length > 1, JSON.stringify(r.tokens[1]));
      assert.equal(r.tokens[1].pieces.join('').replace(/##/g, ''), 'greatnessly');
    } finally {
      exp.cleanup();
    }
  });
});

describe('test_limit / dev_limit sampling', () => {
  it('keeps both classes of a file grouped by label, in file order, the same rows every time', async () => {
    const rows = [...Array(100).keys()].map((i) => ({ i, label: i < 50 ? '0' : '1' }));
    const a = limitRows(rows, 20);
    assert.equal(a.length, 20);
    assert.ok(a.some((r) => r.label === '0') && a.some((r) => r.label === '1'), 'a first-N cut would keep one class only');
    assert.deepEqual(a.map((r) => r.i), [...a.map((r) => r.i)].sort((x, y) => x - y));
    assert.deepEqual(limitRows(rows, 20), a);
    assert.equal(limitRows(rows, undefined), rows);
    assert.equal(limitRows(rows, 500), rows);
  });

  it('an out-of-memory failure names the file, template, seed and phase, with that phase\'s remedy; other errors pass through', () => {
    const where = { file: 'sst2.ntk.yaml', template: 'it-was', seed: 13 };
    const k = explainOutOfMemory(new Error('Aborted(OOM)'), where, 'kernel')!;
    assert.match(k.message, /^sst2\.ntk\.yaml: template 'it-was', seed 13: ran out of memory in the kernel phase \(Aborted\(OOM\)\)/);
    assert.match(k.message, /lower kernel\.max_gradients_in_memory/);
    assert.match(k.message, /Seeds finished before this one are kept/);
    const f = explainOutOfMemory(new RangeError('Array buffer allocation failed'), where, 'finetune')!;
    assert.match(f.message, /in the finetune phase .*lower finetune\.batch_size or max_length/);
    assert.equal((f as Error & { cause?: unknown }).cause instanceof RangeError, true, 'the original error is kept as the cause');
    assert.equal(explainOutOfMemory(new Error('label word "great" is two tokens'), where, 'kernel'), undefined);
  });
});
