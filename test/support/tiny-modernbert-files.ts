/**
 * The files of a tiny ModernBERT experiment, written without tfjs (so that the real-VS-Code suite can make one too):
 * - a ModernBERT-layout tokenizer.json: byte-level BPE in which every word of the data is one token (" word" →
 *   "Ġword", tiny-causal-files.ts wordLevelByteBpe), BERT's five special tokens after it ([MASK] stripping the space on
 *   its left), a TemplateProcessing post-processor [CLS] $A [SEP], and tokenizer_config.json naming them;
 * - a random ModernBertForMaskedLM (tiny-modernbert-checkpoint.ts: 4 layers, windows shorter than the prompts);
 * - train/dev/test TSVs of the two-class review task, and an *.ntk.yaml experiment (model: ./model).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { wordLevelByteBpe } from './tiny-causal-files';
import { tinyModernBertConfig, writeTinyModernBert } from './tiny-modernbert-checkpoint';
import { REVIEW_TEXTS, writeReviewTsvs } from './tiny-review-task';

const SPECIALS = ['[UNK]', '[CLS]', '[SEP]', '[PAD]', '[MASK]'];

/** tokenizer.json and tokenizer_config.json texts; every word of `sentences` one token; the specials last. */
export function modernBertTokenizerFiles(sentences: string[]): { files: Record<string, string>; vocab: Record<string, number>; vocabSize: number; padId: number } {
  const tok = wordLevelByteBpe(sentences) as { model: { vocab: Record<string, number> }; added_tokens: unknown[]; post_processor: unknown };
  const base = Object.keys(tok.model.vocab).length;
  SPECIALS.forEach((s, i) => { tok.model.vocab[s] = base + i; });
  tok.added_tokens = [...tok.added_tokens, ...SPECIALS.map((content, i) => ({
    id: base + i, content, single_word: false, lstrip: content === '[MASK]', rstrip: false, normalized: false, special: true,
  }))];
  const cls = { SpecialToken: { id: '[CLS]', type_id: 0 } };
  const sep = { SpecialToken: { id: '[SEP]', type_id: 0 } };
  tok.post_processor = {
    type: 'TemplateProcessing',
    single: [cls, { Sequence: { id: 'A', type_id: 0 } }, sep],
    pair: [cls, { Sequence: { id: 'A', type_id: 0 } }, sep, { Sequence: { id: 'B', type_id: 0 } }, sep],
    special_tokens: { '[CLS]': { id: '[CLS]', ids: [base + 1], tokens: ['[CLS]'] }, '[SEP]': { id: '[SEP]', ids: [base + 2], tokens: ['[SEP]'] } },
  };
  const config = { cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]', mask_token: '[MASK]', tokenizer_class: 'PreTrainedTokenizerFast' };
  return {
    files: { 'tokenizer.json': JSON.stringify(tok), 'tokenizer_config.json': JSON.stringify(config) },
    vocab: tok.model.vocab, vocabSize: base + SPECIALS.length, padId: base + 3,
  };
}

export interface TinyModernBertFiles { dir: string; specFile: string; modelDir: string; vocab: Record<string, number> }

/** Writes `dir`/model (tokenizer + random ModernBERT, hidden 32), the three TSVs and the experiment file. */
export async function writeTinyModernBertFiles(dir: string, opts: { specName?: string; templates?: string; steps?: number; backend?: string; kernel?: string } = {}): Promise<TinyModernBertFiles> {
  const modelDir = path.join(dir, 'model');
  fs.mkdirSync(modelDir, { recursive: true });
  const tok = modernBertTokenizerFiles([...REVIEW_TEXTS, 'It was terrible great']);
  await writeTinyModernBert(modelDir, tinyModernBertConfig({ vocab_size: tok.vocabSize, pad_token_id: tok.padId, hidden_size: 32 }), 11);
  for (const [f, text] of Object.entries(tok.files)) fs.writeFileSync(path.join(modelDir, f), text);
  writeReviewTsvs(dir);
  const specFile = path.join(dir, opts.specName ?? 'modernbert.ntk.yaml');
  fs.writeFileSync(specFile, `task: custom
columns: {text_a: sentence, label: label}
labels: ["0", "1"]
data: .
files: {train: train.tsv, dev: dev.tsv, test: test.tsv}
seeds: [13]
model: ./model
max_length: 32
${opts.backend ? `backend: ${opts.backend}\n` : ''}finetune: {optimizer: sgd, learning_rate: 1.0e-2, steps: ${opts.steps ?? 4}, batch_size: 4, eval_every: 2}
kernel: {kinds: [sgd, asymmetric-signgd], solver: lstsq${opts.kernel ?? ''}}
templates:
${opts.templates ?? `  - name: it-was
    template: "*cls**sent_0*_It_was*mask*.*sep+*"
    words: {"0": terrible, "1": great}`}
`);
  return { dir, specFile, modelDir, vocab: tok.vocab };
}
