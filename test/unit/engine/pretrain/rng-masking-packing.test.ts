import assert from 'node:assert/strict';
import { Rng, permutation } from '../../../../src/engine/pretrain/rng';
import { maskTokens } from '../../../../src/engine/pretrain/masking';
import { packDocuments, block } from '../../../../src/engine/pretrain/packing';

describe('pretrain/rng', () => {
  it('continues the exact same sequence from a saved state', () => {
    const a = new Rng(7);
    for (let i = 0; i < 100; i++) a.next();
    const saved = a.getState();
    const expected = Array.from({ length: 50 }, () => a.nextUint32());
    const b = Rng.fromState(saved);
    assert.deepEqual(Array.from({ length: 50 }, () => b.nextUint32()), expected);
  });
  it('saves its state as unsigned 32-bit words after every draw, and a state restored at any draw continues identically', () => {
    const a = new Rng(20230601);
    for (let i = 0; i < 2000; i++) {
      const st = a.getState();
      assert.ok(st.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff), `draw ${i}: ${st}`);
      const restored = Rng.fromState(JSON.parse(JSON.stringify(st)));
      assert.equal(restored.nextUint32(), a.nextUint32(), `draw ${i}`);
    }
  });
  it('accepts the signed form of a state (same 32-bit words) and continues the same sequence', () => {
    const a = new Rng(5);
    for (let i = 0; i < 10; i++) a.nextUint32();
    const st = a.getState();
    const signed = st.map((x) => x | 0) as typeof st;
    assert.equal(Rng.fromState(signed).nextUint32(), Rng.fromState(st).nextUint32());
    assert.throws(() => Rng.fromState([1, 2, 3, 2 ** 33] as never), /four 32-bit integers/);
  });
  it('gives different sequences for different seeds and a valid permutation', () => {
    assert.notEqual(new Rng(1).nextUint32(), new Rng(2).nextUint32());
    const p = permutation(1000, 3);
    assert.deepEqual([...p].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
    assert.notDeepEqual([...p], [...permutation(1000, 4)]);
  });
});

describe('pretrain/masking', () => {
  const opts = { maskProb: 0.15, maskTokenId: 4, vocabSize: 1000, specialIds: [0, 1, 2, 3, 4] };
  const tokens = new Int32Array(200_000);
  const src = new Rng(99);
  for (let i = 0; i < tokens.length; i++) tokens[i] = i % 128 === 0 ? 2 : 5 + src.int(995);

  it('selects ~15% of ordinary tokens, and splits them 80% [MASK] / 10% random / 10% unchanged', () => {
    const out = maskTokens(tokens, new Rng(1), opts);
    const ordinary = tokens.filter((t) => t !== 2).length;
    const frac = out.positions.length / ordinary;
    assert.ok(Math.abs(frac - 0.15) < 0.005, `selected fraction ${frac}`);
    let masked = 0, unchanged = 0, random = 0;
    out.positions.forEach((p, k) => {
      assert.equal(out.labels[k], tokens[p], 'label is the original token');
      if (out.inputIds[p] === 4) masked++;
      else if (out.inputIds[p] === tokens[p]) unchanged++;
      else { random++; assert.ok(out.inputIds[p] >= 5, 'random replacement is never a special token'); }
    });
    const m = out.positions.length;
    assert.ok(Math.abs(masked / m - 0.8) < 0.01, `mask ${masked / m}`);
    // A random draw equal to the original token counts as unchanged (probability 1/995): ~0.1 each.
    assert.ok(Math.abs(random / m - 0.1) < 0.01, `random ${random / m}`);
    assert.ok(Math.abs(unchanged / m - 0.1) < 0.01, `unchanged ${unchanged / m}`);
  });
  it('never selects special tokens and leaves unselected positions untouched', () => {
    const out = maskTokens(tokens, new Rng(2), opts);
    const sel = new Set(out.positions);
    for (let i = 0; i < tokens.length; i++) {
      if (tokens[i] === 2) assert.ok(!sel.has(i));
      if (!sel.has(i)) assert.equal(out.inputIds[i], tokens[i]);
    }
  });
  it('is reproducible from the RNG state and differs for another state', () => {
    const a = maskTokens(tokens.subarray(0, 4096), new Rng(5), opts);
    const b = maskTokens(tokens.subarray(0, 4096), new Rng(5), opts);
    const c = maskTokens(tokens.subarray(0, 4096), new Rng(6), opts);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a.positions, c.positions);
  });
  it('selects at least one position even in a tiny block', () => {
    const out = maskTokens(new Int32Array([2, 10, 2]), new Rng(0), { ...opts, maskProb: 0 });
    assert.deepEqual([...out.positions], [1]);
    assert.deepEqual([...out.labels], [10]);
  });
});

describe('pretrain/packing', () => {
  it('joins documents with [SEP] and cuts blocks that start with [CLS], dropping the unfilled tail', () => {
    const CLS = 101, SEP = 102;
    const packed = packDocuments([[1, 2, 3], [4, 5], [6, 7, 8, 9]], 4, CLS, SEP);
    // stream: 1 2 3 S 4 5 S 6 7 8 9 S  → bodies of 3: [1 2 3] [S 4 5] [S 6 7] [8 9 S]
    assert.equal(packed.count, 4);
    assert.deepEqual([...block(packed, 0)], [CLS, 1, 2, 3]);
    assert.deepEqual([...block(packed, 1)], [CLS, SEP, 4, 5]);
    assert.deepEqual([...block(packed, 2)], [CLS, SEP, 6, 7]);
    assert.deepEqual([...block(packed, 3)], [CLS, 8, 9, SEP]);
    assert.equal(packDocuments([[1, 2, 3], [4, 5, 6]], 4, CLS, SEP).count, 2, 'stream 1 2 3 S 4 5 6 S: the tail [6 S] shorter than a block is dropped');
  });
  it('refuses a block length below 2', () => {
    assert.throws(() => packDocuments([[1]], 1, 0, 1), /maxLen must be an integer ≥ 2/);
  });
});
