/**
 * Cases whose answer is known, run through the whole engine (runExperiment) on a tiny random BERT the test makes.
 *
 * A model that is linear in what it trains IS its own linearisation: in standard mode with `parameters: head`,
 * f(x) = W·h(x) + b with h frozen, so fine-tuning and the linearised model coincide step for step (up to float32
 * rounding), the eNTK ⟨∂f/∂(W, b), ∂f'/∂(W, b)⟩ = (h·h' + 1)·δ_cc' does not depend on W and b (kernel change exactly 0),
 * and the verdict must say kernel-like.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { runExperiment } from '../../../../src/engine/run/experiment';
import type { TemplateReport } from '../../../../src/engine/report/types';

const QUICKSTART = path.resolve(__dirname, '../../../../examples/quickstart/data');

/**
 * An experiment on the built-in model and the quickstart's review sentences (read in place). `test: train` evaluates
 * on the training sentences themselves: there both kernel regression (which interpolates the training targets) and
 * a fine-tuned head that fits them (kept on dev = the same sentences) predict the gold class, so the accuracy figures
 * have a known answer too.
 */
function makeTask(o: { finetune: string; templates: string; kernel?: string; dev?: 'dev' | 'train'; test?: 'test' | 'train' }): { dir: string; specFile: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-known-'));
  const file = (split: string) => path.join(QUICKSTART, `${split}.tsv`);
  const specFile = path.join(dir, 'known.ntk.yaml');
  fs.writeFileSync(specFile, `task: custom
columns: {text_a: sentence, label: label}
labels: [negative, positive]
data: ${QUICKSTART}
files: {train: ${file('train')}, dev: ${file(o.dev ?? 'dev')}, test: ${file(o.test ?? 'test')}}
seeds: [13]
model: ntk-mini
max_length: 64
backend: wasm
finetune: ${o.finetune}
kernel: {kinds: [sgd], solver: lstsq${o.kernel ?? ''}}
templates:
${o.templates}`);
  return { dir, specFile };
}

const HEAD_ONLY = '  - name: head-only\n    parameters: head\n';

