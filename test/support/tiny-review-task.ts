/**
 * The two-class review task of the tiny experiments (BERT: tiny-experiment.ts; GPT-2: tiny-causal-files.ts), as
 * train/dev/test TSVs (4 + 4, 4 + 4, 4 + 4 rows). No tfjs, so the real-VS-Code tests can write it too.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const REVIEW_POS = ['a great and moving film', 'great acting and a lovely story', 'a wonderful , great ride', 'lovely , warm and great', 'the best film this year', 'a great cast and great music', 'warm , funny and wonderful', 'simply great fun', 'a lovely and moving story', 'wonderful music and great acting', 'the story is great', 'funny and great'];
export const REVIEW_NEG = ['a terrible and boring film', 'terrible acting and a dull story', 'a boring , terrible mess', 'dull , cold and terrible', 'the worst film this year', 'a terrible cast and bad music', 'cold , slow and boring', 'simply terrible', 'a dull and boring story', 'bad music and terrible acting', 'the story is terrible', 'slow and terrible'];

/** Every sentence of the task, and the two prompts' completions (for building a vocabulary). */
export const REVIEW_TEXTS = [...REVIEW_POS, ...REVIEW_NEG, 'it was great .', 'it was terrible .'];

/** Writes `dir`/train.tsv, dev.tsv and test.tsv (`sentence<TAB>label`, label 1 positive, 0 negative). */
export function writeReviewTsvs(dir: string): void {
  const rows = (xs: string[], label: number) => xs.map((s) => `${s}\t${label}`);
  const write = (name: string, pos: string[], neg: string[]) =>
    fs.writeFileSync(path.join(dir, name), ['sentence\tlabel', ...rows(pos, 1), ...rows(neg, 0)].join('\n') + '\n');
  write('train.tsv', REVIEW_POS.slice(0, 4), REVIEW_NEG.slice(0, 4));
  write('dev.tsv', REVIEW_POS.slice(4, 8), REVIEW_NEG.slice(4, 8));
  write('test.tsv', REVIEW_POS.slice(8), REVIEW_NEG.slice(8));
}
