import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ResultsStore, canonicalJson, templateKey, writeFileAtomic } from '../../../../src/engine/report/store';
import type { SeedResult, TemplateReport } from '../../../../src/engine/report/types';

const seedResult = (seed: number): SeedResult => ({
  seed, split: { trainFile: 't', devFile: 'd', testFile: 'x', nTrain: 2, nDev: 2, nTest: 2 },
  kernels: {}, diagnostics: {}, test: { text: ['a', 'b'], gold: [0, 1] }, seconds: 1,
});
const report = (name: string, acc: number, template = '*cls**sent_0**mask*'): TemplateReport => ({
  name, template, mode: 'prompt', words: { '0': 'bad', '1': 'good' }, labelTokenIds: [1, 2], key: 'k', seeds: [],
  summary: { finetune: { mean: acc, std: 0, n: 1 }, kernels: { sgd: { mean: acc - 0.1, std: 0, n: 1 } }, agreement: {}, metric: 'acc' },
  verdict: { kernelLike: null, text: 'v', evidence: [] },
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

  it('a damaged index.json is an error naming the file and what to do', () => {
    fs.writeFileSync(path.join(root, 'index.json'), '{not json');
    assert.throws(() => new ResultsStore(root).readIndex(), /index\.json: not valid JSON.*delete it/);
  });

  it('writeFileAtomic never leaves a half-written target (the old content survives a failed write)', () => {
    const f = path.join(root, 'x.json');
    writeFileAtomic(f, 'old');
    assert.throws(() => writeFileAtomic(f, undefined as unknown as string));
    assert.strictEqual(fs.readFileSync(f, 'utf8'), 'old');
    assert.deepStrictEqual(fs.readdirSync(root), ['x.json']);
  });
});
