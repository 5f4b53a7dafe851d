import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { pretrainMain } from '../../../../src/engine/pretrain/cli';
import { Rng } from '../../../../src/engine/pretrain/rng';

/** A data folder in the shared layout with a few hundred generated lines (movie_reviews and one pool file). */
function makeDataDir(root: string): string {
  const data = path.join(root, 'data');
  for (const d of ['movie_reviews/neg', 'movie_reviews/pos', 'brown', 'abc', 'inaugural', 'state_union', 'webtext', 'pros_cons']) {
    fs.mkdirSync(path.join(data, 'corpus', d), { recursive: true });
  }
  const rng = new Rng(9);
  const words = ['the', 'film', 'was', 'a', 'great', 'terrible', 'story', 'and', 'plot', 'actors', 'good', 'bad', 'long', 'funny', 'boring', 'it'];
  const line = () => Array.from({ length: 6 + rng.int(8) }, () => words[rng.int(words.length)]).join(' ') + ' .';
  for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(data, 'corpus/movie_reviews', i % 2 ? 'pos' : 'neg', `cv${i}.txt`), Array.from({ length: 12 }, line).join('\n'));
  fs.mkdirSync(path.join(data, 'lm-bff/SST-2/pool'), { recursive: true });
  fs.writeFileSync(path.join(data, 'lm-bff/SST-2/pool/train.json'), JSON.stringify(Object.fromEntries(Array.from({ length: 50 }, (_, i) => [String(i), { text_a: line(), label: 'x' }]))));
  return data;
}

const SMALL = ['--layers', '1', '--hidden', '16', '--heads', '2', '--intermediate', '32', '--vocab', '120', '--max-len', '16', '--batch', '4', '--backend', 'cpu', '--log-every', '1', '--eval-every', '100'];

describe('ntk-lens pretrain, run as a user runs it (a generated data folder, a tiny model)', function () {
  this.timeout(120_000);
  let root: string;
  let previous: string;
  let log: typeof console.log;
  before(() => { previous = tf.getBackend(); log = console.log; console.log = () => undefined; root = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-pretrain-cli-')); });
  after(async () => { console.log = log; fs.rmSync(root, { recursive: true, force: true }); if (previous) await tf.setBackend(previous); });

  it('trains and exports; --export-only rewrites the same weights and card; --init continues in a second stage whose card counts both and which resumes without the first stage\'s folder', async () => {
    const data = makeDataDir(root);
    const w1 = path.join(root, 'work1'), o1 = path.join(root, 'out1'), w2 = path.join(root, 'work2'), o2 = path.join(root, 'out2');
    await pretrainMain(['--data', data, '--work', w1, '--out', o1, ...SMALL, '--total-steps', '6', '--max-steps', '3']);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'README.md']) assert.ok(fs.existsSync(path.join(o1, f)), `${f} exported`);
    const weights = fs.readFileSync(path.join(o1, 'model.safetensors'));
    const card = fs.readFileSync(path.join(o1, 'README.md'), 'utf8');
    assert.match(card, /\(step 3, /);

    fs.rmSync(o1, { recursive: true });
    await pretrainMain(['--data', data, '--work', w1, '--out', o1, '--export-only']);
    assert.deepEqual(fs.readFileSync(path.join(o1, 'model.safetensors')), weights, 'the same weights');
    assert.equal(fs.readFileSync(path.join(o1, 'README.md'), 'utf8'), card, 'the same card (same figures, same template)');
    await assert.rejects(pretrainMain(['--data', data, '--work', path.join(root, 'empty'), '--out', o1, ...SMALL, '--export-only']), /--export-only needs a checkpoint/);

    await pretrainMain(['--data', data, '--work', w2, '--out', o2, ...SMALL, '--init', w1, '--lr', '1e-3', '--total-steps', '2', '--seed', '5']);
    assert.equal(fs.readFileSync(path.join(w2, 'tokenizer.json'), 'utf8'), fs.readFileSync(path.join(w1, 'tokenizer.json'), 'utf8'), 'stage 2 uses stage 1\'s vocabulary');
    const card2 = fs.readFileSync(path.join(o2, 'README.md'), 'utf8');
    assert.match(card2, /\(step 5, counted over 2 stages, /);
    assert.match(card2, /Stage 1: peak learning rate 0\.0005, .*; stopped at its step 3/);
    assert.match(card2, /Stage 2 \(this run, .*\): peak learning rate 0\.001, .*seed 5; at its step 2/);
    await assert.rejects(pretrainMain(['--data', data, '--work', w2, '--out', o2, '--init', path.join(root, 'elsewhere')]), /init differ/);
    // Once started, stage 2 stands on its own checkpoints: stage 1's folder is no longer needed to resume or export.
    fs.rmSync(w1, { recursive: true });
    await pretrainMain(['--data', data, '--work', w2, '--out', o2, '--export-only']);
    assert.equal(fs.readFileSync(path.join(o2, 'README.md'), 'utf8'), card2);
  });
});
