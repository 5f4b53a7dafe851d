/**
 * The comparison on real LM-BFF data: `ntk-lens kernel` on the SST-2 16-shot split (seed 13) with a tiny model the
 * test makes, checked against an independent computation: explicit per-example gradients of f_c(x) (tf.grads on the
 * whole parameter set, flattened, dot products in float64) for a sample of kernel entries.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { promptClassifier } from '../../../../src/engine/classifier/masked-lm-classifier';
import { loadTaskSplits } from '../../../../src/engine/data';
import { loadCheckpoint, makeEncoderConfig, randomParams, saveCheckpoint, disposeParams } from '../../../../src/engine/model';
import { readNpy } from '../../../../src/engine/report/npy';
import { main } from '../../../../src/engine/run/cli';
import { limitRows } from '../../../../src/engine/run/seed-run';
import { compilePrompt, labelWordIds } from '../../../../src/engine/template';
import { loadTokenizer, trainWordPiece } from '../../../../src/engine/tokenize';

const SST2 = path.resolve(__dirname, '../../../../../shared/data/lm-bff/SST-2');

describe('ntk-lens kernel on the SST-2 16-shot split (seed 13)', function () {
  this.timeout(600000);
  let dir: string;
  before(async function () {
    if (!fs.existsSync(path.join(SST2, 'k-shot', '16-13'))) this.skip();
    await tf.setBackend('cpu');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-sst2-'));
    const pool = JSON.parse(fs.readFileSync(path.join(SST2, 'pool', 'train.json'), 'utf8')) as Record<string, { text_a: string }>;
    const texts = Object.values(pool).slice(0, 2000).map((r) => r.text_a).concat(Array(300).fill('it was terrible . it was great .'));
    const tok = trainWordPiece(texts, { vocabSize: 400, lowercase: true, minFrequency: 2 });
    fs.mkdirSync(path.join(dir, 'model'));
    fs.writeFileSync(path.join(dir, 'model', 'tokenizer.json'), JSON.stringify(tok));
    const V = Object.keys((tok.model as { vocab: Record<string, number> }).vocab).length;
    const config = makeEncoderConfig({ modelType: 'bert', vocabSize: V, hiddenSize: 16, numLayers: 1, numHeads: 2, intermediateSize: 32, maxPositions: 128 });
    const params = randomParams(config, 3);
    await saveCheckpoint(path.join(dir, 'model'), config, params);
    disposeParams(params);
    fs.writeFileSync(
      path.join(dir, 'sst2.ntk.yaml'),
      `task: SST-2\ndata: ${SST2}\nshots: 16\nseeds: [13]\nmodel: ./model\nmax_length: 64\ntest_limit: 6\nbackend: cpu\n` +
        `finetune: {optimizer: adam, learning_rate: 1.0e-3, steps: 4, batch_size: 8, eval_every: 2}\n` +
        `kernel: {kinds: [sgd, signgd, asymmetric-signgd], solver: lstsq}\ntemplates:\n  - name: manual\n`,
    );
  });
  after(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

  it('ntk-lens run gives the full report and [32, 2, M, 2] float64 kernels equal to explicit per-example gradient dot products', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(['run', path.join(dir, 'sst2.ntk.yaml'), '--json'], { out: (s) => out.push(s), err: (s) => err.push(s) });
    assert.equal(code, 0, err.join(''));
    const report = JSON.parse(out.join(''));
    const seed = report.templates[0].seeds[0];
    assert.equal(seed.split.nTrain, 32);
    assert.equal(seed.split.nDev, 32);
    assert.equal(seed.split.nTest, 6);
    assert.equal(seed.finetune.lossCurve.length, 4);
    assert.equal(seed.finetune.testLogits.length, 6);
    for (const kind of ['sgd', 'signgd', 'asymmetric-signgd']) assert.ok(seed.kernels[kind].agreement >= 0 && seed.kernels[kind].agreement <= 1);
    assert.ok(seed.diagnostics.kernelChange >= 0 && seed.diagnostics.linearization.relative >= 0);
    assert.ok(report.templates[0].verdict.evidence.length >= 2);
    const K = { sgd: await readNpy(seed.kernels.sgd.files.test), sign: await readNpy(seed.kernels.signgd.files.test), asym: await readNpy(seed.kernels['asymmetric-signgd'].files.test) };
    assert.deepEqual(K.sgd.shape, [32, 2, 6, 2]);
    assert.deepEqual(K.asym.shape, [2, 32, 2, 6, 2]);

    // Independent computation for a sample of (train n, test m) pairs.
    const { config, params } = await loadCheckpoint(path.join(dir, 'model'));
    const tokenizer = await loadTokenizer(path.join(dir, 'model'));
    const splits = loadTaskSplits('SST-2', SST2, { shots: 16, seed: 13 });
    const testRows = limitRows(splits.test, 6); // the rows `test_limit: 6` evaluates
    const classify = promptClassifier(params, config, tokenizer.padId, labelWordIds(tokenizer, ['terrible', 'great']));
    const template = '*cls**sent_0*_It_was*mask*.*sep+*';
    const enc = (e: { textA: string }) => compilePrompt(template, tokenizer, e, { maxLength: 64 });
    // every parameter but the attention key biases, whose gradient is identically zero (kernel/parameter-subsets.ts)
    const vars = [...params.entries()].filter(([name]) => !name.endsWith('attention.self.key.bias')).map(([, v]) => v);
    const grad = (x: ReturnType<typeof enc>, c: number): Float64Array => {
      const gs = tf.grads((..._v: tf.Tensor[]) => tf.tidy(() => classify([x], { training: false }).slice([0, c], [1, 1]).sum()))(vars);
      const flat = Float64Array.from(tf.concat(gs.map((g) => g.flatten())).dataSync());
      tf.dispose(gs);
      return flat;
    };
    let norm = 0;
    for (const v of K.sgd.data as Float64Array) norm += v * v;
    norm = Math.sqrt(norm);
    for (const [n, m] of [[0, 0], [17, 3], [31, 5]]) {
      const gTrain = [0, 1].map((c) => grad(enc(splits.train[n]), c));
      const gTest = [0, 1].map((c) => grad(enc(testRows[m]), c));
      for (let c = 0; c < 2; c++) {
        for (let c2 = 0; c2 < 2; c2++) {
          let sgd = 0, sign = 0, asym = 0;
          for (let i = 0; i < gTrain[c].length; i++) {
            sgd += gTrain[c][i] * gTest[c2][i];
            sign += Math.sign(gTrain[c][i]) * Math.sign(gTest[c2][i]);
            asym += Math.sign(gTrain[c][i]) * gTest[c2][i];
          }
          const at = ((n * 2 + c) * 6 + m) * 2 + c2;
          assert.ok(Math.abs((K.sgd.data as Float64Array)[at] - sgd) <= 1e-4 * norm, `SGD K[${n},${c},${m},${c2}] = ${(K.sgd.data as Float64Array)[at]} vs ${sgd}`);
          // sign ties: float32 gradients that are exactly 0 on one side and tiny on the other can flip a few coordinates
          assert.ok(Math.abs((K.sign.data as Float64Array)[at] - sign) <= 2, `SignGD K[${n},${c},${m},${c2}] = ${(K.sign.data as Float64Array)[at]} vs ${sign}`);
          let asymNorm = 0;
          for (let i = 0; i < 32 * 2 * 6 * 2; i++) asymNorm += (K.asym.data as Float64Array)[i] ** 2;
          assert.ok(Math.abs((K.asym.data as Float64Array)[at] - asym) <= 1e-4 * Math.sqrt(asymNorm), `A-SignGD K[${n},${c},${m},${c2}]`);
        }
      }
    }
    disposeParams(params);
  });
});
