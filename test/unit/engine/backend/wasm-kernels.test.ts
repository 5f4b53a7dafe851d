import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../../src/engine/backend';
import { SOURCE_SHA256 } from '../../../../src/engine/backend/wasm-kernels/binary';
import { useWasmKernelVariant, wasmGeluWithGrad, wasmKernelVariant, wasmStructuredProduct, type WasmKernelVariant } from '../../../../src/engine/backend/wasm-kernels';
import { mulberry32 } from '../../../../src/engine/util/random';

const root = path.resolve(__dirname, '../../../..');

/** Float64 reference: op(A)·op(B) for one matrix pair, from plain arrays. */
function refMatMul(a: Float64Array, b: Float64Array, M: number, N: number, K: number, ta: boolean, tb: boolean): Float64Array {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += (ta ? a[k * M + i] : a[i * K + k]) * (tb ? b[j * K + k] : b[k * N + j]);
      out[i * N + j] = s;
    }
  }
  return out;
}

function randomArray(n: number, rand: () => number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rand() * 2 - 1;
  return x;
}

interface Case { batchA: number[]; batchB: number[]; M: number; N: number; K: number; ta: boolean; tb: boolean }

/** Runs tf.matMul on the wasm backend and compares every entry with the float64 reference. Returns max |error|. */
function check(c: Case, rand: () => number): number {
  const aShape = [...c.batchA, ...(c.ta ? [c.K, c.M] : [c.M, c.K])];
  const bShape = [...c.batchB, ...(c.tb ? [c.N, c.K] : [c.K, c.N])];
  const na = aShape.reduce((p, d) => p * d, 1), nb = bShape.reduce((p, d) => p * d, 1);
  const av = randomArray(na, rand), bv = randomArray(nb, rand);
  const got = tf.tidy(() => tf.matMul(tf.tensor(av, aShape), tf.tensor(bv, bShape), c.ta, c.tb).dataSync());
  const batchA = c.batchA.reduce((p, d) => p * d, 1), batchB = c.batchB.reduce((p, d) => p * d, 1);
  const batch = Math.max(batchA, batchB);
  assert.equal(got.length, batch * c.M * c.N, `output size for ${JSON.stringify(c)}`);
  let worst = 0;
  for (let b = 0; b < batch; b++) {
    const ia = b % batchA, ib = b % batchB; // a side repeats over the leading dimensions it lacks
    const ref = refMatMul(Float64Array.from(av.subarray(ia * c.M * c.K, (ia + 1) * c.M * c.K)),
      Float64Array.from(bv.subarray(ib * c.K * c.N, (ib + 1) * c.K * c.N)), c.M, c.N, c.K, c.ta, c.tb);
    for (let i = 0; i < ref.length; i++) {
      const err = Math.abs(got[b * c.M * c.N + i] - ref[i]) / Math.sqrt(Math.max(c.K, 1));
      if (err > worst) worst = err;
    }
  }
  return worst;
}

