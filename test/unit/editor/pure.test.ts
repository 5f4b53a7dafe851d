import * as assert from 'assert';
import { suggestionsAt } from '../../../src/editor/completion-items';
import { evidenceCells, formatDuration, progressLine, resultsTable, summaryLine, templateVerdictMarkdown, verdictLabel, verdictTone, verdictTooltip } from '../../../src/editor/format';
import { evidenceText } from '../../../src/engine/report/summary';
import type { Evidence } from '../../../src/engine/report/types';
import { isStale } from '../../../src/editor/results';
import { RunQueue } from '../../../src/editor/run-queue';
import { outlineSpec, templateAt } from '../../../src/editor/spec-outline';
import type { IndexEntry } from '../../../src/engine/report/store';

const SPEC = [
  'task: SST-2',                                   // 0
  'model: ntk-mini',                               // 1
  'templates:',                                    // 2
  '  - name: manual',                              // 3
  '    template: "*cls**sent_0*_It_was*mask*.*sep+*"', // 4
  '    words: {"0": terrible, "1": great}',        // 5
  '  - name: standard',                            // 6
  '  - manual2',                                   // 7
].join('\n');

const entry = (over: Partial<IndexEntry> = {}): IndexEntry => ({
  specFile: '/a.ntk.yaml', templateName: 'manual', model: 'ntk-mini', task: 'SST-2', createdAt: '2026-03-04T05:06:07Z',
  key: '0123456789abcdef', template: '*cls**sent_0*_It_was*mask*.*sep+*', words: { '0': 'terrible', '1': 'great' }, metric: 'acc',
  finetune: { mean: 0.853, std: 0.01, n: 5 }, kernels: { sgd: { mean: 0.841, std: 0.02, n: 5 } }, agreement: { sgd: { mean: 0.93, std: 0, n: 5 } },
  verdict: 'kernel-like: K[sgd] vs FT (acc, 5 seeds): gap 1.2 [−0.5, 2.9] pts (|gap| ≤ 5)', verdictStatus: 'kernel-like', ...over,
});
/** An index entry written before report schema 2: no verdict status or reason. */
const oldEntry = (): IndexEntry => { const e = entry({ verdict: 'kernel-like (old text)' }); delete e.verdictStatus; return e; };

describe('editor/spec-outline', () => {
  it('finds task, model and every template item with the ranges of name, template and label words (0-based)', () => {
    const o = outlineSpec(SPEC);
    assert.deepStrictEqual(o.task, { name: 'SST-2', span: { start: { line: 0, character: 6 }, end: { line: 0, character: 11 } } });
    assert.strictEqual(o.model!.name, 'ntk-mini');
    assert.deepStrictEqual(o.templates.map(t => [t.name, t.item.start.line, t.template]), [
      ['manual', 3, '*cls**sent_0*_It_was*mask*.*sep+*'], ['standard', 6, null], ['manual2', 7, null],
    ]);
    assert.deepStrictEqual(o.templates[0].words, { '0': 'terrible', '1': 'great' });
    assert.deepStrictEqual(o.templates[0].wordSpans.map(w => [w.word, w.span.start.line, w.span.start.character]), [['terrible', 5, 17], ['great', 5, 32]]);
    assert.strictEqual(templateAt(o, { line: 4, character: 20 })!.name, 'manual');
    assert.strictEqual(templateAt(o, { line: 1, character: 2 }), undefined);
  });
  it('survives a half-typed file: returns what parses', () => {
    assert.deepStrictEqual(outlineSpec('task: [').templates, []);
    assert.strictEqual(outlineSpec('templates:\n  - name: a\n    template: "*cls*\n').templates.length, 1);
  });
});

