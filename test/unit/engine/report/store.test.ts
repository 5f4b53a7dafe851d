import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ResultsStore, canonicalJson, templateKey, writeFileAtomic } from '../../../../src/engine/report/store';
import type { SeedResult, TemplateReport } from '../../../../src/engine/report/types';

// The store treats seeds and reports as opaque JSON: these fixtures hold only what it reads (cast, so the report
// types can grow without touching these tests).
const seedResult = (seed: number): SeedResult => ({
  seed, split: { trainFile: 't', devFile: 'd', testFile: 'x', nTrain: 2, nDev: 2, nTest: 2 },
  kernels: {}, diagnostics: {}, test: { text: ['a', 'b'], gold: [0, 1] }, seconds: 1,
}) as unknown as SeedResult;
const report = (name: string, acc: number, template = '*cls**sent_0**mask*'): TemplateReport => ({
  name, template, mode: 'prompt', words: { '0': 'bad', '1': 'good' }, labelTokenIds: [1, 2], key: 'k', seeds: [],
  summary: { finetune: { mean: acc, std: 0, n: 1 }, kernels: { sgd: { mean: acc - 0.1, std: 0, n: 1 } }, agreement: {}, metric: 'acc' },
  verdict: { kernelLike: null, text: 'v', evidence: [] },
}) as unknown as TemplateReport;
const entry = (key: string, specFile: string, templateName: string, createdAt: string, extra: Record<string, unknown> = {}) => ({
  specFile, templateName, model: 'ntk-mini', task: 'SST-2', createdAt, key, template: 't', words: null, metric: 'acc',
  kernels: {}, agreement: {}, verdict: 'v', ...extra,
});

