/**
 * `ntk-lens run --workers N`: a run's unfinished (template, seed) pairs run as parallel processes through the study
 * executor; the run then only summarises what they stored, with the same numbers as a run in one process.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { main } from '../../../../src/engine/run/cli';
import { makeTinyExperiment, type TinyExperiment } from '../../../support/tiny-experiment';

describe('ntk-lens run --workers: seeds as parallel jobs', function () {
  this.timeout(300000);
  let exp: TinyExperiment;
  before(async () => {
    await tf.setBackend('cpu');
    exp = await makeTinyExperiment({ seeds: [13, 21], steps: 3 });
  });
  after(() => exp?.cleanup());

  const run = async (args: string[]) => {
    const o = { out: '', err: '' };
    const code = await main(['run', exp.specFile, '--json', ...args], { out: (s) => void (o.out += s), err: (s) => void (o.err += s) });
    return { code, ...o };
  };

  it('two seeds on two workers: each computed by its own job, then summarised; the numbers equal a one-process run', async () => {
    const par = await run(['--out', path.join(exp.dir, 'par'), '--workers', '2']);
    assert.equal(par.code, 0, par.err);
    assert.match(par.err, /2 jobs \(0 already done\), 2 workers/);
    const logs = fs.readdirSync(path.join(exp.dir, 'par', 'run-logs')).sort();
    assert.deepEqual(logs, ['job-0.log', 'job-1.log']);
    assert.match(fs.readFileSync(path.join(exp.dir, 'par', 'run-logs', 'job-1.log'), 'utf8'), /seed 21 done/);
    assert.ok(!/kernel \d+\/\d+/.test(par.err), 'the run itself computed no kernel: the jobs did');
    const one = await run(['--out', path.join(exp.dir, 'one'), '--workers', '1']);
    assert.equal(one.code, 0, one.err);
    assert.ok(!/workers;/.test(one.err), '--workers 1 runs in this process');
    const [a, b] = [JSON.parse(par.out), JSON.parse(one.out)];
    assert.deepEqual(a.templates[0].summary, b.templates[0].summary);
    type Seed = { kernels: { sgd: { testScores: number[][] } }; finetune: { testLogits: number[][] } };
    const figures = (r: { templates: { seeds: Seed[] }[] }) => r.templates[0].seeds.map((s) => [s.kernels.sgd.testScores, s.finetune.testLogits]);
    assert.deepEqual(figures(a), figures(b));
  });

  it('kernel.tiles 2, one seed: a tile job and the seed\'s job run in parallel; the seed merges the tiles into the one-process kernel', async () => {
    const tiled = path.join(exp.dir, 'tiled.ntk.yaml');
    fs.writeFileSync(tiled, fs.readFileSync(exp.specFile, 'utf8').replace(/^kernel: \{(.*)\}$/m, 'kernel: {$1, tiles: 2}'));
    const o = { out: '', err: '' };
    const io = { out: (s: string) => void (o.out += s), err: (s: string) => void (o.err += s) };
    const out = path.join(exp.dir, 'tiles');
    const code = await main(['run', tiled, '--json', '--seeds', '13', '--out', out, '--workers', '2'], io);
    assert.equal(code, 0, o.err);
    assert.match(o.err, /2 jobs \(0 already done\), 2 workers/);
    const job0 = fs.readFileSync(path.join(out, 'run-logs', 'job-0.log'), 'utf8');
    assert.match(job0, /kernel tile 2 of 2/, 'job 0 is the tile job');
    const job1 = fs.readFileSync(path.join(out, 'run-logs', 'job-1.log'), 'utf8');
    assert.match(job1, /seed 13 done/);
    // (it may have waited for the tile job: "kernel tile 2 of 2 is being computed by …")
    assert.doesNotMatch(job1, /kernel tile 2 of 2(?! is being computed)/, 'the seed\'s job did not compute tile 2 itself');
    assert.match(job1, /kernel tile 1 of 2/, 'the seed\'s job computed tile 1');
    const one = { out: '', err: '' };
    assert.equal(await main(['run', exp.specFile, '--json', '--seeds', '13', '--out', path.join(exp.dir, 'untiled'), '--workers', '1'], { out: (s) => void (one.out += s), err: (s) => void (one.err += s) }), 0);
    const [a, b] = [JSON.parse(o.out), JSON.parse(one.out)];
    assert.deepEqual(a.templates[0].seeds[0].kernels.sgd.testScores, b.templates[0].seeds[0].kernels.sgd.testScores);
    assert.equal(a.templates[0].key, b.templates[0].key);
  });
});
