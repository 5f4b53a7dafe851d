/**
 * The files of a tiny causal-LM experiment, written without tfjs or any engine code that loads it, so that the
 * real-VS-Code tests (test/e2e, bundled into the extension host, which never loads tfjs) can make one too:
 * - a byte-level BPE tokenizer whose merges spell every word of the data (each word one token, " word" → "Ġword"),
 * - a random GPT-2-layout checkpoint (config.json + model.safetensors F32, tiny-causal-checkpoint.ts),
 * - train/dev/test TSVs of the two-class review task (tiny-review-task.ts), and an *.ntk.yaml experiment (model: ./model).
 * tiny-causal-experiment.ts (engine tests) makes its experiments with writeTinyCausalFiles.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gpt2ByteLevelBpeJson } from '../../src/engine/tokenize/tokenizer-json';
import { writeTinyCausalCheckpoint } from './tiny-causal-checkpoint';
import { REVIEW_TEXTS, writeReviewTsvs } from './tiny-review-task';

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

export interface TinyCausalFilesOptions {
  /** The experiment file's name in `dir` (default tiny-causal.ntk.yaml). */
  specName?: string;
  /** The `templates:` list, indented by two spaces (default: it-was, "*cls**sent_0*_it_was*mask*", terrible / great). */
  templates?: string;
  steps?: number;
  seeds?: number[];
  kinds?: string[];
  /** `backend:` line of the file; omitted when undefined (the extension's ntkLens.backend setting then applies). */
  backend?: string;
  /** Added inside the `kernel:` mapping (e.g. ", lora_rank: 2"). */
  kernel?: string;
  /** Lines added after `max_length:` (e.g. "test_limit: 8"). */
  extra?: string;
  /** Words given tokens before the data's (so that the data's words get other ids than in a file without them). */
  extraWords?: string[];
}

export interface TinyCausalFiles { dir: string; specFile: string; modelDir: string; vocab: Record<string, number> }

/** Writes `dir`/model (tokenizer + random GPT-2, hidden 32, 2 layers), the three TSVs and the experiment file. */
export async function writeTinyCausalFiles(dir: string, opts: TinyCausalFilesOptions = {}): Promise<TinyCausalFiles> {
  const modelDir = path.join(dir, 'model');
  fs.mkdirSync(modelDir, { recursive: true });
  const all = [...(opts.extraWords ?? []), ...REVIEW_TEXTS];
  const tok = wordLevelByteBpe(all) as { model: { vocab: Record<string, number> } };
  fs.writeFileSync(path.join(modelDir, 'tokenizer.json'), JSON.stringify(tok));
  fs.writeFileSync(path.join(modelDir, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', tokenizer_class: 'GPT2Tokenizer' }));
  const V = Object.keys(tok.model.vocab).length;
  // GPT2LMHeadModel layout, tied head, bos = eos = V − 1 ("<|endoftext|>")
  await writeTinyCausalCheckpoint(modelDir, { modelType: 'gpt2', vocab: V, hidden: 32, layers: 2, heads: 2, maxPositions: 64, seed: 7 });

  writeReviewTsvs(dir);
  const specFile = path.join(dir, opts.specName ?? 'tiny-causal.ntk.yaml');
  fs.writeFileSync(specFile, `task: custom
columns: {text_a: sentence, label: label}
labels: ["0", "1"]
data: .
files: {train: train.tsv, dev: dev.tsv, test: test.tsv}
seeds: [${(opts.seeds ?? [13]).join(', ')}]
model: ./model
max_length: 32
${opts.extra ? `${opts.extra}\n` : ''}${opts.backend ? `backend: ${opts.backend}\n` : ''}finetune: {optimizer: sgd, learning_rate: 1.0e-2, steps: ${opts.steps ?? 4}, batch_size: 4, eval_every: 2}
kernel: {kinds: [${(opts.kinds ?? ['sgd']).join(', ')}], solver: lstsq${opts.kernel ?? ''}}
templates:
${opts.templates ?? `  - name: it-was
    template: "*cls**sent_0*_it_was*mask*"
    words: {"0": terrible, "1": great}`}
`);
  return { dir, specFile, modelDir, vocab: tok.model.vocab };
}
