/**
 * A complete, tiny experiment on a causal LM made by the test itself: a random GPT-2-layout model (2 layers, hidden
 * 32), a byte-level BPE tokenizer whose merges spell every word of the task (so each word is one token, with GPT-2's
 * "Ġ" for a leading space), the two-class review task of tiny-experiment.ts, and an *.ntk.yaml file.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { disposeParams } from '../../src/engine/model';
import { causalFamilyFor, randomCausalParams, saveCausalCheckpoint } from '../../src/engine/model/causal';
import { wordLevelByteBpe } from './tiny-causal-files';
import { TINY_NEG, TINY_POS } from './tiny-experiment';

// The tokenizer builder lives in tiny-causal-files.ts (no tfjs: the real-VS-Code tests use it too).
export { bytesToUnicode, wordLevelByteBpe } from './tiny-causal-files';

export interface TinyCausalExperiment {
  dir: string;
  specFile: string;
  modelDir: string;
  cleanup(): void;
}

export async function makeTinyCausalExperiment(opts: { kinds?: string[]; steps?: number; seeds?: number[]; templates?: string; kernel?: string } = {}): Promise<TinyCausalExperiment> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-causal-'));
  const modelDir = path.join(dir, 'model');
  fs.mkdirSync(modelDir);
  const all = [...TINY_POS, ...TINY_NEG, 'it was great .', 'it was terrible .'];
  const tok = wordLevelByteBpe(all) as { model: { vocab: Record<string, number> } };
  fs.writeFileSync(path.join(modelDir, 'tokenizer.json'), JSON.stringify(tok));
  fs.writeFileSync(path.join(modelDir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', tokenizer_class: 'GPT2Tokenizer' }));
  const V = Object.keys(tok.model.vocab).length;
  const family = causalFamilyFor('gpt2')!;
  const config = family.parseConfig({ model_type: 'gpt2', vocab_size: V, n_embd: 32, n_layer: 2, n_head: 2, n_positions: 64, bos_token_id: V - 1, eos_token_id: V - 1 }, '<tiny-causal>');
  const params = randomCausalParams(config, 7);
  await saveCausalCheckpoint(modelDir, config, params);
  disposeParams(params);

  const rows = (xs: string[], label: number) => xs.map((s) => `${s}\t${label}`);
  const write = (name: string, pos: string[], neg: string[]) =>
    fs.writeFileSync(path.join(dir, name), ['sentence\tlabel', ...rows(pos, 1), ...rows(neg, 0)].join('\n') + '\n');
  write('train.tsv', TINY_POS.slice(0, 4), TINY_NEG.slice(0, 4));
  write('dev.tsv', TINY_POS.slice(4, 8), TINY_NEG.slice(4, 8));
  write('test.tsv', TINY_POS.slice(8), TINY_NEG.slice(8));
  const specFile = path.join(dir, 'tiny-causal.ntk.yaml');
  fs.writeFileSync(specFile, `task: custom
columns: {text_a: sentence, label: label}
labels: ["0", "1"]
data: .
files: {train: train.tsv, dev: dev.tsv, test: test.tsv}
seeds: [${(opts.seeds ?? [13]).join(', ')}]
model: ./model
max_length: 32
backend: cpu
finetune: {optimizer: sgd, learning_rate: 1.0e-2, steps: ${opts.steps ?? 4}, batch_size: 4, eval_every: 2}
kernel: {kinds: [${(opts.kinds ?? ['sgd']).join(', ')}], solver: lstsq${opts.kernel ?? ''}}
templates:
${opts.templates ?? `  - name: it-was
    template: "*cls**sent_0*_it_was*mask*"
    words: {"0": terrible, "1": great}`}
`);
  return { dir, specFile, modelDir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}
