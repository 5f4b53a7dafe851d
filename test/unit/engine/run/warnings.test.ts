/**
 * Settings that silently cost speed or accuracy get a warning with the count or the cost, in the progress output
 * (log events, which the CLI prints and the panel lists) and in the report (seed and template warnings).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { runExperiment } from '../../../../src/engine/run/experiment';
import { reportTable } from '../../../../src/engine/run/format';
import type { RunEvent } from '../../../../src/engine/report/types';
import { makeTinyExperiment, type TinyExperiment } from '../../../support/tiny-experiment';

describe('warnings for settings that cost speed or accuracy', function () {
  this.timeout(300000);
  let exp: TinyExperiment;
  before(async () => {
    await tf.setBackend('cpu');
    exp = await makeTinyExperiment({ kinds: ['sgd', 'signgd'], steps: 2 });
  });
  after(() => exp?.cleanup());

  const rewrite = (from: RegExp, to: string) => fs.writeFileSync(exp.specFile, fs.readFileSync(exp.specFile, 'utf8').replace(from, to));

  it('a memory budget that forces chunks: how many, and the extra passes it costs', async () => {
    const events: RunEvent[] = [];
    // The tiny model has ~10^4 parameters: 1 MB holds ~12 sign-kernel gradient vectors, i.e. 5 train examples per chunk.
    const report = await runExperiment(exp.specFile, { memoryBudgetMB: 0.1, onEvent: (e) => events.push(e), resultsDir: path.join(exp.dir, 'mem') });
    const w = report.templates[0].seeds[0].warnings.find((x) => x.code === 'memory-chunks');
    assert.ok(w, 'a memory-chunks warning');
    const m = /holds the gradients of (\d+) training examples? at once: the kernel runs in (\d+) chunks and makes (\d+) example passes instead of (\d+) \(≈ ([\d.]+)× the time\)/.exec(w!.message);
    assert.ok(m, w!.message);
    const [perChunk, chunks, passes, one] = [m![1], m![2], m![3], m![4]].map(Number);
    assert.equal(chunks, Math.ceil(8 / perChunk));
    assert.ok(passes > one, 'more passes than with one chunk');
    assert.match(w!.message, /^the memory budget \(0.1 MB\) holds/);
    assert.ok(events.some((e) => e.type === 'log' && e.level === 'warn' && e.message.includes('chunks')), 'printed as it happens');
    assert.ok(report.templates[0].warnings.some((x) => x.code === 'memory-chunks'), 'and in the template report');
    assert.match(reportTable(report), /warning: .*chunks/);
    // Without the budget: one chunk, no warning.
    const free = await runExperiment(exp.specFile, { resultsDir: path.join(exp.dir, 'free') });
    assert.ok(!free.templates[0].seeds[0].warnings.some((x) => x.code === 'memory-chunks'));
  });

  it('max_length that cuts sentences: how many examples and tokens', async () => {
    rewrite(/max_length: \d+/, 'max_length: 8');
    const report = await runExperiment(exp.specFile, { resultsDir: path.join(exp.dir, 'short') });
    const w = report.templates[0].seeds[0].warnings.find((x) => x.code === 'truncated');
    assert.ok(w);
    // train 8 + dev 8 + test 8 = 24 examples; the prompt adds [CLS] "it was" [MASK] . [SEP] (6 tokens), so every
    // sentence of 3 or more tokens is cut.
    const m = /max_length 8 cut (\d+) of 24 examples \((\d+) tokens in all/.exec(w!.message);
    assert.ok(m, w!.message);
    assert.ok(Number(m![1]) > 0 && Number(m![2]) >= Number(m![1]));
    rewrite(/max_length: 8/, 'max_length: 32');
  });

  it('max_length beyond the model\'s positions: inputs are cut to what the model takes (the run used to stop), and the cut is counted', async () => {
    // The tiny model has 64 positions; one training sentence of ~80 tokens.
    const train = path.join(exp.dir, 'train.tsv');
    const original = fs.readFileSync(train, 'utf8');
    fs.writeFileSync(train, original.replace('a great and moving film', Array(40).fill('great film').join(' ')));
    rewrite(/max_length: \d+/, 'max_length: 100');
    try {
      const report = await runExperiment(exp.specFile, { resultsDir: path.join(exp.dir, 'long') });
      const w = report.templates[0].seeds[0].warnings.find((x) => x.code === 'truncated');
      assert.match(w!.message, /^max_length 64 cut 1 of 24 examples/);
    } finally {
      fs.writeFileSync(train, original);
      rewrite(/max_length: 100/, 'max_length: 32');
    }
  });

  it('skip_malformed: how many rows were dropped, and where', async () => {
    const train = path.join(exp.dir, 'train.tsv');
    const original = fs.readFileSync(train, 'utf8');
    fs.writeFileSync(train, original + 'a row without a label\n');
    rewrite(/backend: cpu/, 'backend: cpu\nskip_malformed: true');
    try {
      const report = await runExperiment(exp.specFile, { resultsDir: path.join(exp.dir, 'skip') });
      const w = report.templates[0].seeds[0].warnings.find((x) => x.code === 'skipped-rows');
      assert.ok(w);
      assert.match(w!.message, new RegExp(`dropped 1 malformed row \\(1 in ${train.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}; first: .*train\\.tsv:10: 1 fields, expected 2\\): the splits are smaller than the files`));
    } finally {
      fs.writeFileSync(train, original);
      rewrite(/backend: cpu\nskip_malformed: true/, 'backend: cpu');
    }
  });
});
