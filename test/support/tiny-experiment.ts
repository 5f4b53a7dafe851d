/**
 * A complete, tiny experiment made by the test itself: a random BERT (2 layers, hidden 32) with a WordPiece
 * vocabulary trained on the task's own sentences, a two-class review task as TSV files, and an *.ntk.yaml file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeEncoderConfig, randomParams, saveCheckpoint, disposeParams } from '../../src/engine/model';
import { trainWordPiece } from '../../src/engine/tokenize';

export const TINY_POS = ['a great and moving film', 'great acting and a lovely story', 'a wonderful , great ride', 'lovely , warm and great', 'the best film this year', 'a great cast and great music', 'warm , funny and wonderful', 'simply great fun', 'a lovely and moving story', 'wonderful music and great acting', 'the story is great', 'funny and great'];
export const TINY_NEG = ['a terrible and boring film', 'terrible acting and a dull story', 'a boring , terrible mess', 'dull , cold and terrible', 'the worst film this year', 'a terrible cast and bad music', 'cold , slow and boring', 'simply terrible', 'a dull and boring story', 'bad music and terrible acting', 'the story is terrible', 'slow and terrible'];

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
  const all = [...TINY_POS, ...TINY_NEG, 'it was great .', 'it was terrible .'];
  const tok = trainWordPiece(all, { vocabSize: 120, lowercase: true, minFrequency: 1 });
  fs.writeFileSync(path.join(modelDir, 'tokenizer.json'), JSON.stringify(tok));
  const vocabSize = Object.keys((tok.model as { vocab: Record<string, number> }).vocab).length;
  const config = makeEncoderConfig({ modelType: 'bert', vocabSize, hiddenSize: 32, numLayers: 2, numHeads: 2, intermediateSize: 64, maxPositions: 64 });
  const params = randomParams(config, 7);
  await saveCheckpoint(modelDir, config, params);
  disposeParams(params);

  const rows = (xs: string[], label: number) => xs.map((s) => `${s}\t${label}`);
  const write = (name: string, pos: string[], neg: string[]) =>
    fs.writeFileSync(path.join(dir, name), ['sentence\tlabel', ...rows(pos, 1), ...rows(neg, 0)].join('\n') + '\n');
  write('train.tsv', TINY_POS.slice(0, 4), TINY_NEG.slice(0, 4));
  write('dev.tsv', TINY_POS.slice(4, 8), TINY_NEG.slice(4, 8));
  write('test.tsv', TINY_POS.slice(8), TINY_NEG.slice(8));
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