describe('editor/format', () => {
  it('summaryLine quotes the first kernel kind present, FT, agreement and the verdict status (none for an old entry)', () => {
    assert.strictEqual(summaryLine(entry()), 'kernel 84.1 · FT 85.3 · agree 93% · kernel-like');
    assert.strictEqual(summaryLine(entry({ verdictStatus: 'inconclusive' })), 'kernel 84.1 · FT 85.3 · agree 93% · inconclusive');
    assert.strictEqual(summaryLine(entry({ verdictStatus: 'not-kernel-like' })), 'kernel 84.1 · FT 85.3 · agree 93% · not kernel-like');
    assert.strictEqual(summaryLine(entry({ kernels: { 'asymmetric-signgd': { mean: 0.5, std: 0, n: 1 } }, agreement: {}, finetune: undefined, verdictStatus: 'none' })), 'kernel 50.0 · no verdict');
    assert.strictEqual(summaryLine(oldEntry()), 'kernel 84.1 · FT 85.3 · agree 93%');
  });
  it('verdictLabel, verdictTone: the words and the good / bad / neutral style of statuses and evidence outcomes', () => {
    assert.deepStrictEqual((['kernel-like', 'not-kernel-like', 'inconclusive', 'none', undefined] as const).map(s => [verdictLabel(s), verdictTone(s)]), [
      ['kernel-like', 'good'], ['not kernel-like', 'bad'], ['inconclusive', 'neutral'], ['no verdict', 'neutral'], ['–', 'neutral'],
    ]);
    assert.deepStrictEqual([true, false, null].map(verdictTone), ['good', 'bad', 'neutral']);
  });
  it('evidenceCells: value with its interval (else ± std over seeds when n > 1), the threshold in the unit, pass / fail / undecided', () => {
    const gap: Evidence = { name: 'gap', value: -0.012, interval: [-0.031, 0.008], spread: { mean: -0.012, std: 0.02, n: 5 }, test: 'abs-max', threshold: 0.05, unit: 'points', pass: true };
    const agree: Evidence = { name: 'agreement', value: 0.876, interval: [0.79, 0.93], test: 'min', threshold: 0.8, unit: 'percent', pass: null };
    const change: Evidence = { name: 'kernel change', value: 0.7123, spread: { mean: 0.7123, std: 0.031, n: 3 }, test: 'max', threshold: 0.5, unit: 'ratio', pass: false };
    const single: Evidence = { name: 'linearisation', value: 0.25, spread: { mean: 0.25, std: 0, n: 1 }, test: 'max', threshold: 0.5, unit: 'ratio', pass: true };
    assert.deepStrictEqual([gap, agree, change, single].map(evidenceCells), [
      { name: 'gap', value: '−1.2 [−3.1, 0.8] pts', threshold: '|gap| ≤ 5 pts', result: 'pass' },
      { name: 'agreement', value: '88 [79, 93] %', threshold: '≥ 80 %', result: 'undecided' },
      { name: 'kernel change', value: '0.71 ± 0.03', threshold: '≤ 0.5', result: 'fail' },
      { name: 'linearisation', value: '0.25', threshold: '≤ 0.5', result: 'pass' },
    ]);
    // the same figures as the engine's own one-line rendering (report/summary.ts evidenceText), cell by cell
    for (const e of [gap, agree, change, single]) {
      const c = evidenceCells(e);
      assert.strictEqual(evidenceText(e), `${c.name} ${c.value} (${c.threshold.replace(/ (pts|%)$/, '')})`);
    }
  });
  it('the CodeLens tooltip and the hover trailer: verdict text, its reason, the warnings (count, then each)', () => {
    assert.strictEqual(verdictTooltip(entry()), entry().verdict);
    assert.strictEqual(verdictTooltip(entry({ verdict: 'inconclusive: …', verdictReason: 'the interval of gap straddles its threshold' })), 'inconclusive: …\nwhy: the interval of gap straddles its threshold');
    const md = templateVerdictMarkdown('manual', entry({ verdict: 'inconclusive: x', verdictReason: 'more seeds would decide' }), {
      stale: true, warnings: [{ code: 'truncated', message: 'max_length 64 cut 3 of 872 examples' }, { code: 'skipped-rows', message: '2 rows skipped' }],
    });
    assert.strictEqual(md, '*stale:* **manual**: inconclusive: x\n\n*why:* more seeds would decide\n\n$(warning) **2 warnings**:\n- max_length 64 cut 3 of 872 examples\n- 2 rows skipped');
    assert.strictEqual(templateVerdictMarkdown('manual', entry(), { stale: false, warnings: [] }), `**manual**: ${entry().verdict}\n\nno warnings`);
    assert.strictEqual(templateVerdictMarkdown('manual', oldEntry(), { stale: false }), '**manual**: kernel-like (old text)', 'an old result: no reason, report.json unread');
    const many = templateVerdictMarkdown('m', entry(), { stale: false, warnings: Array.from({ length: 7 }, (_, i) => ({ code: 'c', message: `w${i}` })) });
    assert.match(many, /\*\*7 warnings\*\*:\n- w0\n(- w\d\n){4}- … 2 more in the results panel$/);
  });
  it('progressLine shows phase and step, seed and ETA', () => {
    assert.strictEqual(progressLine({ type: 'step', phase: 'finetune', step: 412, total: 1000 }), 'fine-tuning 412/1000');
    assert.strictEqual(progressLine({ type: 'step', phase: 'kernel', step: 3, total: 32, seed: 13, etaSeconds: 120 }), 'kernel rows 3/32 (seed 13) · 2 min left');
    assert.strictEqual(progressLine({ type: 'log', level: 'info', message: 'x' }), undefined);
    assert.strictEqual(formatDuration(30), '30 s');
  });
  it('resultsTable is a Markdown table with kernel accuracy per kind, FT, agreement, verdict, model and date; pipes escaped', () => {
    const md = resultsTable([
      entry(),
      entry({ templateName: 'a|b', key: 'ffffffffffffffff', verdictStatus: 'not-kernel-like', kernels: { sgd: { mean: 0.5, std: 0, n: 1 }, signgd: { mean: 0.6, std: 0, n: 1 } } }),
      { ...oldEntry(), templateName: 'old', key: 'eeeeeeeeeeeeeeee' },
    ], { title: 'Task SST-2', highlightKey: '0123456789abcdef' });
    const lines = md.split('\n');
    assert.strictEqual(lines[2], '| template | kernel SGD | kernel SignGD | FT | agree SGD | agree SignGD | verdict | model | date |');
    assert.strictEqual(lines[4], '| **manual** | 84.1 ± 2.0 | – | 85.3 ± 1.0 | 93% | – | kernel-like | ntk-mini | 2026-03-04 |');
    assert.match(lines[5], /^\| a\\\|b \| 50\.0 \| 60\.0 \| .* \| not kernel-like \| ntk-mini \|/);
    assert.strictEqual(lines[6], '| old | 84.1 ± 2.0 | – | 85.3 ± 1.0 | 93% | – | – | ntk-mini | 2026-03-04 |', 'an entry from before schema 2: no verdict status');
    assert.match(resultsTable([], { title: 'T' }), /No results yet/);
  });
});

