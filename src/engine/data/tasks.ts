/**
 * The 14 classification tasks of LM-BFF / the kernel paper (Malladi et al., ICML 2023): labels, file layouts,
 * metrics, the manual prompt template with its label words, and the length limits of the kernel paper's run script
 * (`run_fewshot.sh` of princeton-nlp/LM-Kernel-FT; see docs §1.5, §4.4 and §8.2 of paper-and-reference-code.md).
 */

/**
 * A column of a table: a 0-based index (negative counts from the end, -1 = the last column, as LM-BFF's
 * `line[-1]`), or a header name / JSON key (custom tasks).
 */
export type ColumnRef = number | string;

/** How the rows of one data file are laid out. */
export interface TableLayout {
  /**
   * `tsv`: GLUE style, split on tabs with no quoting (Python's `csv.reader(delimiter='\t', quotechar=None)`).
   * `csv`: RFC 4180 with quotes (what pandas reads). `jsonl`: one JSON object a line.
   * `pool-json`: `{"<i>": {"text_a", "text_b", "label"}}` (the `pool/*.json` files).
   */
  kind: 'tsv' | 'csv' | 'jsonl' | 'pool-json';
  /** The first line is a header (skipped for data; used to resolve named columns and the row width). */
  header: boolean;
  columns: { textA: ColumnRef; textB?: ColumnRef; label: ColumnRef };
  /**
   * Accepted number of fields in a row: `header` = as many as the header, `at-least-header` (MNLI/SNLI, whose rows
   * may carry extra annotator-label columns before the gold label), a fixed number, or `any` (JSON).
   */
  rowWidth: 'header' | 'at-least-header' | number | 'any';
}

/** A file from which k-shot splits can be sampled, relative to the task folder, with its layout when not the task's. */
export interface PoolSource {
  file: string;
  layout?: TableLayout;
}

export type Metric = 'acc' | 'f1';

export interface TaskInfo {
  /** The task folder name (case-sensitive, as in LM-BFF's data/k-shot), e.g. `SST-2`, `sst-5`, `agnews`. */
  name: string;
  /** Other accepted names (matched case-insensitively, like the folder name itself). */
  aliases: string[];
  /** Label values in class order (the processor's `get_labels()`): class index c = position in this list. */
  labels: string[];
  /** 1 for single-sentence tasks, 2 for sentence pairs (text_b present). */
  numSentences: 1 | 2;
  layout: TableLayout;
  /** File names inside a `k-shot/<k>-<seed>/` folder. */
  splitFiles: { train: string; dev: string; test: string };
  /** The full test set in LM-BFF's `original/` layout (GLUE tasks: their dev file, which LM-BFF uses as test). */
  originalTest: string;
  /** Metrics of `glue_compute_metrics`/LM-BFF for this task; F1 is binary with `f1PositiveLabel` positive. */
  metrics: Metric[];
  f1PositiveLabel?: string;
  /** LM-BFF manual template (docs §1.2 grammar) and label words (label value → word; mapped as ' ' + word). */
  template: string;
  words: Record<string, string>;
  /** `--max_seq_length` of the kernel paper's run script (256 overrides 128 for MNLI, SNLI, RTE, AG News). */
  maxLength: number;
  /** `--first_sent_limit` / `--other_sent_limit` (tokens of sentence 0 / other sentences), when the script sets them. */
  firstSentLimit?: number;
  otherSentLimit?: number;
  /**
   * LM-BFF's processor skips rows that are too short without a word (QQP: `except IndexError: continue`). We make such
   * rows an error unless `skipMalformed` is set; this flag documents where LM-BFF itself would have skipped them.
   */
  lmBffSkipsShortRows: boolean;
  /** Where to sample k-shot splits from when no `k-shot/<k>-<seed>/` folder exists, in order of preference. */
  pool: PoolSource[];
}

const SENTIMENT_TEMPLATE = '*cls**sent_0*_It_was*mask*.*sep+*';
const NLI_TEMPLATE = '*cls**sent-_0*?*mask*,*+sentl_1**sep+*';
const PARAPHRASE_TEMPLATE = '*cls**sent_0**mask*,*+sentl_1**sep+*';

/** Header-less `label,sentence` CSV of the single-sentence tasks (mr, cr, mpqa, subj, sst-5, trec). */
const LABEL_SENTENCE_CSV: TableLayout = { kind: 'csv', header: false, columns: { textA: 1, label: 0 }, rowWidth: 2 };

