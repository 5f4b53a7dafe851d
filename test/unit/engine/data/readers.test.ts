import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataError } from '../../../../src/engine/data/example';
import { loadSplitFile, topLevelKeyLines } from '../../../../src/engine/data/readers';
import { customTask, getTask } from '../../../../src/engine/data/tasks';

describe('data/readers', () => {
  let dir: string;
  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-readers-')); });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string): string => { const f = path.join(dir, name); fs.writeFileSync(f, text); return f; };

  it('reads a GLUE TSV with a header: columns per task, 1-based source lines (header = line 1)', () => {
    const f = write('rte.tsv', 'index\tsentence1\tsentence2\tlabel\n0\tA man runs.\tA person moves.\tentailment\n1\tX.\tY.\tnot_entailment\n');
    const r = loadSplitFile(getTask('RTE'), f);
    assert.deepEqual(r.examples[1], { textA: 'X.', textB: 'Y.', label: 'not_entailment', source: { file: f, line: 3 } });
  });

  it('takes the last column as the MNLI label even when a row has extra annotator columns', () => {
    const head = ['index', 'promptID', 'pairID', 'genre', 'b1', 'b2', 'p1', 'p2', 'sentence1', 'sentence2', 'label1', 'gold_label'];
    const row = ['0', '1', '1e', 'fiction', '', '', '', '', 'Premise.', 'Hypothesis.', 'neutral', 'neutral', 'neutral', 'contradiction'];
    const f = write('mnli.tsv', `${head.join('\t')}\n${row.join('\t')}\n`);
    assert.equal(loadSplitFile(getTask('MNLI'), f).examples[0].label, 'contradiction');
  });

  it('uses only the AG News description as text_a (label,title,description)', () => {
    const f = write('ag.csv', '"3","Title, with comma","Desc ""quoted"" here"\n');
    const ex = loadSplitFile(getTask('ag_news'), f).examples[0];
    assert.deepEqual([ex.textA, ex.label, ex.textB], ['Desc "quoted" here', '3', undefined]);
  });

  it('a row with the wrong number of fields is an error naming file:line', () => {
    const f = write('sst2.tsv', 'sentence\tlabel\ngood film\t1\nbad film\n');
    assert.throws(() => loadSplitFile(getTask('SST-2'), f), (e: DataError) => e.line === 3 && e.message.includes(`${f}:3: 1 fields, expected 2`));
  });

  it('an unknown label is an error naming file:line and the known labels', () => {
    const f = write('mr.csv', '0,fine\n7,odd\n');
    assert.throws(() => loadSplitFile(getTask('mr'), f), new RegExp(`mr\\.csv:2: unknown label '7' \\(task 'mr' has labels '0', '1'\\)`));
  });

  it('an empty text is an error; a whitespace-only text is kept with a warning (LM-BFF keeps it)', () => {
    const empty = write('cr-empty.csv', '0,fine\n1,\n');
    assert.throws(() => loadSplitFile(getTask('cr'), empty), /cr-empty\.csv:2: text_a is empty/);
    const blank = write('cr-blank.csv', '0,fine\n1, \n');
    const r = loadSplitFile(getTask('cr'), blank);
    assert.equal(r.examples.length, 2);
    assert.match(r.warnings[0], /cr-blank\.csv:2: text_a is only whitespace/);
  });

  it('QQP rows that are too short are errors, or skipped and counted with skipMalformed', () => {
    const f = write('qqp.tsv', 'id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n1\t1\t2\tA?\tB?\t1\n2\t3\t4\tC?\n3\t5\t6\tD?\tE?\t0\n');
    assert.throws(() => loadSplitFile(getTask('QQP'), f), /qqp\.tsv:3: 4 fields, expected 6/);
    const r = loadSplitFile(getTask('QQP'), f, { skipMalformed: true });
    assert.equal(r.examples.length, 2);
    assert.deepEqual(r.skipped, [{ file: f, line: 3, reason: '4 fields, expected 6' }]);
  });

  it('a missing file is an error naming the path and the expected layout', () => {
    const f = path.join(dir, 'nope', 'train.tsv');
    assert.throws(() => loadSplitFile(getTask('MRPC'), f), (e: Error) =>
      e.message.includes(f) && e.message.includes('with a header line; text_a in column 4, text_b in column 5, label in column 1'));
  });

  it('reads pool/*.json with numeric labels as strings, null text_b, and the line of each key', () => {
    const text = '{\n  "0": {"text_a": "a", "text_b": null, "label": 1},\n  "1": {\n    "text_a": "b, \\"q\\" {x}",\n    "text_b": null,\n    "label": 0\n  }\n}\n';
    const f = write('pool.json', text);
    const r = loadSplitFile(getTask('sst-5'), f);
    assert.deepEqual(r.examples.map((e) => [e.textA, e.label, e.source.line]), [['a', '1', 2], ['b, "q" {x}', '0', 3]]);
    assert.deepEqual([...topLevelKeyLines(text)], [['0', 2], ['1', 3]]);
  });

  it('reads custom tasks by header names (TSV/CSV) and by keys (JSONL)', () => {
    const labels = ['neg', 'pos'];
    const tsv = write('c.tsv', 'id\treview\tstars\n1\tnice\tpos\n');
    const t1 = customTask({ labels, columns: { textA: 'review', label: 'stars' }, files: { train: 'c.tsv', dev: 'c.tsv', test: 'c.tsv' } });
    assert.deepEqual(loadSplitFile(t1, tsv).examples.map((e) => [e.textA, e.label, e.source.line]), [['nice', 'pos', 2]]);
    const jsonl = write('c.jsonl', '{"q": "a?", "a": "b.", "y": "pos"}\n\n{"q": "c?", "a": "d.", "y": "neg"}\n');
    const t2 = customTask({ labels, columns: { textA: 'q', textB: 'a', label: 'y' }, files: { train: 'c.jsonl', dev: 'c.jsonl', test: 'c.jsonl' } });
    assert.deepEqual(loadSplitFile(t2, jsonl).examples.map((e) => [e.textB, e.source.line]), [['b.', 1], ['d.', 3]]);
    const missingCol = write('d.tsv', 'id\ttext\tstars\n1\tnice\tpos\n');
    assert.throws(() => loadSplitFile(t1, missingCol), /d\.tsv:1: column 'review' \(text_a\) is not in the header/);
  });
});
