/**
 * Work is never done twice: an interrupted seed reuses the kernels it had finished, and two runs of the same file at
 * once compute each seed once (the second waits for the first and reuses its result).
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { runExperiment } from '../../../../src/engine/run/experiment';
import { isAbortError } from '../../../../src/engine/util/abort';
import type { RunEvent } from '../../../../src/engine/report/types';
import { makeTinyExperiment, type TinyExperiment } from '../../../support/tiny-experiment';

const ROOT = path.resolve(__dirname, '../../../..');

describe('resuming and concurrent runs', function () {
  this.timeout(300000);
  let exp: TinyExperiment;
  before(async () => {
    await tf.setBackend('cpu');
    exp = await makeTinyExperiment({ kinds: ['sgd', 'asymmetric-signgd'], steps: 6 });
  });
  after(() => exp?.cleanup());

  it('a seed interrupted during fine-tuning reuses its θ0 kernels and f0 next time, with the same numbers as an uninterrupted run', async () => {
    const out = path.join(exp.dir, 'resume');
    const controller = new AbortController();
    await assert.rejects(runExperiment(exp.specFile, {
      resultsDir: out, signal: controller.signal,
      onEvent: (e) => { if (e.type === 'step' && e.phase === 'finetune') controller.abort(); },
    }), (e: unknown) => isAbortError(e));

    const events: RunEvent[] = [];
    const resumed = await runExperiment(exp.specFile, { resultsDir: out, onEvent: (e) => events.push(e) });
    assert.ok(events.some((e) => e.type === 'log' && /reusing the kernels and initial logits at θ0/.test(e.message)));
    const firstFinetune = events.findIndex((e) => e.type === 'step' && e.phase === 'finetune');
    const firstKernel = events.findIndex((e) => e.type === 'step' && e.phase === 'kernel');
    assert.ok(firstFinetune >= 0 && (firstKernel < 0 || firstKernel > firstFinetune), 'no θ0 kernel is recomputed before fine-tuning');

    const clean = await runExperiment(exp.specFile, { resultsDir: path.join(exp.dir, 'clean') });
    const [a, b] = [resumed, clean].map((r) => r.templates[0].seeds[0]);
    assert.deepEqual(a.kernels.sgd!.testScores, b.kernels.sgd!.testScores);
    assert.deepEqual(a.kernels['asymmetric-signgd']!.testScores, b.kernels['asymmetric-signgd']!.testScores);
    assert.deepEqual(a.finetune!.testLogitsBefore, b.finetune!.testLogitsBefore);
    assert.deepEqual(a.finetune!.testLogits, b.finetune!.testLogits);
  });

  it('two runs of the same file at once: one computes the seed, the other waits for it and reuses it', async () => {
    const out = path.join(exp.dir, 'both');
    const cli = () => new Promise<{ code: number | null; err: string }>((resolve) => {
      const p = spawn(process.execPath, ['--require', 'tsx/cjs', path.join(ROOT, 'src/engine/run/cli.ts'), 'run', exp.specFile, '--out', out], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      p.stderr.on('data', (d) => (err += d));
      p.on('close', (code) => resolve({ code, err }));
    });
    const [x, y] = await Promise.all([cli(), cli()]);
    assert.equal(x.code, 0, x.err);
    assert.equal(y.code, 0, y.err);
    const computed = [x, y].filter((r) => /seed 13 done/.test(r.err));
    const waited = [x, y].filter((r) => /seed 13 reused from disk/.test(r.err));
    assert.equal(computed.length, 1, 'exactly one run computed seed 13');
    assert.equal(waited.length, 1, 'the other reused it');
    assert.match(waited[0].err, /being computed by pid \d+ on host .*: waiting for it, then reusing its result/);
  });
});
