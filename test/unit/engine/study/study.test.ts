/**
 * Studies: located errors before any job starts, stable job indices, one job = the computation of the equivalent
 * experiment file under the same result key (so neither ever computes what the other did), and the paper-style table.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { parseStudy } from '../../../../src/engine/study/study-file';
import { expandJobs, experimentText } from '../../../../src/engine/study/jobs';
import { checkStudy, runStudyJob } from '../../../../src/engine/study/study-run';
import { studyMain } from '../../../../src/engine/study/cli';
import { runExperiment } from '../../../../src/engine/run/experiment';
import type { RunEvent } from '../../../../src/engine/report/types';
import { makeTinyExperiment, type TinyExperiment } from '../../../support/tiny-experiment';

function io() {
  const o = { out: '', err: '' };
  return { o, io: { out: (s: string) => void (o.out += s), err: (s: string) => void (o.err += s) } };
}

describe('studies (*.ntk-study.yaml)', function () {
  this.timeout(300000);
  let exp: TinyExperiment;
  let root: string;
  let studyFile: string;
  before(async () => {
    await tf.setBackend('cpu');
    exp = await makeTinyExperiment();
    // An LM-BFF-shaped data root with one task: SST-2/k-shot/4-{13,21}/{train,dev,test}.tsv, from the tiny task's rows.
    root = path.join(exp.dir, 'lm-bff');
    for (const seed of [13, 21]) {
      const dir = path.join(root, 'SST-2', 'k-shot', `4-${seed}`);
      fs.mkdirSync(dir, { recursive: true });
      for (const split of ['train', 'dev', 'test']) fs.copyFileSync(path.join(exp.dir, `${split}.tsv`), path.join(dir, `${split}.tsv`));
    }
    studyFile = path.join(exp.dir, 'tiny.ntk-study.yaml');
    fs.writeFileSync(studyFile, `model: ./model
data: ./lm-bff
tasks: [SST-2]
shots: 4
seeds: [13, 21]
modes: [prompt, standard]
max_length: 32
backend: cpu
finetune: {optimizer: sgd, learning_rate: 1.0e-2, steps: 2, batch_size: 4, eval_every: 1}
kernel: {kinds: [sgd], solver: lstsq}
`);
  });
  after(() => exp?.cleanup());

  it('reports every problem of the file with its line and column', () => {
    const text = `model: ntk-mini\ndata: .\ntasks: [SST-2, sst2x, SST-2]\nmodes: [prompt, nope]\nfinetune: {optimizr: sgd}\noverrides:\n  mr: {max_length: 64}\n`;
    const errs = parseStudy(text, path.join(exp.dir, 'bad.ntk-study.yaml')).errors.map((e) => `${e.line}:${e.column} ${e.message}`);
    assert.ok(errs.some((e) => /^3:16 Unknown task 'sst2x'/.test(e)), errs.join('\n'));
    assert.ok(errs.some((e) => /^3:23 Task 'SST-2' is listed twice/.test(e)), errs.join('\n'));
    assert.ok(errs.some((e) => /^4:17 A mode is 'prompt'/.test(e)), errs.join('\n'));
    assert.ok(errs.some((e) => /^5:12 Unknown key 'optimizr' in 'finetune'.*Did you mean 'optimizer'/.test(e)), errs.join('\n'));
    assert.ok(errs.some((e) => /^7:3 'mr' has overrides but is not one of the study's tasks/.test(e)), errs.join('\n'));
  });

  it('expands into jobs with stable indices (model → task → shots → mode → seed), each the text of an experiment file', () => {
    const study = parseStudy(fs.readFileSync(studyFile, 'utf8'), studyFile).study!;
    const jobs = expandJobs(study);
    assert.deepEqual(jobs.map((j) => `${j.mode}/${j.seed}`), ['prompt/13', 'prompt/21', 'standard/13', 'standard/21']);
    assert.match(experimentText(study, jobs[0]), /template: "\*cls\*\*sent_0\*_It_was\*mask\*\.\*sep\+\*"/);
  });

  it('a missing task folder is a located error before any job starts', async () => {
    const bad = path.join(exp.dir, 'missing.ntk-study.yaml');
    fs.writeFileSync(bad, fs.readFileSync(studyFile, 'utf8').replace('tasks: [SST-2]', 'tasks: [SST-2, mr]'));
    const study = parseStudy(fs.readFileSync(bad, 'utf8'), bad).study!;
    const problems = await checkStudy(study);
    assert.ok(problems.length > 0);
    assert.ok(problems.every((p) => p.line === 3 && p.column === 16 && /^mr \((prompt|standard), .*\): /.test(p.message)), problems.map((p) => `${p.line}:${p.column} ${p.message}`).join('\n'));
    const { o, io: cli } = io();
    assert.equal(await studyMain(['job', bad, '--index', '0'], cli), 2, 'a job refuses to start on a study with errors');
    assert.match(o.err, /missing\.ntk-study\.yaml:3:16: error: mr/);
  });

  it('a job computes what the equivalent experiment file computes, under the same key: neither recomputes the other', async () => {
    const out = path.join(exp.dir, 'store');
    const study = parseStudy(fs.readFileSync(studyFile, 'utf8'), studyFile).study!;
    // The experiment file of job 0, run as a single run first.
    const single = path.join(exp.dir, 'single.ntk.yaml');
    fs.writeFileSync(single, experimentText(study, expandJobs(study)[0]));
    const first = await runExperiment(single, { resultsDir: out });
    const { o, io: cli } = io();
    assert.equal(await studyMain(['jobs', studyFile, '--out', out, '--json'], cli), 0);
    const listed = JSON.parse(o.out) as { index: number; key: string; done: boolean; estimate: { memoryMB: number; seconds: number } }[];
    assert.equal(listed.length, 4);
    assert.equal(listed[0].key, first.templates[0].key, 'job 0 has the single run\'s key');
    assert.deepEqual(listed.map((j) => j.done), [true, false, false, false]);
    assert.ok(listed.every((j) => j.estimate.memoryMB > 0 && j.estimate.seconds >= 0));

    // Job 0 finds its seed in the store: nothing is computed.
    const events: RunEvent[] = [];
    await runStudyJob(study, 0, { out, onEvent: (e) => events.push(e) });
    assert.ok(events.some((e) => e.type === 'seed-done' && e.reused));
    assert.ok(!events.some((e) => e.type === 'step'));
    // Job 3 (standard, seed 21) through the CLI, as a scheduler calls it: the index from $SLURM_ARRAY_TASK_ID.
    process.env.SLURM_ARRAY_TASK_ID = '3';
    try {
      const r = io();
      assert.equal(await studyMain(['job', studyFile, '--out', out], r.io), 0, r.o.err);
      assert.match(r.o.err, /job 3: .* SST-2 4-shot standard seed 21/);
    } finally {
      delete process.env.SLURM_ARRAY_TASK_ID;
    }

    // The table: prompt seed 13 and standard seed 21 are there; the two other cells are marked missing, not dropped.
    const t = io();
    assert.equal(await studyMain(['report', studyFile, '--out', out, '--format', 'md'], t.io), 0);
    assert.match(t.o.out, /\| task \| metric \| prompt FT \| prompt K\[SGD\] \| prompt agree \| prompt kernel Δ \| prompt lin\. \| prompt verdict \| standard FT/);
    assert.match(t.o.out, /\| SST-2 \| acc \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| \w[\w-]*; missing seed 21 \| [\d.]+ .*missing seed 13 \|/);
    assert.match(t.o.out, /- prompt: kernel-like on 0 of 1 tasks; .*incomplete: SST-2/);
    for (const format of ['csv', 'tex', 'json']) {
      const f = io();
      assert.equal(await studyMain(['report', studyFile, '--out', out, '--format', format], f.io), 0);
      assert.ok(f.o.out.includes('SST-2'));
    }
  });

  it('study run: every unfinished job on parallel worker processes, then the full table; a second run skips them all', async () => {
    const out = path.join(exp.dir, 'run-store');
    const first = io();
    assert.equal(await studyMain(['run', studyFile, '--out', out, '--workers', '2', '--events'], first.io), 0, first.o.err);
    const events = first.o.out.trim().split('\n').map((l) => JSON.parse(l));
    const plan = events.find((e) => e.type === 'plan');
    assert.equal(plan.jobs, 4);
    assert.equal(plan.workers, 2);
    assert.deepEqual(events.filter((e) => e.type === 'job' && e.state === 'done').map((e) => e.index).sort(), [0, 1, 2, 3]);
    const final = events.filter((e) => e.type === 'table').pop();
    const cells = final.tables[0].rows[0].cells;
    assert.deepEqual(cells.map((c: { seeds: number[]; missing: number[] }) => [c.seeds, c.missing]), [[[13, 21], []], [[13, 21], []]]);
    const last = events[events.length - 1];
    assert.deepEqual([last.type, last.done, last.failed, last.workers], ['done', 4, 0, 2]);
    const again = io();
    assert.equal(await studyMain(['run', studyFile, '--out', out, '--workers', '2'], again.io), 0);
    assert.match(again.o.out, /0 jobs done, 4 already done, 0 failed/);
  });

  it('study init writes the paper grid: 14 tasks × 2 modes × 5 seeds = 140 jobs, and refuses to overwrite', async () => {
    const file = path.join(exp.dir, 'paper.ntk-study.yaml');
    const { o, io: cli } = io();
    assert.equal(await studyMain(['init', file], cli), 0);
    assert.match(o.out, /140 jobs/);
    const text = fs.readFileSync(file, 'utf8').replace('data: ../shared/data/lm-bff', `data: ${exp.dir}`).replace('model: roberta-base', 'model: ntk-mini');
    const study = parseStudy(text, file).study!;
    assert.equal(expandJobs(study).length, 140);
    assert.equal(await studyMain(['init', file], io().io), 2);
  });

  it('kernel.tiles 2: each seed gets a tile job before its own job; the tile job stores its tile (done), the seed job merges it; the table equals the untiled study\'s', async () => {
    const tiled = path.join(exp.dir, 'tiled.ntk-study.yaml');
    fs.writeFileSync(tiled, fs.readFileSync(studyFile, 'utf8').replace('modes: [prompt, standard]', 'modes: [prompt]').replace('kernel: {kinds: [sgd], solver: lstsq}', 'kernel: {kinds: [sgd], solver: lstsq, tiles: 2}'));
    const study = parseStudy(fs.readFileSync(tiled, 'utf8'), tiled).study!;
    const jobs = expandJobs(study);
    assert.deepEqual(jobs.map((j) => j.label.replace(/^.* seed /, 'seed ')), ['seed 13 kernel tile 2/2', 'seed 13', 'seed 21 kernel tile 2/2', 'seed 21']);
    const out = path.join(exp.dir, 'tiles-store');
    const events: RunEvent[] = [];
    await runStudyJob(study, 0, { out, onEvent: (e) => events.push(e) });
    assert.ok(events.some((e) => e.type === 'log' && /kernel tile 2 of 2/.test(e.message)));
    const listed = io();
    assert.equal(await studyMain(['jobs', tiled, '--out', out, '--json'], listed.io), 0);
    assert.deepEqual((JSON.parse(listed.o.out) as { done: boolean }[]).map((j) => j.done), [true, false, false, false], 'the tile job is done once its tile is stored');
    const run = io();
    assert.equal(await studyMain(['run', tiled, '--out', out, '--workers', '2'], run.io), 0, run.o.err);
    const untiled = path.join(exp.dir, 'untiled.ntk-study.yaml');
    fs.writeFileSync(untiled, fs.readFileSync(tiled, 'utf8').replace(', tiles: 2', ''));
    const a = io();
    const b = io();
    assert.equal(await studyMain(['report', tiled, '--out', out, '--format', 'json'], a.io), 0);
    assert.equal(await studyMain(['report', untiled, '--out', path.join(exp.dir, 'run-store'), '--format', 'json'], b.io), 0);
    const cells = (o: string) => (JSON.parse(o) as { rows: { cells: { mode: string; key: string; seeds: number[] }[] }[] }[])[0].rows[0].cells.map((c) => ({ key: c.key, seeds: c.seeds }));
    assert.deepEqual(cells(a.o.out), cells(b.o.out).filter((_, i) => i === 0), 'same key, same seeds: tiles are not part of the result');
    const figure = (o: string) => JSON.stringify((JSON.parse(o) as { rows: { cells: { summary?: unknown }[] }[] }[])[0].rows[0].cells[0].summary);
    assert.ok(figure(a.o.out) !== undefined);
    assert.equal(figure(a.o.out), figure(b.o.out), 'the tiled study\'s cell equals the untiled one');
  });
});
