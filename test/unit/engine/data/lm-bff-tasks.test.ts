import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadKShotSplit, loadTaskSplits, resolveSplitFolder } from '../../../../src/engine/data/splits';
import { getTask, TASKS } from '../../../../src/engine/data/tasks';

const LM_BFF = path.resolve(__dirname, '../../../..', '../shared/data/lm-bff');

/** Full test-set sizes from shared/data/lm-bff/README.md (MNLI, QQP: surrogates of 998 / 999 held-out train rows). */
const FULL_TEST: Record<string, number> = {
  'SST-2': 872, 'sst-5': 2210, mr: 2000, cr: 2000, mpqa: 2000, subj: 2000, trec: 500, agnews: 7600,
  SNLI: 9842, QNLI: 5463, RTE: 277, MRPC: 408,
};

describe('data/splits on the LM-BFF data (shared/data/lm-bff)', function () {
  before(function () {
    if (!fs.existsSync(LM_BFF)) this.skip(); // shared data absent on this machine: nothing to check against
  });

  it('defines the 14 tasks with LM-BFF class order and one label word per class', () => {
    assert.deepEqual(Object.keys(TASKS).sort(), ['MNLI', 'MRPC', 'QNLI', 'QQP', 'RTE', 'SNLI', 'SST-2', 'agnews', 'cr', 'mpqa', 'mr', 'sst-5', 'subj', 'trec'].sort());
    for (const t of Object.values(TASKS)) assert.deepEqual(Object.keys(t.words).sort(), [...t.labels].sort(), t.name);
    assert.deepEqual(getTask('QNLI').labels.map((l) => getTask('QNLI').words[l]), ['Yes', 'No']);
    assert.equal(getTask('ag_news').name, 'agnews');
  });

  for (const task of Object.values(TASKS)) {
    it(`${task.name}: 16 × ${task.labels.length} train and dev rows, and the README's full test size`, () => {
      const dir = path.join(LM_BFF, task.name);
      const s = loadTaskSplits(task, dir, { shots: 16, seed: 13, testSet: 'full' });
      assert.equal(s.origin, task.name === 'agnews' ? 'sampled' : 'k-shot');
      for (const split of [s.train, s.dev]) {
        assert.equal(split.length, 16 * task.labels.length);
        for (const l of task.labels) assert.equal(split.filter((e) => e.label === l).length, 16, `label ${l}`);
        assert.ok(split.every((e) => (task.numSentences === 2) === (e.textB !== undefined)));
      }
      if (task.name === 'MNLI' || task.name === 'QQP') {
        assert.match(s.files.test, /SURROGATE/);
        assert.ok(s.notes.some((n) => /SURROGATE test set/.test(n)));
        assert.equal(s.test.length, task.name === 'MNLI' ? 998 : 999);
      } else {
        assert.equal(s.test.length, FULL_TEST[task.name]);
      }
      assert.equal(s.skipped.length, 0);
      assert.ok(s.test.every((e) => task.labels.includes(e.label)));
    });
  }

  it('test_set 1k takes test-1k/ (at most 1,000 rows) and says when it falls back', () => {
    const qnli = loadTaskSplits('QNLI', path.join(LM_BFF, 'QNLI'), { shots: 16, seed: 13 });
    assert.equal(qnli.test.length, 1000);
    assert.match(qnli.files.test, /test-1k/);
    const cr = loadTaskSplits('cr', path.join(LM_BFF, 'cr'), { shots: 16, seed: 13 });
    assert.ok(cr.notes.some((n) => n.includes('test-1k/test.csv is absent')), cr.notes.join());
  });

  it('source lines point at the rows: MNLI k-shot train line 2 is the first data row after the header', () => {
    const folder = resolveSplitFolder(path.join(LM_BFF, 'MNLI'), 16, 13) as string;
    const s = loadKShotSplit('MNLI', folder, { testSet: '1k' });
    const line2 = fs.readFileSync(path.join(folder, 'train.tsv'), 'utf8').split('\n')[1].split('\t');
    assert.deepEqual([s.train[0].textA, s.train[0].label, s.train[0].source.line], [line2[8], line2[line2.length - 1], 2]);
    assert.equal(path.basename(s.files.dev), 'dev_matched.tsv');
  });

  it('CR 16-13 keeps its whitespace-only review and warns about it (as LM-BFF keeps it)', () => {
    const s = loadTaskSplits('cr', path.join(LM_BFF, 'cr'), { shots: 16, seed: 13 });
    assert.ok(s.warnings.some((w) => /train\.csv:3: text_a is only whitespace/.test(w)), s.warnings.join('\n'));
  });

  it('samples other k / seeds from pool/train.json: balanced, disjoint, deterministic', () => {
    const dir = path.join(LM_BFF, 'RTE');
    const a = loadTaskSplits('RTE', dir, { shots: 64, seed: 5 });
    const b = loadTaskSplits('RTE', dir, { shots: 64, seed: 5 });
    assert.equal(a.origin, 'sampled');
    assert.match(a.files.train, /pool[/\\]train\.json$/);
    assert.equal(a.train.length, 128);
    assert.deepEqual(a.train.map((e) => e.source.line), b.train.map((e) => e.source.line));
    const trainLines = new Set(a.train.map((e) => e.source.line));
    assert.ok(a.dev.every((e) => !trainLines.has(e.source.line)));
    assert.equal(a.test.length, 277);
  });

  it('a folder with no split, no train file and no pool is an error naming what was looked for', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-empty-'));
    try {
      assert.throws(() => loadTaskSplits('SST-2', empty, { shots: 16, seed: 13 }), (e: Error) =>
        e.message.includes(empty) && e.message.includes(path.join('k-shot', '16-13')) && e.message.includes('pool/train.json'));
    } finally { fs.rmSync(empty, { recursive: true, force: true }); }
  });
});