function glueTsv(textA: number, textB: number | undefined, label: number, rowWidth: TableLayout['rowWidth'] = 'header'): TableLayout {
  return { kind: 'tsv', header: true, columns: textB === undefined ? { textA, label } : { textA, textB, label }, rowWidth };
}

const TSV_FILES = { train: 'train.tsv', dev: 'dev.tsv', test: 'test.tsv' };
const CSV_FILES = { train: 'train.csv', dev: 'dev.csv', test: 'test.csv' };

/** Common part of the single-sentence CSV tasks. */
function csvTask(name: string, labels: string[], words: Record<string, string>, extra: Partial<TaskInfo>): TaskInfo {
  return {
    name, aliases: [], labels, numSentences: 1, layout: LABEL_SENTENCE_CSV, splitFiles: CSV_FILES,
    originalTest: 'test.csv', metrics: ['acc'], template: SENTIMENT_TEMPLATE, words, maxLength: 128,
    lmBffSkipsShortRows: false, pool: [{ file: 'pool/train.json' }, { file: 'original/train.csv' }], ...extra,
  };
}

function glueTask(name: string, labels: string[], words: Record<string, string>, layout: TableLayout, extra: Partial<TaskInfo>): TaskInfo {
  return {
    name, aliases: [], labels, numSentences: 2, layout, splitFiles: TSV_FILES, originalTest: 'dev.tsv',
    metrics: ['acc'], template: NLI_TEMPLATE, words, maxLength: 128, lmBffSkipsShortRows: false,
    pool: [{ file: 'pool/train.json' }, { file: 'original/train.tsv' }], ...extra,
  };
}

const BINARY_SENTIMENT = { '0': 'terrible', '1': 'great' };
const NLI3_WORDS = { contradiction: 'No', entailment: 'Yes', neutral: 'Maybe' };
const NLI2_WORDS = { entailment: 'Yes', not_entailment: 'No' };
const YES_NO = { '0': 'No', '1': 'Yes' };

/** The 14 tasks, keyed by folder name. */
export const TASKS: Record<string, TaskInfo> = {
  'SST-2': {
    ...csvTask('SST-2', ['0', '1'], BINARY_SENTIMENT, {}),
    aliases: ['sst2'], layout: glueTsv(0, undefined, 1), splitFiles: TSV_FILES, originalTest: 'dev.tsv',
    pool: [{ file: 'pool/train.json' }, { file: 'original/train.tsv' }],
  },
  'sst-5': csvTask('sst-5', ['0', '1', '2', '3', '4'], { 0: 'terrible', 1: 'bad', 2: 'okay', 3: 'good', 4: 'great' }, { aliases: ['sst5'] }),
  mr: csvTask('mr', ['0', '1'], BINARY_SENTIMENT, { firstSentLimit: 110, otherSentLimit: 50 }),
  cr: csvTask('cr', ['0', '1'], BINARY_SENTIMENT, { firstSentLimit: 110, otherSentLimit: 50 }),
  mpqa: csvTask('mpqa', ['0', '1'], BINARY_SENTIMENT, { firstSentLimit: 110 }),
  subj: csvTask('subj', ['0', '1'], { 0: 'subjective', 1: 'objective' }, {
    template: '*cls**sent_0*_This_is*mask*.*sep+*', firstSentLimit: 110, otherSentLimit: 50,
  }),
  trec: csvTask('trec', ['0', '1', '2', '3', '4', '5'],
    { 0: 'Description', 1: 'Entity', 2: 'Expression', 3: 'Human', 4: 'Location', 5: 'Number' },
    { template: '*cls**mask*:*+sent_0**sep+*', firstSentLimit: 110 }),
  agnews: csvTask('agnews', ['1', '2', '3', '4'], { 1: 'world', 2: 'sports', 3: 'business', 4: 'tech' }, {
    aliases: ['ag_news', 'ag-news'],
    // label, title, description: only the description is text_a (LM-Kernel-FT commit 2aaaaf9 drops the title).
    layout: { kind: 'csv', header: false, columns: { textA: 2, label: 0 }, rowWidth: 3 },
    template: '*cls**sent_0*_This_article_is_about*mask*_news.*sep+*', maxLength: 256, firstSentLimit: 240,
    pool: [
      { file: 'pool/train.json' },
      // 2,000 rows per class of the official train set, description only, with a `label,content` header.
      { file: 'train_pool8000_desc_only.csv', layout: { kind: 'csv', header: true, columns: { textA: 'content', label: 'label' }, rowWidth: 'header' } },
      { file: 'original/train.csv' },
    ],
  }),
  MNLI: glueTask('MNLI', ['contradiction', 'entailment', 'neutral'], NLI3_WORDS, glueTsv(8, 9, -1, 'at-least-header'), {
    splitFiles: { train: 'train.tsv', dev: 'dev_matched.tsv', test: 'test_matched.tsv' }, originalTest: 'dev_matched.tsv',
    maxLength: 256, firstSentLimit: 240,
  }),
  SNLI: glueTask('SNLI', ['contradiction', 'entailment', 'neutral'], NLI3_WORDS, glueTsv(7, 8, -1, 'at-least-header'), { maxLength: 256 }),
  QNLI: glueTask('QNLI', ['entailment', 'not_entailment'], NLI2_WORDS, glueTsv(1, 2, -1), {}),
  RTE: glueTask('RTE', ['entailment', 'not_entailment'], NLI2_WORDS, glueTsv(1, 2, -1), { maxLength: 256, firstSentLimit: 240 }),
  MRPC: glueTask('MRPC', ['0', '1'], YES_NO, glueTsv(3, 4, 0), {
    template: PARAPHRASE_TEMPLATE, metrics: ['acc', 'f1'], f1PositiveLabel: '1',
  }),
  QQP: glueTask('QQP', ['0', '1'], YES_NO, glueTsv(3, 4, 5), {
    template: PARAPHRASE_TEMPLATE, metrics: ['acc', 'f1'], f1PositiveLabel: '1', lmBffSkipsShortRows: true,
  }),
};