describe('engine/report/store', () => {
  let root: string;
  beforeEach(() => { root = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-store-')); });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('templateKey is 16 hex digits, independent of key order, and changes with any input', () => {
    const base = { template: '*cls*', words: { a: 'x', b: 'y' }, model: 'm', task: 't', settings: { lr: 1, steps: 2 } };
    const k = templateKey(base);
    assert.match(k, /^[0-9a-f]{16}$/);
    assert.strictEqual(templateKey({ ...base, words: { b: 'y', a: 'x' }, settings: { steps: 2, lr: 1 } }), k);
    for (const changed of [{ template: '*cls**mask*' }, { words: { a: 'x', b: 'z' } }, { model: 'm2' }, { task: 't2' }, { settings: { lr: 2, steps: 2 } }]) {
      assert.notStrictEqual(templateKey({ ...base, ...changed }), k, JSON.stringify(changed));
    }
    assert.strictEqual(canonicalJson({ b: [1, { d: 1, c: 2 }], a: null }), '{"a":null,"b":[1,{"c":2,"d":1}]}');
  });

  it('writes and reads seeds atomically, leaving no temp files; a missing seed reads as undefined', () => {
    const s = new ResultsStore(root);
    const key = 'abcdef0123456789';
    s.writeSeed(key, 13, seedResult(13));
    s.writeSeed(key, 13, seedResult(13)); // overwrite
    assert.deepStrictEqual(s.readSeed(key, 13), seedResult(13));
    assert.strictEqual(s.readSeed(key, 21), undefined);
    assert.deepStrictEqual(fs.readdirSync(path.join(root, key, 'seeds')), ['13.json']);
  });

  it('kernelPath is under <root>/<key>/kernels and its folder exists; bad keys and split names are refused', () => {
    const s = new ResultsStore(root);
    const p = s.kernelPath('abcdef0123456789', 13, 'sgd', 'train-test');
    assert.strictEqual(p, path.join(root, 'abcdef0123456789', 'kernels', 'seed13-sgd-train-test.npy'));
    assert.ok(fs.existsSync(path.dirname(p)));
    fs.writeFileSync(p, 'x');
    assert.deepStrictEqual(s.kernelFiles('abcdef0123456789'), [p]);
    assert.throws(() => s.kernelPath('../etc', 1, 'sgd', 'a'), /16-hex-digit/);
    assert.throws(() => s.kernelPath('abcdef0123456789', 1, 'sgd', '../a'), /split name/);
  });

  it('indexes template reports: latest per (specFile, template), replaces a rerun of the same key, lists by task/model', () => {
    const s = new ResultsStore(root);
    const spec = path.join(root, 'a.ntk.yaml');
    const meta = (name: string, createdAt: string, model = 'ntk-mini', task = 'SST-2') => ({ specFile: spec, templateName: name, model, task, createdAt });
    s.writeTemplateReport('0000000000000001', report('manual', 0.8, 'old'), meta('manual', '2026-01-01T00:00:00Z'));
    s.writeTemplateReport('0000000000000002', report('manual', 0.9), meta('manual', '2026-01-02T00:00:00Z'));
    s.writeTemplateReport('0000000000000002', report('manual', 0.95), meta('manual', '2026-01-03T00:00:00Z'));
    s.writeTemplateReport('0000000000000003', report('other', 0.7), meta('other', '2026-01-02T00:00:00Z', 'roberta-base'));
    s.writeTemplateReport('0000000000000004', report('x', 0.7), meta('x', '2026-01-02T00:00:00Z', 'ntk-mini', 'mr'));
    const latest = s.latest(spec, 'manual')!;
    assert.strictEqual(latest.key, '0000000000000002');
    assert.strictEqual(latest.finetune!.mean, 0.95);
    assert.strictEqual(latest.template, '*cls**sent_0**mask*');
    assert.strictEqual(s.readIndex().length, 4, 'the rerun replaced its index entry');
    assert.deepStrictEqual(s.list({ task: 'SST-2' }).map(e => e.templateName), ['manual', 'other', 'manual']);
    assert.deepStrictEqual(s.list({ task: 'SST-2', model: 'roberta-base' }).map(e => e.key), ['0000000000000003']);
    assert.strictEqual(s.readTemplateReport('0000000000000002')!.report.summary.finetune!.mean, 0.95);
    assert.strictEqual(s.latest(spec, 'nope'), undefined);
    assert.ok(!fs.readdirSync(root).some(f => f.endsWith('.tmp')));
  });

  it('keeps one entry file per result under index/ and rewrites the index.json summary (the watched file) after each write', () => {
    const s = new ResultsStore(root);
    const spec = path.join(root, 'a.ntk.yaml');
    const meta = (name: string, createdAt: string) => ({ specFile: spec, templateName: name, model: 'ntk-mini', task: 'SST-2', createdAt });
    s.writeTemplateReport('0000000000000001', report('a', 0.8), meta('a', '2026-01-01T00:00:00Z'));
    const before = fs.statSync(s.indexPath()).mtimeMs;
    s.writeTemplateReport('0000000000000001', report('b', 0.8), meta('b', '2026-01-02T00:00:00Z'));
    s.writeTemplateReport('0000000000000001', report('b', 0.9), meta('b', '2026-01-03T00:00:00Z'));
    const files = fs.readdirSync(s.indexDir()).sort();
    assert.strictEqual(files.length, 2, files.join(', '));
    for (const f of files) assert.match(f, /^0000000000000001-[0-9a-f]{12}\.json$/);
    const summary = JSON.parse(fs.readFileSync(s.indexPath(), 'utf8'));
    assert.strictEqual(summary.version, 2);
    assert.deepStrictEqual(summary.entries.map((e: { templateName: string; finetune: { mean: number } }) => [e.templateName, e.finetune.mean]), [['a', 0.8], ['b', 0.9]]);
    assert.ok(fs.statSync(s.indexPath()).mtimeMs >= before);
    assert.deepStrictEqual(s.readIndex().map(e => e.templateName), ['a', 'b'], 'oldest first');
  });

  it('never reads a temp file as an entry, and skips a damaged entry file with a message naming it (the others still read)', () => {
    const problems: string[] = [];
    const s = new ResultsStore(root, { onProblem: m => problems.push(m) });
    const spec = path.join(root, 'a.ntk.yaml');
    s.writeTemplateReport('0000000000000001', report('a', 0.8), { specFile: spec, templateName: 'a', model: 'm', task: 'SST-2', createdAt: '2026-01-01T00:00:00Z' });
    const good = fs.readdirSync(s.indexDir())[0];
    // a writer killed mid-write leaves its temp file: half of a valid entry, never renamed
    fs.writeFileSync(path.join(s.indexDir(), `0000000000000002-aaaaaaaaaaaa.json.4242.deadbeef.tmp`), JSON.stringify(entry('0000000000000002', spec, 'x', '2026')).slice(0, 40));
    fs.writeFileSync(path.join(s.indexDir(), `0000000000000003-bbbbbbbbbbbb.json.4242.deadbeef.tmp`), JSON.stringify(entry('0000000000000003', spec, 'y', '2026')));
    assert.deepStrictEqual(s.readIndex().map(e => e.key), ['0000000000000001']);
    assert.strictEqual(problems.join('\n'), '');
    const damaged = path.join(s.indexDir(), '0000000000000004-cccccccccccc.json');
    fs.writeFileSync(damaged, '{"key": "00000000');
    const wrongShape = path.join(s.indexDir(), '0000000000000005-dddddddddddd.json');
    fs.writeFileSync(wrongShape, '[1, 2]');
    assert.deepStrictEqual(s.readIndex().map(e => e.key), ['0000000000000001']);
    assert.strictEqual(problems.length, 2, problems.join('\n'));
    assert.ok(problems.some(p => p.includes(damaged) && /not valid JSON.*skipped.*Delete it/.test(p)), problems.join('\n'));
    assert.ok(problems.some(p => p.includes(wrongShape) && /not a JSON object/.test(p)), problems.join('\n'));
    assert.ok(fs.existsSync(path.join(s.indexDir(), good)));
  });

  it('still reads a legacy (version 1) index.json; an entry file for the same result wins; later writes keep the legacy entries', () => {
    const spec = path.join(root, 'a.ntk.yaml');
    fs.writeFileSync(path.join(root, 'index.json'), JSON.stringify({ version: 1, entries: [
      entry('00000000000000a1', spec, 'old-only', '2025-01-01T00:00:00Z'),
      entry('00000000000000a2', spec, 'rerun', '2025-01-02T00:00:00Z', { verdict: 'legacy' }),
    ] }));
    const s = new ResultsStore(root);
    assert.deepStrictEqual(s.readIndex().map(e => e.templateName), ['old-only', 'rerun']);
    assert.strictEqual(s.latest(spec, 'old-only')!.key, '00000000000000a1');
    // the same (key, spec, template) rewritten by this version: its entry file replaces the legacy line
    s.writeTemplateReport('00000000000000a2', report('rerun', 0.5), { specFile: spec, templateName: 'rerun', model: 'm', task: 'SST-2', createdAt: '2025-01-02T00:00:00Z' });
    s.writeTemplateReport('00000000000000a3', report('new', 0.5), { specFile: spec, templateName: 'new', model: 'm', task: 'SST-2', createdAt: '2026-01-01T00:00:00Z' });
    const index = s.readIndex();
    assert.deepStrictEqual(index.map(e => [e.templateName, e.verdict]), [['old-only', 'v'], ['rerun', 'v'], ['new', 'v']]);
    const summary = JSON.parse(fs.readFileSync(s.indexPath(), 'utf8'));
    assert.deepStrictEqual(summary.legacyEntries.map((e: { templateName: string }) => e.templateName), ['old-only'], 'only the legacy entry without an entry file is carried');
    assert.deepStrictEqual(new ResultsStore(root).readIndex().map(e => e.templateName), ['old-only', 'rerun', 'new'], 'the legacy entry survived the summary rewrite');
  });

  it('a damaged legacy index.json is skipped with a message naming the file and what to do; entry files still read', () => {
    const problems: string[] = [];
    fs.writeFileSync(path.join(root, 'index.json'), '{not json');
    const s = new ResultsStore(root, { onProblem: m => problems.push(m) });
    assert.deepStrictEqual(s.readIndex(), []);
    assert.match(problems.join('\n'), /index\.json: not valid JSON.*delete it/);
    s.writeTemplateReport('0000000000000001', report('a', 0.8), { specFile: path.join(root, 'a.ntk.yaml'), templateName: 'a', model: 'm', task: 'SST-2', createdAt: '2026-01-01T00:00:00Z' });
    assert.deepStrictEqual(s.readIndex().map(e => e.templateName), ['a']);
  });

  it('writeFileAtomic never leaves a half-written target (the old content survives a failed write)', () => {
    const f = path.join(root, 'x.json');
    writeFileAtomic(f, 'old');
    assert.throws(() => writeFileAtomic(f, undefined as unknown as string));
    assert.strictEqual(fs.readFileSync(f, 'utf8'), 'old');
    assert.deepStrictEqual(fs.readdirSync(root), ['x.json']);
  });
});
