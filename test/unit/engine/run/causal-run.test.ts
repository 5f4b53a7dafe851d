/**
 * A causal LM through the whole engine (runExperiment), on a tiny random GPT-2 the test makes
 * (test/support/tiny-causal-experiment.ts): f(x) = the next-token logits of the label words after the prompt's last
 * token, kernels by the plain (per-example autodiff) implementation, fine-tuning, diagnostics and the verdict; the
 * known answer of a model that is linear in what it trains; and the located errors of causal templates.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { runExperiment } from '../../../../src/engine/run/experiment';
import { preflight } from '../../../../src/engine/run/preflight';
import { loadSpec } from '../../../../src/engine/spec';
import type { RunEvent } from '../../../../src/engine/report/types';
import { assertCompleteTemplates } from '../../../support/report-checks';
import { makeTinyCausalExperiment, type TinyCausalExperiment } from '../../../support/tiny-causal-experiment';

describe('a causal LM (GPT-2 layout) through the whole engine', function () {
  this.timeout(300000);
  const exps: TinyCausalExperiment[] = [];
  before(async () => { await tf.setBackend('cpu'); });
  after(() => exps.forEach((e) => e.cleanup()));
  const make = async (o: Parameters<typeof makeTinyCausalExperiment>[0]) => {
    const e = await makeTinyCausalExperiment(o);
    exps.push(e);
    return e;
  };

  it('prompt and standard templates: kernels (sgd, A-SignGD), fine-tuning, diagnostics and a verdict for each; the model is reported as gpt2', async () => {
    const exp = await make({ kinds: ['sgd', 'asymmetric-signgd'], templates: '  - name: it-was\n    template: "*cls**sent_0*_it_was*mask*"\n    words: {"0": terrible, "1": great}\n  - name: standard\n' });
    const events: RunEvent[] = [];
    const report = await runExperiment(exp.specFile, { onEvent: (e) => events.push(e) });
    assertCompleteTemplates(report, { modelType: 'gpt2', templates: ['it-was', 'standard'], kinds: ['sgd', 'asymmetric-signgd'], tests: 8, steps: 4 });
    // Prompt mode trains every parameter (the tied LM head is the token embedding); standard mode adds the LP head.
    const [prompt, standard] = report.templates;
    assert.equal(prompt.seeds[0].finetune!.trainable.parameters, 'all');
    assert.equal(standard.seeds[0].finetune!.trainable.count - prompt.seeds[0].finetune!.trainable.count, 2 * 32 + 2);
    // f0 is the model's logits before fine-tuning: the kernel's θ0 outputs, the same in both places of the report.
    assert.deepEqual(prompt.seeds[0].finetune!.testLogitsBefore.length, 8);
  });

  it('known answer: standard mode, head only — fine-tuning IS its linearisation, the kernel does not change, kernel-like', async () => {
    const exp = await make({ steps: 300, templates: '  - name: head-only\n    parameters: head\n' });
    // Evaluated on the training sentences (dev and test = train): kernel regression interpolates them, and the head fits them.
    fs.writeFileSync(exp.specFile, fs.readFileSync(exp.specFile, 'utf8')
      .replace('files: {train: train.tsv, dev: dev.tsv, test: test.tsv}', 'files: {train: train.tsv, dev: train.tsv, test: train.tsv}')
      .replace(/^finetune: .*$/m, 'finetune: {optimizer: sgd, learning_rate: 0.05, steps: 300, batch_size: 8, eval_every: 20, dropout: false, max_grad_norm: 0}'));
    const [t] = (await runExperiment(exp.specFile, {})).templates;
    const s = t.seeds[0];
    assert.deepEqual(s.finetune!.trainable, { parameters: 'head', count: 2 * 32 + 2, tensors: 2 });
    const lin = s.diagnostics.linearization!;
    assert.ok(lin.ftToInit > 1e-3, `fine-tuning moved the outputs (${lin.ftToInit})`);
    assert.ok(lin.relative < 1e-4, `linearisation distance ${lin.relative} (float32 rounding only)`);
    assert.equal(s.diagnostics.kernelChange, 0);
    assert.equal(t.verdict.status, 'kernel-like', t.verdict.text);
  });

  it('LoRA on GPT-2\'s Conv1D projections: fine-tuning trains r·(in + out) per target, nothing else (the tied head is the embedding)', async () => {
    const exp = await make({ templates: '  - name: it-was\n    parameters: lora\n    template: "*cls**sent_0*_it_was*mask*"\n    words: {"0": terrible, "1": great}\n', kernel: ', lora_rank: 2' });
    const [t] = (await runExperiment(exp.specFile, {})).templates;
    const tr = t.seeds[0].finetune!.trainable;
    // per layer: c_attn [32, 96], attn.c_proj [32, 32], mlp.c_fc [32, 128], mlp.c_proj [128, 32]
    const perLayer = 2 * ((32 + 96) + (32 + 32) + (32 + 128) + (128 + 32));
    assert.equal(tr.count, 2 * perLayer);
    assert.equal(tr.tensors, 2 * 4 * 2);
    assert.ok(t.seeds[0].kernels.sgd!.test.acc >= 0);
  });

  it('located errors before any computation: *mask* not last, and parameters: head on a tied causal LM', async () => {
    const exp = await make({ templates: '  - name: mask-first\n    template: "*cls**mask*_is_the_word_in*sent_0*"\n    words: {"0": terrible, "1": great}\n  - name: head\n    parameters: head\n    template: "*cls**sent_0*_it_was*mask*"\n    words: {"0": terrible, "1": great}\n' });
    const problems = (await preflight(loadSpec(exp.specFile))).filter((p) => p.severity === 'error');
    const text = fs.readFileSync(exp.specFile, 'utf8').split('\n');
    const mask = problems.find((p) => p.message.includes("template 'mask-first'"));
    assert.ok(mask, problems.map((p) => p.message).join('\n'));
    assert.match(mask!.message, /for causal models the label word is predicted after the prompt/);
    assert.equal(text[mask!.line - 1].slice(mask!.column - 1, mask!.endColumn - 1), 'mask', 'located at the *mask* piece');
    const head = problems.find((p) => p.message.includes("template 'head'"));
    assert.ok(head && /'parameters: head' selects nothing of this gpt2 model/.test(head.message), head?.message);
    await assert.rejects(runExperiment(exp.specFile, {}), /for causal models the label word is predicted after the prompt/);
  });
});