for (const variant of ['simd128', 'relaxed-simd-fma'] as WasmKernelVariant[]) describe(`engine/backend/wasm-kernels (${variant} build): BatchMatMul and GELU`, function () {
  this.timeout(120_000);
  let previous: string;
  before(async function () {
    previous = tf.getBackend();
    await initBackend('wasm');
    if (useWasmKernelVariant(variant) !== variant) this.skip(); // relaxed SIMD unavailable in this runtime
  });
  after(async () => { useWasmKernelVariant(undefined); if (previous) await tf.setBackend(previous); });

  it('equals a float64 product for every transpose, batch broadcast and edge size (M % 4, N % 8, K = 0, 1, K beyond one 256-deep block)', () => {
    const rand = mulberry32(7);
    const cases: Case[] = [];
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        for (const [M, N, K] of [[1, 1, 1], [3, 5, 7], [4, 8, 16], [5, 9, 3], [13, 17, 33], [7, 3, 64], [66, 31, 20],
          [129, 12, 5], [2, 130, 9], [9, 4, 0], [6, 11, 600], [4, 16, 512]]) {
          cases.push({ batchA: [], batchB: [], M, N, K, ta, tb });
          cases.push({ batchA: [3], batchB: [3], M, N, K, ta, tb });
          cases.push({ batchA: [2, 3], batchB: [2, 3], M, N, K, ta, tb });
          cases.push({ batchA: [1], batchB: [4], M, N, K, ta, tb });
          cases.push({ batchA: [4], batchB: [], M, N, K, ta, tb });
          cases.push({ batchA: [3, 2], batchB: [2], M, N, K, ta, tb });
          cases.push({ batchA: [1, 3], batchB: [2, 3], M, N, K, ta, tb });
        }
      }
    }
    let worst = 0;
    for (const c of cases) {
      const err = check(c, rand);
      assert.ok(err < 1e-5, `case ${JSON.stringify(c)}: error ${err}`); // |error| / √K: float32 rounding over K terms
      worst = Math.max(worst, err);
    }
    assert.ok(cases.length === 336 && worst > 0, 'the cases ran and compared non-trivial products');
  });

  it('handles a wide right-hand side (a decoder-shaped [20, 64]·[64, 3001]ᵀ) and empty outputs', () => {
    const rand = mulberry32(8);
    assert.ok(check({ batchA: [], batchB: [], M: 20, N: 3001, K: 64, ta: false, tb: true }, rand) < 1e-6);
    assert.ok(check({ batchA: [2], batchB: [2], M: 0, N: 5, K: 3, ta: false, tb: false }, rand) === 0);
    assert.ok(check({ batchA: [2], batchB: [2], M: 4, N: 0, K: 3, ta: false, tb: false }, rand) === 0);
  });

  it('never writes outside its output: tensors made before many products keep their values', () => {
    const rand = mulberry32(9);
    const sentinels = Array.from({ length: 20 }, (_, i) => tf.fill([64 + i * 37], i + 0.5));
    try {
      for (let r = 0; r < 30; r++) {
        // growing and shrinking scratch (packed right-hand sides of different sizes), outputs of different sizes
        const n = 1 + Math.floor(rand() * 300), k = 1 + Math.floor(rand() * 200), m = 1 + Math.floor(rand() * 50);
        tf.tidy(() => tf.matMul(tf.randomNormal([2, m, k]), tf.randomNormal([2, n, k]), false, true).dataSync());
      }
      sentinels.forEach((s, i) => {
        const v = s.dataSync();
        assert.ok(v.every((x) => x === i + 0.5), `sentinel ${i} was overwritten`);
      });
    } finally {
      sentinels.forEach((s) => s.dispose());
    }
  });

  it('the fused structured eNTK product equals its float64 double sum Σ_{s∈e} Σ_{t∈n} (a_s·a_t)(δ_s·δ_t) for odd widths, row counts and C', () => {
    const rand = mulberry32(11);
    // widths below, at and past the 8-wide panels; train rows nT % 4 = 0..3; evaluated examples of 1 to 9 rows
    const cases = [
      { C: 1, width: 3, eCounts: [1], tCounts: [2] },
      { C: 2, width: 8, eCounts: [4, 4], tCounts: [3, 5, 1] },
      { C: 2, width: 13, eCounts: [2, 7, 1], tCounts: [4, 4, 3] },
      { C: 3, width: 21, eCounts: [5, 9], tCounts: [1, 6, 2, 7] },
      { C: 2, width: 40, eCounts: [6], tCounts: [8, 8, 8, 8, 5] },
    ];
    for (const { C, width, eCounts, tCounts } of cases) {
      const nE = eCounts.reduce((x, y) => x + y), nT = tCounts.reduce((x, y) => x + y);
      const At = randomArray(nT * nE, rand), dE = randomArray(C * nE * width, rand), dT = randomArray(C * nT * width, rand);
      const sentinel = tf.fill([50], 0.25); // made before: the product must not write outside its output
      const got = tf.tidy(() => wasmStructuredProduct(tf.tensor2d(At, [nT, nE]), tf.tensor2d(dE, [C * nE, width]),
        tf.tensor2d(dT, [C * nT, width]), eCounts, tCounts, C)!.dataSync());
      assert.ok(sentinel.dataSync().every((x) => x === 0.25), 'a tensor made before was overwritten');
      sentinel.dispose();
      const Be = eCounts.length, Nt = tCounts.length;
      assert.equal(got.length, C * Be * C * Nt);
      const starts = (counts: number[]) => counts.map((_, i) => counts.slice(0, i).reduce((x, y) => x + y, 0));
      const eS = starts(eCounts), tS = starts(tCounts);
      let worst = 0;
      for (let c2 = 0; c2 < C; c2++) for (let e = 0; e < Be; e++) for (let c = 0; c < C; c++) for (let n = 0; n < Nt; n++) {
        let ref = 0, scale = 0;
        for (let s = eS[e]; s < eS[e] + eCounts[e]; s++) {
          for (let t = tS[n]; t < tS[n] + tCounts[n]; t++) {
            let dd = 0, da = 0;
            for (let o = 0; o < width; o++) { dd += dE[(c2 * nE + s) * width + o] * dT[(c * nT + t) * width + o]; da += Math.abs(dE[(c2 * nE + s) * width + o] * dT[(c * nT + t) * width + o]); }
            ref += At[t * nE + s] * dd;
            scale += Math.abs(At[t * nE + s]) * da;
          }
        }
        const err = Math.abs(got[((c2 * Be + e) * C + c) * Nt + n] - ref) / scale; // relative to Σ|terms|: float32 rounding
        worst = Math.max(worst, err);
      }
      assert.ok(worst < 1e-6, `C ${C}, width ${width}, rows ${eCounts} × ${tCounts}: error ${worst} of Σ|terms|`);
    }
  });

  it('GELU and its derivative equal the float64 formulas to 3e-7 (erf to 1.5e-7), from −12 to 12 and any length', () => {
    const erf = (x: number): number => { // float64: Maclaurin series below 3, the erfc continued fraction above
      const t = Math.abs(x);
      if (t < 3) { let sum = 0, term = t; for (let n = 0; n < 80; n++) { sum += term / (2 * n + 1); term *= -t * t / (n + 1); } return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum; }
      let f = 0; for (let k = 60; k >= 1; k--) f = k / 2 / (t + f); // erfc continued fraction
      return Math.sign(x) * (1 - Math.exp(-t * t) / Math.sqrt(Math.PI) / (t + f));
    };
    for (const n of [1, 3, 4, 7, 1001]) {
      const us = Array.from({ length: n }, (_, i) => (n === 1 ? 0.3 : -12 + (24 * i) / (n - 1)));
      const out = tf.tidy(() => { const r = wasmGeluWithGrad(tf.tensor1d(us))!; return [Array.from(r.y.dataSync()), Array.from(r.dy.dataSync())]; });
      us.forEach((u, i) => {
        const Phi = 0.5 * (1 + erf(u / Math.SQRT2));
        const y = u * Phi, dy = Phi + (u * Math.exp(-u * u / 2)) / Math.sqrt(2 * Math.PI);
        assert.ok(Math.abs(out[0][i] - y) <= 3e-7 * Math.max(1, Math.abs(y)), `GELU(${u}) = ${out[0][i]} vs ${y}`);
        assert.ok(Math.abs(out[1][i] - dy) <= 3e-7 * Math.max(1, Math.abs(dy)), `GELU'(${u}) = ${out[1][i]} vs ${dy}`);
      });
    }
  });
});

