import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { runExperiment } from '../../../../src/engine/run/experiment';
import { readNpy } from '../../../../src/engine/report/npy';
import type { KernelKind, RunEvent, SeedResult } from '../../../../src/engine/report/types';
import { makeTinyExperiment, type TinyExperiment } from '../../../support/tiny-experiment';

const KINDS: KernelKind[] = ['sgd', 'asymmetric-signgd'];

/** The tiny experiment's file with `kernel:` replaced (several train chunks: 6 gradient vectors of C = 2). */
function withKernel(exp: TinyExperiment, name: string, extra: string): string {
  const text = fs.readFileSync(exp.specFile, 'utf8').replace(/^kernel: .*$/m, `kernel: {kinds: [${KINDS.join(', ')}], solver: lstsq, max_gradients_in_memory: 6${extra}}`);
  const file = path.join(exp.dir, name);
  fs.writeFileSync(file, text);
  return file;
}

async function kernelArrays(s: SeedResult): Promise<Record<string, Float64Array>> {
  const out: Record<string, Float64Array> = {};
  for (const kind of KINDS) for (const [split, file] of Object.entries(s.kernels[kind]!.files)) out[`${kind}-${split}`] = (await readNpy(file)).data as Float64Array;
  return out;
}

describe('kernel.tiles in a run: tile jobs and the seed\'s run compute one kernel, merged', function () {
  this.timeout(300000);
  let exp: TinyExperiment;
  let untiled: SeedResult;
  let untiledKey: string;
  before(async () => {
    await tf.setBackend('cpu');
    exp = await makeTinyExperiment({ kinds: KINDS, seeds: [13] });
    const report = await runExperiment(withKernel(exp, 'untiled.ntk.yaml', ''), { resultsDir: path.join(exp.dir, 'out-untiled') });
    untiled = report.templates[0].seeds[0];
    untiledKey = report.templates[0].key;
  });
  after(() => exp?.cleanup());

  it('tile jobs 2 and 3 first, then the run: it computes only tile 1, merges, and every kernel entry and score equals the untiled run', async () => {
    const file = withKernel(exp, 'tiled.ntk.yaml', ', tiles: 3');
    const out = path.join(exp.dir, 'out-tiled');
    for (const tile of [1, 2]) {
      const jobEvents: RunEvent[] = [];
      const r = await runExperiment(file, { resultsDir: out, kernelTile: tile, onEvent: (e) => jobEvents.push(e) });
      assert.equal(r.templates.length, 0, 'a tile job reports no template');
      assert.ok(jobEvents.some((e) => e.type === 'log' && e.message.includes(`kernel tile ${tile + 1} of 3`)));
      assert.ok(!jobEvents.some((e) => e.type === 'step' && e.phase === 'finetune'), 'a tile job does not fine-tune');
      // The kernel phase is announced, so that an out-of-memory failure of a tile job is explained with the kernel's remedies.
      assert.ok(jobEvents.some((e) => e.type === 'phase' && e.phase === 'kernel' && e.message === `θ0 kernel tile ${tile + 1} of 3`));
    }
    const events: RunEvent[] = [];
    const report = await runExperiment(file, { resultsDir: out, onEvent: (e) => events.push(e) });
    const computedTiles = events.filter((e) => e.type === 'log' && /kernel tile \d of 3/.test(e.message)).map((e) => (e as { message: string }).message);
    assert.deepEqual(computedTiles.map((m) => m.match(/kernel tile (\d) of 3/)![1]), ['1'], 'the run computed tile 1 only and reused the jobs\' tiles');
    const tiled = report.templates[0].seeds[0];
    assert.equal(report.templates[0].key, untiledKey, 'tiled and untiled runs share the result key');
    const a = await kernelArrays(untiled);
    const b = await kernelArrays(tiled);
    assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
    for (const name of Object.keys(a)) {
      assert.equal(b[name].length, a[name].length, name);
      const diff = a[name].reduce((m, v, i) => Math.max(m, Math.abs(v - b[name][i])), 0);
      assert.equal(diff, 0, `${name}: the merged tiles equal the one-job kernel exactly (max |Δ| ${diff})`);
    }
    for (const kind of KINDS) assert.deepEqual(tiled.kernels[kind]!.testScores, untiled.kernels[kind]!.testScores, `${kind} predictions`);
    assert.deepEqual(tiled.finetune!.testLogitsBefore, untiled.finetune!.testLogitsBefore, 'f0 from the tiles equals the untiled run\'s');
    assert.deepEqual(tiled.finetune!.testLogits, untiled.finetune!.testLogits);
  });

  it('tiles is not part of the result key: an untiled file then reuses the tiled run\'s seed', async () => {
    const out = path.join(exp.dir, 'out-tiled');
    const events: RunEvent[] = [];
    await runExperiment(withKernel(exp, 'untiled-again.ntk.yaml', ''), { resultsDir: out, onEvent: (e) => events.push(e) });
    assert.ok(events.some((e) => e.type === 'seed-done' && e.reused), 'the seed was reused');
    assert.ok(!events.some((e) => e.type === 'step'), 'nothing was computed');
  });

  it('a run with tiles and no tile jobs computes every tile itself; the seed\'s stages are removed once it is done', async () => {
    const file = withKernel(exp, 'tiled-alone.ntk.yaml', ', tiles: 2');
    const out = path.join(exp.dir, 'out-alone');
    const events: RunEvent[] = [];
    const report = await runExperiment(file, { resultsDir: out, onEvent: (e) => events.push(e) });
    assert.equal(events.filter((e) => e.type === 'log' && /kernel tile \d of 2/.test(e.message)).length, 2);
    const a = await kernelArrays(untiled);
    const b = await kernelArrays(report.templates[0].seeds[0]);
    for (const name of Object.keys(a)) assert.deepEqual(Array.from(b[name]), Array.from(a[name]), name);
    const stages = path.join(out, report.templates[0].key, 'stages');
    assert.deepEqual(fs.existsSync(stages) ? fs.readdirSync(stages) : [], []);
  });
});
