/**
 * ALBERT through the whole engine (runExperiment): a random AlbertForMaskedLM the test writes (3 depths of one shared
 * layer, E = 16 ≠ H = 32) with an ALBERT-style SentencePiece Unigram tokenizer.json (lowercasing, "▁" word prefix,
 * [CLS] [SEP] [MASK], tokenizer_config.json's remove_space: true as albert-base-v2's), the tiny review task, prompt and
 * standard templates: kernels at θ0 (the structured eNTK, the run's default), fine-tuning, diagnostics and a verdict.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { disposeParams, makeEncoderConfig, randomParams, saveCheckpoint } from '../../../../src/engine/model';
import { runExperiment } from '../../../../src/engine/run/experiment';
import { assertCompleteTemplates } from '../../../support/report-checks';
import { REVIEW_TEXTS, writeReviewTsvs } from '../../../support/tiny-review-task';

/** An ALBERT tokenizer.json (AlbertConverter's layout) whose pieces are ▁word for every word of the task. */
function albertTokenizerJson(words: string[]): { json: Record<string, unknown>; size: number } {
  const special = ['<pad>', '<unk>', '[CLS]', '[SEP]', '[MASK]'];
  const pieces: [string, number][] = [...special.map((s) => [s, 0] as [string, number]), ['▁', -5], ['.', -3], [',', -3],
    ...[...'abcdefghijklmnopqrstuvwxyz'].map((c) => [c, -8] as [string, number]),
    ...words.map((w) => [`▁${w}`, -2] as [string, number])];
  const added = special.map((content, id) => ({ id, content, single_word: false, lstrip: content === '[MASK]', rstrip: false, normalized: false, special: true }));
  const metaspace = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true };
  return {
    size: pieces.length,
    json: {
      version: '1.0', truncation: null, padding: null, added_tokens: added,
      normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKD' }, { type: 'StripAccents' }, { type: 'Lowercase' }, { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' }] },
      pre_tokenizer: metaspace,
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
        pair: [], special_tokens: { '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] } },
      },
      decoder: metaspace,
      model: { type: 'Unigram', unk_id: 1, vocab: pieces, byte_fallback: false },
    },
  };
}

describe('ALBERT through the whole engine', function () {
  this.timeout(300000);
  let dir: string;
  before(async () => {
    await tf.setBackend('cpu');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-albert-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prompt and standard templates: kernels (sgd, A-SignGD), fine-tuning, diagnostics and a verdict; the model is reported as albert', async () => {
    const modelDir = path.join(dir, 'model');
    fs.mkdirSync(modelDir);
    const words = [...new Set(REVIEW_TEXTS.join(' ').split(' ').filter((w) => /^[a-z]+$/.test(w)))];
    const { json, size } = albertTokenizerJson(words);
    fs.writeFileSync(path.join(modelDir, 'tokenizer.json'), JSON.stringify(json));
    fs.writeFileSync(path.join(modelDir, 'tokenizer_config.json'), JSON.stringify({
      do_lower_case: true, keep_accents: false, remove_space: true, cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '<pad>',
      unk_token: '<unk>', mask_token: { content: '[MASK]', lstrip: true, normalized: false, rstrip: false, single_word: false },
    }));
    const config = makeEncoderConfig({
      modelType: 'albert', vocabSize: size, embeddingSize: 16, hiddenSize: 32, numLayers: 3, numHeads: 2, intermediateSize: 64,
      maxPositions: 64, hiddenAct: 'gelu_new', hiddenDropout: 0, attentionDropout: 0,
    });
    const params = randomParams(config, 11);
    await saveCheckpoint(modelDir, config, params);
    disposeParams(params);
    writeReviewTsvs(dir);
    const specFile = path.join(dir, 'albert.ntk.yaml');
    fs.writeFileSync(specFile, `task: custom
columns: {text_a: sentence, label: label}
labels: ["0", "1"]
data: .
files: {train: train.tsv, dev: dev.tsv, test: test.tsv}
seeds: [13]
model: ./model
max_length: 32
backend: cpu
finetune: {optimizer: sgd, learning_rate: 1.0e-2, steps: 4, batch_size: 4, eval_every: 2}
kernel: {kinds: [sgd, asymmetric-signgd], solver: lstsq}
templates:
  - name: it-was
    template: "*cls**sent_0*_It_was*mask*.*sep+*"
    words: {"0": terrible, "1": great}
  - name: standard
`);
    const report = await runExperiment(specFile, {});
    assertCompleteTemplates(report, { modelType: 'albert', templates: ['it-was', 'standard'], kinds: ['sgd', 'asymmetric-signgd'], tests: 8, steps: 4 });
    // Prompt mode trains every tensor of the checkpoint (one shared layer: 16 tensors for 3 depths) but the shared
    // attention key bias, whose gradient is identically 0 (kernel/parameter-subsets.ts); standard mode swaps the MLM head for its linear head.
    const [prompt, standard] = report.templates;
    const tensors = 7 /* embeddings + projection */ + 16 /* the shared layer */ - 1 /* its key bias */ + 5 /* MLM head, tied decoder */;
    assert.equal(prompt.seeds[0].finetune!.trainable.tensors, tensors);
    // Standard mode: the encoder with a linear head [2, H] + [2] in place of the MLM head's 5 tensors (E·H + E + 2E + V).
    const mlmHead = 16 * 32 + 16 + 2 * 16 + config.vocabSize;
    assert.equal(standard.seeds[0].finetune!.trainable.tensors, tensors - 5 + 2);
    assert.equal(standard.seeds[0].finetune!.trainable.count - prompt.seeds[0].finetune!.trainable.count, 2 * 32 + 2 - mlmHead);
  });
});