describe('engine/backend/wasm-kernels: the registered BatchMatMul and the build', function () {
  this.timeout(120_000);
  let previous: string;
  before(async () => { previous = tf.getBackend(); await initBackend('wasm'); });
  after(async () => { if (previous) await tf.setBackend(previous); });

  it('uses the fused multiply-add build where the runtime has relaxed SIMD (Node 20: via the V8 flag), else SIMD128', () => {
    assert.ok(['relaxed-simd-fma', 'simd128'].includes(wasmKernelVariant()));
    assert.equal(useWasmKernelVariant('simd128'), 'simd128');
    assert.deepEqual(Array.from(tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync())), [11]);
    useWasmKernelVariant(undefined);
  });

  it('gives the same gradients as the cpu backend through attention-shaped batched products', async () => {
    const rand = mulberry32(10);
    const q = randomArray(2 * 3 * 7 * 8, rand), k = randomArray(2 * 3 * 7 * 8, rand), w = randomArray(2 * 3 * 7 * 8, rand);
    const run = () => tf.tidy(() => {
      const [Q, Kt, W] = [q, k, w].map((x) => tf.tensor4d(x, [2, 3, 7, 8]));
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.matMul(tf.softmax(tf.matMul(a, b, false, true)), b), W));
      return tf.grads(f)([Q, Kt]).map((g) => g.dataSync() as Float32Array);
    });
    const onWasm = run();
    await tf.setBackend('cpu');
    const onCpu = run();
    await tf.setBackend('wasm');
    for (let i = 0; i < 2; i++) {
      const worst = onWasm[i].reduce((m, x, j) => Math.max(m, Math.abs(x - onCpu[i][j])), 0);
      assert.ok(worst < 1e-5, `gradient ${i}: max difference ${worst}`);
    }
  });

  it('is the registered kernel: a broadcast over an inner batch dimension gets its message', () => {
    assert.throws(() => tf.tidy(() => tf.matMul(tf.zeros([2, 1, 3, 4]), tf.zeros([1, 5, 4, 2]))),
      /wasm-kernels\/batch-matmul: batch shapes \[2,1\] and \[1,5\] broadcast over an inner dimension/);
  });

  it('the embedded modules were built from the current C files', () => {
    const dir = path.join(root, 'src/engine/backend/wasm-kernels');
    const hash = crypto.createHash('sha256');
    for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.c') || x.endsWith('.h')).sort()) hash.update(`${f}\0`).update(fs.readFileSync(path.join(dir, f))).update('\0');
    assert.equal(hash.digest('hex'), SOURCE_SHA256, 'a C file changed: run node scripts/build-wasm-kernels.mjs and commit binary.ts');
  });

  it('rebuilding the modules with clang gives the committed binary (skipped without clang ≥ 16)', function () {
    this.timeout(120_000);
    const r = spawnSync(process.execPath, [path.join(root, 'scripts/build-wasm-kernels.mjs'), '--check'], { encoding: 'utf8' });
    if (/needs clang ≥ 16/.test(r.stderr)) this.skip();
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });
});

