/**
 * Every example in examples/causal/ runs as a user runs it: its `model:` is a Hub id, resolved and downloaded by the
 * real download code from a stand-in Hub on 127.0.0.1 (test/unit/engine/model/hub/fake-hub.ts) that serves a tiny
 * random checkpoint of that family (config.json, model.safetensors as LFS, tokenizer files) under the same id. Only
 * the cost settings are cut (steps, limits, backend cpu); templates, words and parameter sets are the example's.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { runExperiment } from '../../../../src/engine/run/experiment';
import { FakeHub } from '../model/hub/fake-hub';
import { wordLevelByteBpe } from '../../../support/tiny-causal-files';
import { writeTinyCausalCheckpoint, type TinyCausalSpec } from '../../../support/tiny-causal-checkpoint';

const EXAMPLES = path.resolve(__dirname, '../../../../examples/causal');
const DATA = path.resolve(__dirname, '../../../../examples/quickstart/data');

/** The family each example's model is, as its config.json says (tiny sizes). */
const FAMILY: Record<string, Omit<TinyCausalSpec, 'vocab'>> = {
  'gpt2.ntk.yaml': { modelType: 'gpt2', hidden: 16, heads: 2 },
  'pythia.ntk.yaml': { modelType: 'gpt_neox', hidden: 16, heads: 2, config: { rotary_pct: 0.25, use_parallel_residual: true } },
  'smollm2.ntk.yaml': { modelType: 'llama', hidden: 18, heads: 3, kvHeads: 1, tied: true },
  'tinyllama.ntk.yaml': { modelType: 'llama', hidden: 16, heads: 4, kvHeads: 2, tied: false },
};

describe('examples/causal: each example runs end to end on a model downloaded by its Hub id', function () {
  this.timeout(300000);
  let hub: FakeHub;
  let tmp: string;
  before(async () => {
    await tf.setBackend('cpu');
    hub = await FakeHub.start();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-examples-'));
  });
  after(async () => {
    await hub?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the folder has an example per family, each named in the table above', () => {
    assert.deepEqual(fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.ntk.yaml')).sort(), Object.keys(FAMILY).sort());
  });

  for (const [file, family] of Object.entries(FAMILY)) {
    it(`${file}: downloads its model by id and produces a report with a verdict per template`, async () => {
      const text = fs.readFileSync(path.join(EXAMPLES, file), 'utf8');
      const id = text.match(/^model: (\S+)/m)![1];
      // The tokenizer: every word of the review data (and the label words) one token.
      const sentences = ['train', 'dev', 'test'].flatMap((s) => fs.readFileSync(path.join(DATA, `${s}.tsv`), 'utf8').split('\n').slice(1).map((l) => l.split('\t')[0]));
      const tok = wordLevelByteBpe([...sentences, 'It was terrible great']) as { model: { vocab: Record<string, number> } };
      const V = Object.keys(tok.model.vocab).length;
      const dir = path.join(tmp, 'checkpoints', id.replace(/\W/g, '_'));
      await writeTinyCausalCheckpoint(dir, { ...family, vocab: V, maxPositions: 64 });
      const files: Record<string, Buffer> = {
        'config.json': fs.readFileSync(path.join(dir, 'config.json')),
        'model.safetensors': fs.readFileSync(path.join(dir, 'model.safetensors')),
        'tokenizer.json': Buffer.from(JSON.stringify(tok)),
        'tokenizer_config.json': Buffer.from(JSON.stringify({ bos_token: '<|endoftext|>', eos_token: '<|endoftext|>' })),
      };
      hub.repos.set(id, { commit: 'a'.repeat(40), files, lfs: ['model.safetensors'] });
      const spec = path.join(tmp, file);
      fs.writeFileSync(spec, text
        .replace('data: ../quickstart/data', `data: ${DATA}`)
        .replace(/^backend: .*$/m, 'backend: cpu')
        .replace(/^finetune: \{(.*?)steps: \d+(.*)eval_every: \d+\}$/m, 'finetune: {$1steps: 2$2eval_every: 1}')
        .replace(/^max_length: .*$/m, 'max_length: 32\ntest_limit: 8\ndev_limit: 8'));
      const previous = process.env.HF_ENDPOINT;
      process.env.HF_ENDPOINT = hub.endpoint;
      try {
        const report = await runExperiment(spec, { hubCacheDir: path.join(tmp, 'hf-cache'), resultsDir: path.join(tmp, 'out', file) });
        assert.equal(report.model.modelType, family.modelType);
        assert.ok(report.templates.length >= 1);
        for (const t of report.templates) assert.ok(['kernel-like', 'not-kernel-like', 'inconclusive'].includes(t.verdict.status), `${t.name}: ${t.verdict.status}`);
        assert.ok(hub.log.some((r) => r.repo === id && r.file === 'model.safetensors'), 'the weights came from the Hub by id');
      } finally {
        if (previous === undefined) delete process.env.HF_ENDPOINT; else process.env.HF_ENDPOINT = previous;
      }
    });
  }
});
