import { strict as assert } from 'node:assert';
import { Example } from '../../../../src/engine/data/example';
import { mulberry32, sampleKShot, shuffled } from '../../../../src/engine/data/sample';

/** A pool of `perLabel[l]` examples for each label l, interleaved, with unique texts. */
function pool(perLabel: Record<string, number>): Example[] {
  const out: Example[] = [];
  const max = Math.max(...Object.values(perLabel));
  for (let i = 0; i < max; i++) {
    for (const [label, n] of Object.entries(perLabel)) {
      if (i < n) out.push({ textA: `${label}-${i}`, label, source: { file: 'pool.json', line: out.length + 2 } });
    }
  }
  return out;
}

describe('data/sample', () => {
  it('mulberry32 is deterministic per seed, differs across seeds, and stays in [0, 1)', () => {
    const a = mulberry32(13), b = mulberry32(13), c = mulberry32(21);
    const xa = Array.from({ length: 1000 }, a), xb = Array.from({ length: 1000 }, b), xc = Array.from({ length: 5 }, c);
    assert.deepEqual(xa, xb);
    assert.notDeepEqual(xa.slice(0, 5), xc);
    assert.ok(xa.every((x) => x >= 0 && x < 1));
    const mean = xa.reduce((s, x) => s + x, 0) / xa.length;
    assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
  });

  it('Fisher–Yates gives a permutation and leaves the input untouched', () => {
    const xs = Array.from({ length: 50 }, (_, i) => i);
    const ys = shuffled(xs, mulberry32(1));
    assert.deepEqual([...ys].sort((p, q) => p - q), xs);
    assert.notDeepEqual(ys, xs);
    assert.equal(xs[10], 10);
  });

  it('sampleKShot is deterministic: same seed, same split', () => {
    const p = pool({ a: 40, b: 40, c: 40 });
    assert.deepEqual(sampleKShot(p, 8, 42), sampleKShot(p, 8, 42));
    assert.notDeepEqual(sampleKShot(p, 8, 42).train, sampleKShot(p, 8, 43).train);
  });

  it('is balanced (k per label in train and in dev), grouped by label, and train/dev are disjoint', () => {
    const p = pool({ '0': 100, '1': 30, '2': 17 });
    const s = sampleKShot(p, 8, 7, { labels: ['0', '1', '2'] });
    for (const split of [s.train, s.dev]) {
      assert.equal(split.length, 24);
      for (const l of ['0', '1', '2']) assert.equal(split.filter((e) => e.label === l).length, 8);
      // grouped: the label sequence changes exactly twice
      assert.equal(split.filter((e, i) => i > 0 && e.label !== split[i - 1].label).length, 2);
      assert.deepEqual([...new Set(split.map((e) => e.label))], s.labelOrder);
    }
    const trainTexts = new Set(s.train.map((e) => e.textA));
    assert.ok(s.dev.every((e) => !trainTexts.has(e.textA)));
    assert.equal(new Set(s.dev.map((e) => e.textA)).size, 24);
  });

  it('refuses a label with fewer than 2k examples and a pool whose labels differ from the task, naming the pool file', () => {
    assert.throws(() => sampleKShot(pool({ a: 40, b: 15 }), 8, 1), /pool\.json: too few examples .* 'b' has 15/);
    assert.throws(() => sampleKShot(pool({ a: 40, b: 40 }), 8, 1, { labels: ['a', 'b', 'c'] }), /missing: c/);
  });
});
