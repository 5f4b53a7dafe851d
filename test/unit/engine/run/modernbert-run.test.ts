/**
 * ModernBERT through the whole engine (runExperiment), as a user runs it: a random ModernBertForMaskedLM the test
 * writes (4 layers, local windows shorter than the prompts) with a ModernBERT-style tokenizer.json (byte-level BPE,
 * [CLS] $A [SEP], [MASK] stripping the space on its left), the tiny review task, prompt and standard templates:
 * kernels at θ0 (the structured eNTK, the run's default), fine-tuning, diagnostics and a verdict; LoRA on Wqkv and Wo;
 * and examples/masked/modernbert.ntk.yaml, whose model is downloaded by its Hub id from a stand-in Hub on 127.0.0.1.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { runExperiment } from '../../../../src/engine/run/experiment';
import { preflight } from '../../../../src/engine/run/preflight';
import { loadSpec } from '../../../../src/engine/spec';
import { FakeHub } from '../model/hub/fake-hub';
import { assertCompleteTemplates } from '../../../support/report-checks';
import { tinyModernBertConfig, writeTinyModernBert } from '../../../support/tiny-modernbert-checkpoint';
import { modernBertTokenizerFiles, writeTinyModernBertFiles } from '../../../support/tiny-modernbert-files';

describe('ModernBERT through the whole engine', function () {
  this.timeout(300000);
  let dir: string;
  before(async () => {
    await tf.setBackend('cpu');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-modernbert-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prompt, standard and LoRA templates: kernels (sgd, A-SignGD), fine-tuning, diagnostics and a verdict; the model is reported as modernbert', async () => {
    const { specFile, vocab } = await writeTinyModernBertFiles(dir, {
      backend: 'cpu', kernel: ', lora_rank: 2', templates: `  - name: it-was
    template: "*cls**sent_0*_It_was*mask*.*sep+*"
    words: {"0": terrible, "1": great}
  - name: standard
  - name: lora
    template: "*cls**sent_0*_It_was*mask*.*sep+*"
    words: {"0": terrible, "1": great}
    parameters: lora` });
    const vocabSize = Object.keys(vocab).length;
    const report = await runExperiment(specFile, {});
    assertCompleteTemplates(report, { modelType: 'modernbert', templates: ['it-was', 'standard', 'lora'], kinds: ['sgd', 'asymmetric-signgd'], tests: 8, steps: 4 });
    const [prompt, standard, lora] = report.templates;
    // Every tensor of the checkpoint: token embeddings + their norm, 4 layers of (attn_norm but on layer 0, Wqkv, Wo,
    // mlp_norm, Wi, Wo), final_norm, head.dense, head.norm, decoder.bias (tied decoder).
    const tensors = 2 + 4 * 6 - 1 + 1 + 3;
    assert.equal(prompt.seeds[0].finetune!.trainable.tensors, tensors);
    // Standard mode: the MLM head's three tensors (H² + H + V) give way to the linear head [2, H] + [2].
    assert.equal(standard.seeds[0].finetune!.trainable.tensors, tensors - 3 + 2);
    assert.equal(standard.seeds[0].finetune!.trainable.count - prompt.seeds[0].finetune!.trainable.count, 2 * 32 + 2 - (32 * 32 + 32 + vocabSize));
    // LoRA: rank-2 factors on Wqkv [96, 32] and Wo [32, 32] of each layer, and the head group (head.dense, head.norm, decoder.bias).
    assert.equal(lora.seeds[0].finetune!.trainable.count, 4 * (2 * (96 + 32) + 2 * (32 + 32)) + 32 * 32 + 32 + vocabSize);
  });

  it('preflight: `parameters: biases` on a ModernBERT with no bias but the decoder\'s is an error at the template (its kernel is one constant block); with attention biases it is not', async () => {
    const templates = `  - name: bitfit
    template: "*cls**sent_0*_It_was*mask*.*sep+*"
    words: {"0": terrible, "1": great}
    parameters: biases
  - name: bitfit-standard
    parameters: biases`;
    const files = await writeTinyModernBertFiles(path.join(dir, 'bitfit'), { backend: 'cpu', templates });
    const problems = (await preflight(loadSpec(files.specFile))).filter((p) => p.severity === 'error');
    const text = fs.readFileSync(files.specFile, 'utf8').split('\n');
    assert.deepEqual(problems.map((p) => text[p.line - 1].trim()), ['- name: bitfit', '- name: bitfit-standard'], 'located at each template item');
    assert.match(problems[0].message, /^template 'bitfit': 'parameters: biases' selects only decoder\.bias of this modernbert model, which has no other bias tensors; .*same one-hot vector for every input/);
    assert.match(problems[1].message, /^template 'bitfit-standard': 'parameters: biases' selects only classifier\.bias of this modernbert model/);
    await assert.rejects(runExperiment(files.specFile, {}), /parameters: biases' selects only decoder\.bias/);
    // With biases inside the layers the set is the BitFit kernel, as for BERT.
    const config = path.join(files.modelDir, 'config.json');
    const biased = await writeTinyModernBertFiles(path.join(dir, 'bitfit-biased'), { backend: 'cpu', templates });
    const json = JSON.parse(fs.readFileSync(config, 'utf8')) as Record<string, unknown>;
    assert.equal(json.attention_bias, undefined);
    await writeTinyModernBert(biased.modelDir, { ...json, attention_bias: true } as unknown as ReturnType<typeof tinyModernBertConfig>, 11);
    assert.deepEqual((await preflight(loadSpec(biased.specFile))).filter((p) => p.severity === 'error'), []);
  });

  it('kernel.untie_decoder: the run trains a decoder.weight of its own beside the token embeddings (one tensor more)', async () => {
    const files = await writeTinyModernBertFiles(path.join(dir, 'untie'), { backend: 'cpu', kernel: ', untie_decoder: true' });
    const report = await runExperiment(files.specFile, {});
    assertCompleteTemplates(report, { modelType: 'modernbert', templates: ['it-was'], kinds: ['sgd', 'asymmetric-signgd'], tests: 8, steps: 4 });
    const V = Object.keys(files.vocab).length;
    const trainable = report.templates[0].seeds[0].finetune!.trainable;
    assert.equal(trainable.tensors, 2 + 4 * 6 - 1 + 1 + 3 + 1);
    // every tensor of the tied model (tok_embeddings counted once) plus a second V × H table
    const tied = V * 32 + 32 + 4 * (96 * 32 + 32 * 32 + 2 * 32 + 24 * 32 + 32 * 12) - 32 + 32 + 32 * 32 + 32 + V; // embeddings + norm, layers (two norms but layer 0), final_norm, head, decoder.bias
    assert.equal(trainable.count, tied + V * 32);
  });

  it('examples/masked/modernbert.ntk.yaml downloads its model by Hub id and produces a report with a verdict', async () => {
    const examples = path.resolve(__dirname, '../../../../examples');
    const text = fs.readFileSync(path.join(examples, 'masked', 'modernbert.ntk.yaml'), 'utf8');
    const id = text.match(/^model: (\S+)/m)![1];
    const data = path.join(examples, 'quickstart', 'data');
    const sentences = ['train', 'dev', 'test'].flatMap((s) => fs.readFileSync(path.join(data, `${s}.tsv`), 'utf8').split('\n').slice(1).map((l) => l.split('\t')[0]));
    const tok = modernBertTokenizerFiles([...sentences, 'It was terrible great']);
    const ckpt = await writeTinyModernBert(path.join(dir, 'hub-model'), tinyModernBertConfig({ vocab_size: tok.vocabSize, pad_token_id: tok.padId }), 12);
    const hub = await FakeHub.start();
    const previous = process.env.HF_ENDPOINT;
    try {
      hub.repos.set(id, {
        commit: 'b'.repeat(40), lfs: ['model.safetensors'], files: {
          'config.json': fs.readFileSync(path.join(ckpt.dir, 'config.json')),
          'model.safetensors': fs.readFileSync(path.join(ckpt.dir, 'model.safetensors')),
          ...Object.fromEntries(Object.entries(tok.files).map(([f, t]) => [f, Buffer.from(t)])),
        },
      });
      const spec = path.join(dir, 'modernbert.ntk.yaml');
      fs.writeFileSync(spec, text
        .replace('data: ../quickstart/data', `data: ${data}`)
        .replace(/^finetune: \{(.*?)steps: \d+(.*)eval_every: \d+\}$/m, 'finetune: {$1steps: 2$2eval_every: 1}')
        .replace(/^max_length: .*$/m, 'max_length: 32\ntest_limit: 8\ndev_limit: 8\nbackend: cpu'));
      process.env.HF_ENDPOINT = hub.endpoint;
      const report = await runExperiment(spec, { hubCacheDir: path.join(dir, 'hf-cache'), resultsDir: path.join(dir, 'out') });
      assert.equal(report.model.modelType, 'modernbert');
      for (const t of report.templates) assert.ok(['kernel-like', 'not-kernel-like', 'inconclusive'].includes(t.verdict.status), `${t.name}: ${t.verdict.status}`);
      assert.ok(hub.log.some((r) => r.repo === id && r.file === 'model.safetensors'), 'the weights came from the Hub by id');
    } finally {
      if (previous === undefined) delete process.env.HF_ENDPOINT; else process.env.HF_ENDPOINT = previous;
      await hub.close();
    }
  });
});
