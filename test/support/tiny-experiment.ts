/**
 * A complete, tiny experiment made by the test itself: a random BERT (2 layers, hidden 32) with a WordPiece
 * vocabulary trained on the task's own sentences, a two-class review task as TSV files, and an *.ntk.yaml file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeEncoderConfig, randomParams, saveCheckpoint, disposeParams } from '../../src/engine/model';
import { trainWordPiece } from '../../src/engine/tokenize';
import { REVIEW_TEXTS, writeReviewTsvs } from './tiny-review-task';


export interface TinyExperiment {
  dir: string;
  specFile: string;
  modelDir: string;
  cleanup(): void;
}

export async function makeTinyExperiment(opts: { kinds?: string[]; steps?: number; seeds?: number[]; optimizer?: 'sgd' | 'adam'; extraTemplates?: string } = {}): Promise<TinyExperiment> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-exp-'));
  const modelDir = path.join(dir, 'model');
  fs.mkdirSync(modelDir);
  const tok = trainWordPiece(REVIEW_TEXTS, { vocabSize: 120, lowercase: true, minFrequency: 1 });
  fs.writeFileSync(path.join(modelDir, 'tokenizer.json'), JSON.stringify(tok));
  const vocabSize = Object.keys((tok.model as { vocab: Record<string, number> }).vocab).length;
  const config = makeEncoderConfig({ modelType: 'bert', vocabSize, hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 64, maxPositions: 64 });
  const params = randomParams(config, 7);
  await saveCheckpoint(modelDir, config, params);
  disposeParams(params);

  writeReviewTsvs(dir);
  const specFile = path.join(dir, 'tiny.ntk.yaml');
  fs.writeFileSync(
    specFile,
    `task: custom
columns: {text_a: sentence, label: label}
labels: ["0", "1"]
data: .
files: {train: train.tsv, dev: dev.tsv, test: test.tsv}
seeds: [${(opts.seeds ?? [13]).join(', ')}]
model: ./model
max_length: 32
backend: cpu
finetune: {optimizer: ${opts.optimizer ?? 'sgd'}, learning_rate: 1.0e-2, steps: ${opts.steps ?? 4}, batch_size: 4, eval_every: 2}
kernel: {kinds: [${(opts.kinds ?? ['sgd']).join(', ')}], solver: lstsq}
templates:
  - name: it-was
    template: "*cls**sent_0*_it_was*mask*.*sep+*"
    words: {"0": terrible, "1": great}
${opts.extraTemplates ?? ''}`,
  );
  return { dir, specFile, modelDir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