describe('editor/results isStale', () => {
  it('is stale when the template text or the words differ, never for a name-only item', () => {
    const e = entry();
    assert.strictEqual(isStale(e, { template: e.template, words: { '1': 'great', '0': 'terrible' } }), false);
    assert.strictEqual(isStale(e, { template: e.template + ' ', words: e.words }), true);
    assert.strictEqual(isStale(e, { template: e.template, words: { '0': 'bad', '1': 'great' } }), true);
    assert.strictEqual(isStale(e, { template: null, words: null }), false);
  });
});

describe('editor/completion-items', () => {
  it('offers pieces inside an open *...* of a template string, not after a closed one', () => {
    const text = '    template: "*cls**';
    const s = suggestionsAt(text, 0, text.length);
    assert.ok(s.some(x => x.label === '*mask*' && x.insertText === 'mask*'));
    assert.deepStrictEqual(suggestionsAt('    template: "*cls*', 0, 20), []);
  });
  it('offers task names after task:, missing top-level keys at column 0, and schema enums', () => {
    assert.ok(suggestionsAt('task: ', 0, 6).some(x => x.label === 'SST-2'));
    const keys = suggestionsAt('task: x\n', 1, 0).map(x => x.label);
    assert.ok(keys.includes('templates') && !keys.includes('task'));
    const schema = { properties: { model: { enum: ['ntk-mini'] }, seeds: { description: 'seed list' } } };
    assert.deepStrictEqual(suggestionsAt('model: ', 0, 7, schema).map(x => x.label), ['ntk-mini']);
    assert.deepStrictEqual(suggestionsAt('', 0, 0, schema).map(x => [x.label, x.detail]), [['model', undefined], ['seeds', 'seed list']]);
  });
});

describe('editor/run-queue', () => {
  it('runs one job at a time in order, shows the queue, and a job cancelled while queued never starts', async () => {
    const q = new RunQueue();
    const order: string[] = [];
    const snapshots: string[] = [];
    q.onDidChange(s => snapshots.push(`${s.running?.label ?? '-'}|${s.queued.map(x => x.label).join(',')}`));
    let release!: () => void;
    const a = q.enqueue('a', async () => { order.push('a+'); await new Promise<void>(r => (release = r)); order.push('a-'); });
    const b = q.enqueue('b', async () => { order.push('b'); });
    const c = q.enqueue('c', async () => { order.push('c'); });
    assert.deepStrictEqual(q.snapshot().queued.map(x => x.label), ['b', 'c']);
    assert.ok(q.cancel(b.job.id));
    await assert.rejects(b.result, /cancelled before it started/);
    release();
    await Promise.all([a.result, c.result]);
    assert.deepStrictEqual(order, ['a+', 'a-', 'c']);
    assert.deepStrictEqual(snapshots, ['a|', 'a|b', 'a|b,c', 'a|c', 'c|', '-|']);
  });
  it('cancel() without id aborts the running job signal', async () => {
    const q = new RunQueue();
    const r = q.enqueue('a', job => new Promise((_, reject) => job.controller.signal.addEventListener('abort', () => reject(new Error('stopped')))));
    assert.ok(q.cancel());
    await assert.rejects(r.result, /stopped/);
    assert.strictEqual(q.cancel(), false);
  });
});
