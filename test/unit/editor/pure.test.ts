import * as assert from 'assert';
import { suggestionsAt } from '../../../src/editor/completion-items';
import { formatDuration, progressLine, resultsTable, summaryLine } from '../../../src/editor/format';
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
  verdict: 'kernel-like', ...over,
});

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
  it('summaryLine quotes the first kernel kind present, FT and agreement', () => {
    assert.strictEqual(summaryLine(entry()), 'kernel 84.1 · FT 85.3 · agree 93%');
    assert.strictEqual(summaryLine(entry({ kernels: { 'asymmetric-signgd': { mean: 0.5, std: 0, n: 1 } }, agreement: {}, finetune: undefined })), 'kernel 50.0');
  });
  it('progressLine shows phase and step, seed and ETA', () => {
    assert.strictEqual(progressLine({ type: 'step', phase: 'finetune', step: 412, total: 1000 }), 'fine-tuning 412/1000');
    assert.strictEqual(progressLine({ type: 'step', phase: 'kernel', step: 3, total: 32, seed: 13, etaSeconds: 120 }), 'kernel rows 3/32 (seed 13) · 2 min left');
    assert.strictEqual(progressLine({ type: 'log', level: 'info', message: 'x' }), undefined);
    assert.strictEqual(formatDuration(30), '30 s');
  });
  it('resultsTable is a Markdown table with kernel accuracy per kind, FT, agreement, model and date; pipes escaped', () => {
    const md = resultsTable([entry(), entry({ templateName: 'a|b', key: 'ffffffffffffffff', kernels: { sgd: { mean: 0.5, std: 0, n: 1 }, signgd: { mean: 0.6, std: 0, n: 1 } } })], { title: 'Task SST-2', highlightKey: '0123456789abcdef' });
    const lines = md.split('\n');
    assert.strictEqual(lines[2], '| template | kernel SGD | kernel SignGD | FT | agree SGD | agree SignGD | model | date |');
    assert.strictEqual(lines[4], '| **manual** | 84.1 ± 2.0 | – | 85.3 ± 1.0 | 93% | – | ntk-mini | 2026-03-04 |');
    assert.match(lines[5], /^\| a\\\|b \| 50\.0 \| 60\.0 \|/);
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