/**
 * Run in a fresh Node process so that the heap is laid out as the test says: 2.2 GB of tensors first, so that the
 * kernel's scratch buffer (malloc'd afterwards) lies above 2³¹, where a wasm pointer read back into JavaScript as a
 * signed int32 is negative. Prints the product's largest error against the float64 double sum, and the pointer.
 */
const ABOVE_2GIB = `
const tf = require('@tensorflow/tfjs');
const { initBackend } = require('./src/engine/backend');
const { wasmStructuredProduct } = require('./src/engine/backend/wasm-kernels');
const { bind } = require('./src/engine/backend/wasm-kernels/module');
(async () => {
  await initBackend('wasm');
  const filler = tf.zeros([550e6]); // 2.2 GB
  const C = 2, width = 5, eCounts = [3, 4], tCounts = [2, 3, 1];
  const nE = 7, nT = 6;
  const r = (n, k) => Float32Array.from({ length: n }, (_, i) => Math.sin(1.7 * i + k));
  const At = r(nT * nE, 1), dE = r(C * nE * width, 2), dT = r(C * nT * width, 3);
  const got = wasmStructuredProduct(tf.tensor2d(At, [nT, nE]), tf.tensor2d(dE, [C * nE, width]), tf.tensor2d(dT, [C * nT, width]), eCounts, tCounts, C).dataSync();
  const st = (cs) => cs.map((_, i) => cs.slice(0, i).reduce((x, y) => x + y, 0));
  const eS = st(eCounts), tS = st(tCounts);
  let worst = 0;
  for (let c2 = 0; c2 < C; c2++) for (let e = 0; e < 2; e++) for (let c = 0; c < C; c++) for (let n = 0; n < 3; n++) {
    let ref = 0;
    for (let s = eS[e]; s < eS[e] + eCounts[e]; s++) for (let t = tS[n]; t < tS[n] + tCounts[n]; t++)
      for (let o = 0; o < width; o++) ref += At[t * nE + s] * dE[(c2 * nE + s) * width + o] * dT[(c * nT + t) * width + o];
    worst = Math.max(worst, Math.abs(got[((c2 * 2 + e) * C + c) * 3 + n] - ref));
  }
  console.log(JSON.stringify({ worst, scratch: bind(tf.backend()).scratch, filler: filler.size }));
})().catch((e) => { console.error(e && e.stack || e); process.exit(1); });
`;

describe('engine/backend/wasm-kernels: above 2 GiB of wasm memory (the 4 GiB heap is addressed unsigned)', function () {
  this.timeout(120_000);
  it('the fused structured product works with its scratch buffer above 2³¹ (it read its pointer as a negative offset)', () => {
    const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', '-e', ABOVE_2GIB], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { worst: number; scratch: number };
    assert.ok(out.scratch >= 2 ** 31, `the scratch buffer should lie above 2³¹ for this test to mean anything: at ${out.scratch}`);
    assert.ok(out.worst < 1e-4, `largest error against the float64 double sum: ${out.worst}`);
  });
});