/** The task for a folder name or alias (case-insensitive), or undefined. */
export function findTask(name: string): TaskInfo | undefined {
  const key = name.trim().toLowerCase();
  for (const task of Object.values(TASKS)) {
    if (task.name.toLowerCase() === key || task.aliases.includes(key)) return task;
  }
  return undefined;
}

/** The task for a name, or an error listing the known ones. */
export function getTask(name: string): TaskInfo {
  const task = findTask(name);
  if (!task) {
    throw new Error(`Unknown task '${name}'. Known tasks: ${Object.keys(TASKS).join(', ')} (or 'custom' in a *.ntk.yaml file).`);
  }
  return task;
}

/** Description of a user-defined task (the `custom` task of a *.ntk.yaml file). */
export interface CustomTaskOptions {
  name?: string;
  labels: string[];
  /** Header names (files with a header line / JSON keys) or 0-based indices (header-less files). */
  columns: { textA: ColumnRef; textB?: ColumnRef; label: ColumnRef };
  files: { train: string; dev: string; test: string };
  /** Defaults to the train file's extension (.tsv, .csv, .jsonl/.json). */
  kind?: 'tsv' | 'csv' | 'jsonl';
  /** Defaults to true when the columns are named, false when they are indices. */
  header?: boolean;
  metrics?: Metric[];
  template?: string;
  words?: Record<string, string>;
  maxLength?: number;
}

/** Builds the TaskInfo of a custom task (no default template unless given; metric acc unless given). */
export function customTask(o: CustomTaskOptions): TaskInfo {
  const ext = o.files.train.toLowerCase().replace(/^.*\./, '');
  const kind = o.kind ?? (ext === 'tsv' ? 'tsv' : ext === 'csv' ? 'csv' : ext === 'jsonl' || ext === 'json' ? 'jsonl' : undefined);
  if (!kind) throw new Error(`Custom task: cannot tell the format of '${o.files.train}' from its extension; use .tsv, .csv or .jsonl.`);
  const named = [o.columns.textA, o.columns.textB, o.columns.label].some((c) => typeof c === 'string');
  const header = kind === 'jsonl' ? false : o.header ?? named;
  return {
    name: o.name ?? 'custom', aliases: [], labels: o.labels.map(String), numSentences: o.columns.textB === undefined ? 1 : 2,
    layout: { kind, header, columns: o.columns, rowWidth: header ? 'header' : 'any' },
    splitFiles: o.files, originalTest: o.files.test, metrics: o.metrics ?? ['acc'],
    f1PositiveLabel: o.metrics?.includes('f1') ? String(o.labels[o.labels.length - 1]) : undefined,
    template: o.template ?? '', words: o.words ?? {}, maxLength: o.maxLength ?? 128, lmBffSkipsShortRows: false,
    pool: [{ file: o.files.train }],
  };
}
