/**
 * The shipped built-in model is the one its card describes: its SST-2 zero-shot accuracy on the 872 test sentences,
 * recomputed here through the engine's own classifier path (not the evaluation code that produced the card), must be
 * within 1 point of `models/ntk-mini/eval.json` and of the card's text. A broken or swapped model fails.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { promptClassifier, predictLogits } from '../../../../src/engine/classifier/masked-lm-classifier';
import { loadTaskSplits } from '../../../../src/engine/data';
import { initBackend } from '../../../../src/engine/backend';
import { loadCheckpoint, disposeParams } from '../../../../src/engine/model';
import { builtinModelDir } from '../../../../src/engine/run/experiment';
import { compilePrompt, labelWordIds } from '../../../../src/engine/template';
import { loadTokenizer } from '../../../../src/engine/tokenize';

const SST2 = path.resolve(__dirname, '../../../../../shared/data/lm-bff/SST-2');

describe('the shipped model models/ntk-mini', function () {
  this.timeout(300000);
  it('loads through the normal checkpoint path and its SST-2 zero-shot accuracy matches the model card within 1 point', async function () {
    if (!fs.existsSync(SST2)) this.skip();
    const dir = builtinModelDir();
    const evalFile = path.join(dir, 'eval.json');
    assert.ok(fs.existsSync(evalFile), `${evalFile} is missing: run \`npx tsx scripts/evaluate-ntk-mini.ts\``);
    const card = JSON.parse(fs.readFileSync(evalFile, 'utf8'));
    const claimed: number = card.sst2ZeroShot.accuracy;
    assert.ok(fs.readFileSync(path.join(dir, 'README.md'), 'utf8').includes(`**${(100 * claimed).toFixed(1)}%**`), 'the card text states the eval.json figure');

    await initBackend('wasm');
    const { config, params } = await loadCheckpoint(dir);
    const tokenizer = await loadTokenizer(dir);
    const test = loadTaskSplits('SST-2', SST2, { shots: 16, seed: 13 }).test;
    assert.equal(test.length, 872);
    const classify = promptClassifier(params, config, tokenizer.padId, labelWordIds(tokenizer, ['terrible', 'great']));
    const enc = test.map((e) => compilePrompt('*cls**sent_0*_It_was*mask*.*sep+*', tokenizer, e, { maxLength: Math.min(128, config.maxPositions) }));
    const logits = await predictLogits(classify, enc, 32);
    let correct = 0;
    test.forEach((e, i) => {
      if ((logits[2 * i + 1] > logits[2 * i] ? '1' : '0') === e.label) correct++;
    });
    const acc = correct / test.length;
    disposeParams(params);
    await tf.setBackend('cpu');
    assert.ok(Math.abs(acc - claimed) <= 0.01, `recomputed ${(100 * acc).toFixed(1)}% vs card ${(100 * claimed).toFixed(1)}%`);
  });
});
