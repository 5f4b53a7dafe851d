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
import { gpt2ByteLevelBpeJson } from '../../src/engine/tokenize/tokenizer-json';
import { TINY_NEG, TINY_POS } from './tiny-experiment';

/** GPT-2's byte → character map (bytes_to_unicode): printable bytes are themselves, the rest 256 + n. */
export function bytesToUnicode(): string[] {
  const keep = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let n = 0;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(keep(b) ? b : 256 + n++));
}

/**
 * A byte-level BPE tokenizer.json in which every word of `sentences` (with and without a leading space) is one
 * token: the 256 byte symbols, then per word the merges that build it left to right (space-prefixed words first),
 * "<|endoftext|>" last.
 */
export function wordLevelByteBpe(sentences: string[]): object {
  const chars = bytesToUnicode();
  const vocab: Record<string, number> = {};
  chars.forEach((c, i) => { vocab[c] = i; });
  const merges: [string, string][] = [];
  const enc = (w: string) => [...Buffer.from(w, 'utf8')].map((b) => chars[b]);
  // The "Ġ" words' merges first: BPE applies the lowest-ranked pair, so a bare word's merges (t e, te r, …) must not
  // outrank the chain that builds "Ġterrible" from "Ġ" onwards.
  const bare = [...new Set(sentences.flatMap((s) => s.split(' ').filter(Boolean)))];
  const words = [...bare.map((w) => ` ${w}`), ...bare];
  for (const w of words) {
    const symbols = enc(w);
    let acc = symbols[0];
    for (const next of symbols.slice(1)) {
      const merged = acc + next;
      if (!(merged in vocab)) { merges.push([acc, next]); vocab[merged] = Object.keys(vocab).length; }
      acc = merged;
    }
  }
  vocab['<|endoftext|>'] = Object.keys(vocab).length;
  return gpt2ByteLevelBpeJson(vocab, merges, ['<|endoftext|>']);
}

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