describe('known answers through the whole engine', function () {
  this.timeout(300000);
  const dirs: string[] = [];
  before(async () => { await tf.setBackend('cpu'); });
  after(() => { if (!process.env.KEEP) dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })); else console.log(dirs); });

  async function run(o: Parameters<typeof makeTask>[0]): Promise<TemplateReport[]> {
    const { dir, specFile } = makeTask(o);
    dirs.push(dir);
    return (await runExperiment(specFile, {})).templates;
  }

  it('standard mode, head only: fine-tuning IS its linearisation (distance ~0 at the kept step), the kernel does not change, the verdict is kernel-like', async () => {
    // Clipping off: with a clipped (normalised) step at a large rate the iterates bounce across the kink of the clip,
    // and the float32 (fine-tuning) and float64 (linearised) runs of the same map drift apart (0.02 after 150 steps at
    // lr 0.3); unclipped at a stable rate the two agree to rounding.
    const [t] = await run({ finetune: '{optimizer: sgd, learning_rate: 0.05, steps: 300, batch_size: 8, eval_every: 20, dropout: false, max_grad_norm: 0}', templates: HEAD_ONLY, dev: 'train', test: 'train' });
    const s = t.seeds[0];
    const ft = s.finetune!;
    // Fine-tuning trained exactly the head: C·H + C = 2·128 + 2 scalars in 2 tensors.
    assert.deepEqual(ft.trainable, { parameters: 'head', count: 258, tensors: 2 });
    assert.equal(ft.check.trained, true, ft.check.reasons.join('; '));
    const lin = s.diagnostics.linearization!;
    assert.equal(lin.step, ft.bestStep, 'the linearised model is read at the step fine-tuning kept');
    assert.ok(lin.ftToInit > 0.1, `fine-tuning moved the outputs (${lin.ftToInit})`);
    assert.ok(lin.relative < 1e-4, `linearisation distance ${lin.relative} (float32 rounding only)`);
    assert.equal(s.diagnostics.kernelChange, 0, 'the head kernel does not depend on the head');
    assert.equal(t.verdict.status, 'kernel-like', t.verdict.text);
    assert.equal(t.trainable!.parameters, 'head');
  });

  it('read at the kept step, not at the end: with best dev before the last step the distance stays ~0 (the old diagnostic ran the linearised model to the end)', async () => {
    // Evaluated on the training sentences, dev accuracy is perfect from the first evaluation, which is kept (step 5 of 40).
    const [t] = await run({ finetune: '{optimizer: sgd, learning_rate: 0.1, steps: 40, batch_size: 8, eval_every: 5, dropout: false}', templates: HEAD_ONLY, dev: 'train' });
    const s = t.seeds[0];
    assert.ok(s.finetune!.bestStep < 40, `best step ${s.finetune!.bestStep}`);
    assert.equal(s.diagnostics.linearization!.step, s.finetune!.bestStep);
    assert.ok(s.diagnostics.linearization!.relative < 1e-4, `distance ${s.diagnostics.linearization!.relative}`);
  });

  it('fine-tuning that did not train (lr 1e-7) gives "inconclusive: fine-tuning did not train" with the remedy, not "not kernel-like"', async () => {
    const [t] = await run({ finetune: '{optimizer: sgd, learning_rate: 1.0e-7, steps: 20, batch_size: 8, eval_every: 5}', templates: HEAD_ONLY });
    assert.equal(t.seeds[0].finetune!.check.trained, false);
    assert.equal(t.verdict.status, 'inconclusive');
    assert.match(t.verdict.text, /^inconclusive: fine-tuning did not train/);
    assert.match(t.verdict.reason!, /raise finetune\.learning_rate \(1e-7 for sgd/);
    assert.equal(t.seeds[0].verdict!.status, 'inconclusive', "the seed's own verdict says the same");
  });

  it('a learning-rate grid fine-tunes with each rate from θ0 and keeps the best on dev', async () => {
    const [t] = await run({ finetune: '{optimizer: sgd, learning_rate: [1.0e-7, 0.1], steps: 20, batch_size: 8, eval_every: 5, dropout: false}', templates: HEAD_ONLY, dev: 'train' });
    const ft = t.seeds[0].finetune!;
    assert.deepEqual(ft.grid.map((g) => g.learningRate), [1e-7, 0.1]);
    assert.deepEqual(ft.grid.map((g) => g.trained), [false, true]);
    assert.equal(ft.learningRate, 0.1, 'the rate that trained wins (a tie on dev goes to the one that trained)');
    assert.equal(ft.check.trained, true);
    // The linearised model used the chosen rate: still its own linearisation.
    assert.ok(t.seeds[0].diagnostics.linearization!.relative < 1e-4);
  });

  it('LoRA: fine-tuning trains the LoRA factors and the head on the frozen model, and the report names them', async () => {
    const [t] = await run({
      finetune: '{optimizer: adam, learning_rate: 1.0e-3, steps: 4, batch_size: 8, eval_every: 2}',
      templates: '  - name: it-was\n    template: "*cls**sent_0*_It_was*mask*.*sep+*"\n    words: {negative: terrible, positive: great}\n',
      kernel: ', parameters: lora, lora_rank: 2',
    });
    const ft = t.seeds[0].finetune!;
    // ntk-mini (4 layers, hidden 128, vocabulary 12,000): targets q, k, v and the attention output of 4 layers, each
    // [128, 128] → B [128, 2] + A [2, 128] = 512 per target, 16 targets; head: the MLM transform dense 128·128 + 128,
    // its LayerNorm 2·128, and the decoder bias 12,000 (the decoder weight is tied to the word embeddings, which stay frozen).
    assert.equal(ft.trainable.parameters, 'lora');
    assert.deepEqual(ft.trainable.lora, { rank: 2, alpha: 2 });
    const head = 128 * 128 + 128 + 2 * 128 + 12000;
    assert.equal(ft.trainable.count, 16 * 512 + head);
    assert.equal(ft.trainable.tensors, 32 + 5);
    assert.equal(t.seeds[0].kernels.sgd!.parameterCount, 16 * 128 * 2 + head, 'the θ0 kernel sees the B coordinates (out·r each) and the head');
    assert.ok(t.seeds[0].diagnostics.kernelChange! > 0, 'the kernel over (B, A, head) moved once B left 0');
  });
});
