import { strict as assert } from 'node:assert';
import { pairedBootstrap, quantile } from '../../../../src/engine/report/uncertainty';
import { marginCorrelation, pearson } from '../../../../src/engine/report/metrics';

/** Correct (1) / wrong (0) per example, with exactly `k` ones among `n`, spread evenly. */
function hits(n: number, k: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < k; i++) out[Math.floor((i * n) / k)] = 1;
  return out;
}
const meanOn = (x: Int32Array, idx: Int32Array) => { let s = 0; for (const i of idx) s += x[i]; return s / idx.length; };

describe('paired bootstrap intervals (report/uncertainty.ts)', () => {
  it('the interval of a proportion (agreement 880 of 1000) matches the closed-form Wald interval p ± 1.96·√(p(1−p)/M)', () => {
    const same = hits(1000, 880);
    const iv = pairedBootstrap([{ size: 1000, statistic: (idx) => meanOn(same, idx) }], { resamples: 4000 });
    const half = 1.96 * Math.sqrt((0.88 * 0.12) / 1000);
    assert.equal(iv.value, 0.88);
    assert.ok(Math.abs(iv.lo - (0.88 - half)) < 0.004, `lo ${iv.lo} vs ${0.88 - half}`);
    assert.ok(Math.abs(iv.hi - (0.88 + half)) < 0.004, `hi ${iv.hi} vs ${0.88 + half}`);
    assert.equal(iv.level, 0.95);
  });

  it('the paired interval of an accuracy gap matches d̄ ± 1.96·sd(d)/√M of the per-example differences d ∈ {−1, 0, 1}', () => {
    // FT right on 800, kernel right on 780 of 1000; they disagree on 60 examples: 40 where FT alone is right, 20 where the kernel alone is.
    const M = 1000;
    const ft = new Int32Array(M);
    const k = new Int32Array(M);
    for (let i = 0; i < 760; i++) { ft[i] = 1; k[i] = 1; }
    for (let i = 760; i < 800; i++) ft[i] = 1;
    for (let i = 800; i < 820; i++) k[i] = 1;
    const iv = pairedBootstrap([{ size: M, statistic: (idx) => meanOn(ft, idx) - meanOn(k, idx) }], { resamples: 4000 });
    const d = Array.from({ length: M }, (_, i) => ft[i] - k[i]);
    const mean = d.reduce((a, b) => a + b, 0) / M;
    const sd = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / (M - 1));
    assert.ok(Math.abs(iv.value - 0.02) < 1e-12);
    assert.ok(Math.abs(iv.lo - (mean - (1.96 * sd) / Math.sqrt(M))) < 0.003, `lo ${iv.lo}`);
    assert.ok(Math.abs(iv.hi - (mean + (1.96 * sd) / Math.sqrt(M))) < 0.003, `hi ${iv.hi}`);
    // Unpaired (the two accuracies resampled independently) would be about 2.5× wider: pairing is what makes it this narrow.
    const unpaired = 1.96 * Math.sqrt((0.8 * 0.2 + 0.78 * 0.22) / M);
    assert.ok(iv.hi - iv.lo < unpaired, 'the paired interval is narrower than the unpaired one');
  });

  it('seeds that share a test set are resampled together; two identical seeds give the one-seed interval', () => {
    const x = hits(200, 150);
    const one = pairedBootstrap([{ size: 200, group: 't', statistic: (idx) => meanOn(x, idx) }], { seed: 3 });
    const two = pairedBootstrap([{ size: 200, group: 't', statistic: (idx) => meanOn(x, idx) }, { size: 200, group: 't', statistic: (idx) => meanOn(x, idx) }], { seed: 3 });
    assert.deepEqual([two.lo, two.hi], [one.lo, one.hi]);
    // Resampled independently (different groups), the mean of two identical seeds varies less: a narrower interval.
    const indep = pairedBootstrap([{ size: 200, group: 'a', statistic: (idx) => meanOn(x, idx) }, { size: 200, group: 'b', statistic: (idx) => meanOn(x, idx) }], { seed: 3 });
    assert.ok(indep.hi - indep.lo < one.hi - one.lo);
  });

  it('is reproducible (seeded) and collapses to a point when every example agrees', () => {
    const x = hits(50, 30);
    const a = pairedBootstrap([{ size: 50, statistic: (idx) => meanOn(x, idx) }]);
    const b = pairedBootstrap([{ size: 50, statistic: (idx) => meanOn(x, idx) }]);
    assert.deepEqual(a, b);
    const all = hits(50, 50);
    assert.deepEqual([pairedBootstrap([{ size: 50, statistic: (idx) => meanOn(all, idx) }]).lo, 1], [1, 1]);
  });

  it('quantile interpolates linearly between order statistics (numpy default)', () => {
    assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
    assert.equal(quantile([1, 2, 3, 4], 0), 1);
    assert.equal(quantile([1, 2, 3, 4], 1), 4);
    assert.ok(Math.abs(quantile([0, 10], 0.025) - 0.25) < 1e-12);
  });
});

describe('marginCorrelation: what decides the prediction, not class offsets', () => {
  it('two classes: equals the Pearson correlation of the margins s1 − s0, whatever offsets each class carries', () => {
    const M = 40;
    const rand = (i: number) => Math.sin(12.9898 * i) * 43758.5453 % 1;
    const ft: number[] = [];
    const k: number[] = [];
    const mFt: number[] = [];
    const mK: number[] = [];
    for (let m = 0; m < M; m++) {
      const margin = rand(m);
      const noise = 0.3 * rand(m + 100);
      // FT logits: class 0 carries an offset of +5, class 1 of −5; the kernel's: +0.1 / 0 (no offsets alike).
      ft.push(5 - margin / 2, -5 + margin / 2);
      k.push(0.1 - (margin + noise) / 2, (margin + noise) / 2);
      mFt.push(margin);
      mK.push(margin + noise);
    }
    const r = marginCorrelation(ft, k, M, 2);
    assert.ok(Math.abs(r - pearson(mFt, mK)) < 1e-12);
    assert.ok(r > 0.9, `margins correlate (${r})`);
    // Flattened, the class offsets dominate: the old figure was negative here although the margins agree.
    assert.ok(pearson(ft, k) < 0, `flattened ${pearson(ft, k)}`);
  });

  it('three classes: the average over classes of the correlation of row-centred logits; 1 for a scaled, shifted copy', () => {
    const a = [1, 2, 3, 0, 5, 1, 2, 2, 9, 4, 0, 1];
    const b = a.map((v, i) => 3 * v + (i % 3) * 0 + Math.floor(i / 3) * 7); // per-row shift: argmax unchanged
    assert.ok(Math.abs(marginCorrelation(a, b, 4, 3) - 1) < 1e-12);
  });
});
