// The per-seed stage cache of the results store: finished work of an interrupted seed is not computed again.
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { NpyArray } from '../../../../src/engine/report/npy';
import { ResultsStore } from '../../../../src/engine/report/store';

const KEY = 'abcdef0123456789';
const bytesOf = (a: NpyArray) => Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength);

describe('engine/report/store: stage cache', () => {
  let root: string;
  let problems: string[];
  let store: ResultsStore;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-stage-'));
    problems = [];
    store = new ResultsStore(root, { onProblem: m => problems.push(m) });
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  const kernels = (): Record<string, NpyArray> => ({
    'sgd-train-train': { shape: [2, 4], data: Float64Array.from([1 / 3, -0, NaN, Infinity, -Infinity, 5e-324, Math.PI * 1e300, -1.0000000000000002]) },
    'sgd-train-test': { shape: [2, 3, 1], data: Float64Array.from([0.1, 0.2, 0.30000000000000004, 1e-310, 2 ** 53 + 2, -7]) },
    labels: { shape: [3], data: Int32Array.from([0, 1, -2147483648]) },
    empty: { shape: [0, 5], data: new Float64Array(0) },
  });

  it('round-trips float64 arrays bit-exactly (NaN, -0, ±Inf, subnormals), int32 labels, shapes and meta', () => {
    const arrays = kernels();
    store.writeStage(KEY, 13, 'kernel-theta0', arrays, { f0: [[0.5, 0.25]], note: 'θ0' });
    const got = store.readStage<{ f0: number[][]; note: string }>(KEY, 13, 'kernel-theta0')!;
    assert.ok(got, problems.join('\n'));
    assert.deepStrictEqual(Object.keys(got.arrays).sort(), Object.keys(arrays).sort());
    for (const [name, a] of Object.entries(arrays)) {
      assert.deepStrictEqual(got.arrays[name].shape, a.shape, name);
      assert.strictEqual(got.arrays[name].data.constructor, a.data.constructor, name);
      assert.ok(bytesOf(got.arrays[name]).equals(bytesOf(a)), `${name} is bit-exact`);
    }
    assert.deepStrictEqual(got.meta, { f0: [[0.5, 0.25]], note: 'θ0' });
    const dir = path.join(root, KEY, 'stages', '13-kernel-theta0');
    assert.strictEqual(store.stageDir(KEY, 13, 'kernel-theta0'), dir);
    assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['empty.npy', 'labels.npy', 'manifest.json', 'sgd-train-test.npy', 'sgd-train-train.npy']);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    assert.deepStrictEqual(manifest.arrays['sgd-train-test'].shape, [2, 3, 1]);
    assert.strictEqual(manifest.arrays['sgd-train-test'].dtype, '<f8');
    assert.strictEqual(manifest.arrays['sgd-train-test'].bytes, fs.statSync(path.join(dir, 'sgd-train-test.npy')).size);
    assert.strictEqual(problems.join('\n'), '');
  });

  it('a stage never written, or whose manifest is missing (interrupted before it was written), reads as undefined', () => {
    assert.strictEqual(store.readStage(KEY, 13, 'kernel-theta0'), undefined);
    store.writeStage(KEY, 13, 'kernel-theta0', kernels());
    assert.ok(store.readStage(KEY, 13, 'kernel-theta0'));
    assert.strictEqual(store.readStage(KEY, 21, 'kernel-theta0'), undefined, 'another seed');
    assert.strictEqual(store.readStage(KEY, 13, 'other'), undefined, 'another stage');
    fs.rmSync(path.join(store.stageDir(KEY, 13, 'kernel-theta0'), 'manifest.json'));
    assert.strictEqual(store.readStage(KEY, 13, 'kernel-theta0'), undefined);
    assert.strictEqual(problems.join('\n'), '', 'an absent stage is not a problem');
  });

  it('a truncated, missing or altered array file makes the stage read as undefined, with a message naming it', () => {
    const dir = store.stageDir(KEY, 13, 'kernel-theta0');
    const file = path.join(dir, 'sgd-train-train.npy');
    store.writeStage(KEY, 13, 'kernel-theta0', kernels());
    fs.truncateSync(file, fs.statSync(file).size - 8);
    assert.strictEqual(store.readStage(KEY, 13, 'kernel-theta0'), undefined);
    assert.match(problems.pop()!, /sgd-train-train\.npy holds \d+ bytes, \d+ expected/);

    store.writeStage(KEY, 13, 'kernel-theta0', kernels());
    const b = fs.readFileSync(file);
    b[b.length - 1] ^= 1; // same size, one bit flipped
    fs.writeFileSync(file, b);
    assert.strictEqual(store.readStage(KEY, 13, 'kernel-theta0'), undefined);
    assert.match(problems.pop()!, /sha256/);

    store.writeStage(KEY, 13, 'kernel-theta0', kernels());
    fs.rmSync(path.join(dir, 'labels.npy'));
    assert.strictEqual(store.readStage(KEY, 13, 'kernel-theta0'), undefined);
    assert.match(problems.pop()!, /labels\.npy: ENOENT/);

    fs.writeFileSync(path.join(dir, 'manifest.json'), '{"arr');
    assert.strictEqual(store.readStage(KEY, 13, 'kernel-theta0'), undefined);
    assert.match(problems.pop()!, /manifest\.json: not valid JSON/);
  });

  it('writing a stage again replaces it (old arrays removed, manifest last); removeStages clears a seed; bad names are refused', () => {
    store.writeStage(KEY, 13, 'a', kernels(), 1);
    store.writeStage(KEY, 13, 'a', { only: { shape: [1], data: Float64Array.from([2]) } }, 2);
    const got = store.readStage(KEY, 13, 'a')!;
    assert.deepStrictEqual(Object.keys(got.arrays), ['only']);
    assert.strictEqual(got.meta, 2);
    assert.deepStrictEqual(fs.readdirSync(store.stageDir(KEY, 13, 'a')).sort(), ['manifest.json', 'only.npy']);
    store.writeStage(KEY, 13, 'b', {});
    store.writeStage(KEY, 21, 'a', {});
    assert.deepStrictEqual(store.readStage(KEY, 13, 'b'), { arrays: {}, meta: undefined });
    store.removeStages(KEY, 13);
    assert.strictEqual(store.readStage(KEY, 13, 'a'), undefined);
    assert.strictEqual(store.readStage(KEY, 13, 'b'), undefined);
    assert.ok(store.readStage(KEY, 21, 'a'), 'other seeds are kept');
    assert.throws(() => store.writeStage(KEY, 13, '../x', {}), /stage name/);
    assert.throws(() => store.readStage(KEY, 13, 'a.b'), /stage name/);
    assert.throws(() => store.writeStage(KEY, 13, 'a', { '../evil': { shape: [0], data: new Float64Array(0) } }), /array name/);
    assert.throws(() => store.writeStage(KEY, 1.5, 'a', {}), /not an integer/);
  });
});
