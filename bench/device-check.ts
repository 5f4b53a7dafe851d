/**
 * The GPU device check (docs: shared/docs/tfjs-backends.md §3.6), one entry point for bench/device-check.sh:
 *   1. probe:  the WebGPU adapter (vendor, architecture) and the limits the engine depends on;
 *   2. checks: the engine on webgpu against the cpu reference (tiny BERT gradients, eNTK blocks of the three kinds,
 *              the tfjs split-K transposeB bug and our mmBT, transpose2d past the dispatch limit);
 *   3. bench:  matMul 1024³ GFLOP/s, BERT-tiny (§2.3: 4.4 M parameters, batch 8×64, 8 masks each) forward and
 *              forward+backward ms, and the SGD eNTK of 16 examples × 2 label words, on webgpu and on wasm (baseline
 *              on the same machine), with the largest difference between the two kernels.
 * Prints one line per result and writes everything as JSON to `--out FILE`. `--quick` shrinks the bench (for a
 * run on a software driver). Exit code 1 when a check fails.
 *
 * Run: npx tsx bench/device-check.ts [--quick] [--out FILE]   (or the esbuild bundle made by
 * scripts/prepare-device-bundle.sh, with --wasm-dir pointing at the tfjs-backend-wasm .wasm files).
 */
import { promises as fs } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { initBackend, mmBT, sumPairwise, transpose2d } from '../src/engine/backend';
import type { EncodedExample } from '../src/engine/classifier/batch';
import { promptClassifier } from '../src/engine/classifier/masked-lm-classifier';
import { empiricalNtkFn, type KernelKind, type KernelResult } from '../src/engine/kernel';
import {
  disposeParams, encode, hiddenAt, makeEncoderConfig, mlmLogits, randomParams, type EncoderConfig,
} from '../src/engine/model';

type Backend = 'cpu' | 'wasm' | 'webgpu';
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const argValue = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const report: Record<string, unknown> = { quick, node: process.version, started: new Date().toISOString() };
let failures = 0;

function line(text: string): void {
  console.log(`device-check: ${text}`);
}

function record(section: string, name: string, value: unknown): void {
  const s = (report[section] ??= {}) as Record<string, unknown>;
  s[name] = value;
}

function check(name: string, ok: boolean, detail: string): void {
  if (!ok) failures++;
  record('checks', name, { ok, detail });
  line(`${ok ? 'OK  ' : 'FAIL'} ${name}: ${detail}`);
}

function relativeL2(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < expected.length; i++) {
    d += (actual[i] - expected[i]) ** 2;
    n += expected[i] ** 2;
  }
  return Math.sqrt(d / n);
}

function seeded(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a / 2 ** 31 - 1;
  });
}

async function use(backend: Backend): Promise<void> {
  await initBackend(backend);
}

// ---- 1. probe -------------------------------------------------------------------------------------------------------
async function probe(): Promise<void> {
  await use('webgpu');
  const gpu = (globalThis as unknown as { navigator: { gpu: { requestAdapter(): Promise<GPUAdapterLike | null> } } }).navigator.gpu;
  const adapter = await gpu.requestAdapter();
  const info = adapter?.info ?? {};
  const limits = adapter?.limits ?? {};
  const keys = ['maxStorageBufferBindingSize', 'maxBufferSize', 'maxStorageBuffersPerShaderStage',
    'maxComputeWorkgroupsPerDimension', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup'];
  const picked = Object.fromEntries(keys.map((k) => [k, (limits as Record<string, number>)[k]]));
  const adapterInfo = { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description };
  record('probe', 'adapter', adapterInfo);
  record('probe', 'limits', picked);
  record('probe', 'features', adapter ? [...adapter.features] : []);
  line(`adapter ${JSON.stringify(adapterInfo)}`);
  line(`limits ${JSON.stringify(picked)}`);
}

interface GPUAdapterLike {
  info: { vendor?: string; architecture?: string; device?: string; description?: string };
  limits: object;
  features: Set<string>;
}

// ---- 2. checks ------------------------------------------------------------------------------------------------------
const tinyConfig: EncoderConfig = makeEncoderConfig({
  modelType: 'bert', vocabSize: 120, hiddenSize: 32, numLayers: 2, numHeads: 4, intermediateSize: 48, maxPositions: 24,
});

async function tinyGradients(backend: Backend): Promise<Map<string, Float32Array>> {
  await use(backend);
  const params = randomParams(tinyConfig, 17);
  const inputIds = tf.tensor2d([[2, 5, 6, 7, 8, 3], [2, 9, 10, 3, 0, 0]], undefined, 'int32');
  const attentionMask = tf.tensor2d([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]], undefined, 'int32');
  const targets = tf.oneHot(tf.tensor1d([40, 41], 'int32'), tinyConfig.vocabSize);
  try {
    const { value, grads } = tf.variableGrads(() => {
      const h = encode(params, tinyConfig, { inputIds, attentionMask }, { training: true, seed: 5 });
      const atMask = hiddenAt(h, [2, 1]);
      const ce = tf.losses.softmaxCrossEntropy(targets, mlmLogits(params, tinyConfig, atMask));
      return tf.add(ce, tf.mean(mlmLogits(params, tinyConfig, atMask, [3, 4]))) as tf.Scalar;
    }, [...params.values()]);
    value.dispose();
    const out = new Map<string, Float32Array>();
    for (const [name, v] of params) out.set(name, (await grads[v.name].data()) as Float32Array);
    tf.dispose(grads);
    return out;
  } finally {
    tf.dispose([inputIds, attentionMask, targets]);
    disposeParams(params);
  }
}

const ex = (ids: number[], maskPos: number): EncodedExample => ({ inputIds: ids, tokenTypeIds: ids.map(() => 0), maskPos });

async function kernels(backend: Backend, config: EncoderConfig, train: EncodedExample[], dev: EncodedExample[],
  kinds: KernelKind[], labelIds: number[]): Promise<{ result: KernelResult; seconds: number }> {
  await use(backend);
  const params = randomParams(config, 23);
  try {
    const f = promptClassifier(params, config, config.padTokenId, labelIds);
    const vars = [...params.entries()].filter(([n]) => !n.endsWith('attention.self.key.bias')).map(([, v]) => v);
    const ntk = empiricalNtkFn((x: EncodedExample) => f([x], { training: false }), vars, { kinds });
    const t0 = performance.now();
    const result = await ntk(train, dev.length ? [{ name: 'dev', inputs: dev }] : []);
    return { result, seconds: (performance.now() - t0) / 1000 };
  } finally {
    disposeParams(params);
  }
}

function maxRelative(a: KernelResult, b: KernelResult): number {
  let worst = 0;
  for (const kind of Object.keys(b) as KernelKind[]) {
    for (const [block, ref] of Object.entries(b[kind]!)) {
      const got = a[kind]![block];
      const scale = Math.max(...Array.from(ref.data, Math.abs));
      for (let i = 0; i < ref.data.length; i++) worst = Math.max(worst, Math.abs(got.data[i] - ref.data[i]) / scale);
    }
  }
  return worst;
}

async function checks(): Promise<void> {
  const gpu = await tinyGradients('webgpu');
  const cpu = await tinyGradients('cpu');
  let worst = 0;
  for (const [name, g] of cpu) if (!name.endsWith('attention.self.key.bias')) worst = Math.max(worst, relativeL2(gpu.get(name)!, g));
  check('tiny BERT gradients, worst relative L2 vs cpu', worst <= 1e-4, worst.toExponential(2));

  const train = [ex([2, 9, 4, 1, 3], 3), ex([2, 8, 8, 1, 11, 3], 3), ex([2, 12, 1, 3], 2)];
  const dev = [ex([2, 14, 15, 1, 3], 3)];
  const kinds: KernelKind[] = ['sgd', 'signgd', 'asymmetric-signgd'];
  const kg = await kernels('webgpu', tinyConfig, train, dev, kinds, [5, 6, 7]);
  const kc = await kernels('cpu', tinyConfig, train, dev, kinds, [5, 6, 7]);
  const err = maxRelative(kg.result, kc.result);
  check('tiny BERT eNTK (3 kinds), max |Δ|/max|K| vs cpu', err <= 1e-4, err.toExponential(2));

  for (const [rows, inner] of [[16, 4096], [8, 8192], [32, 2048]]) {
    const a = seeded(rows * inner, 1);
    const b = seeded(rows * inner, 2);
    await use('cpu');
    const ref = tf.matMul(tf.tensor2d(a, [rows, inner]), tf.tensor2d(b, [rows, inner]), false, true);
    const expected = (await ref.data()) as Float32Array;
    await use('webgpu');
    const [A, B] = [tf.tensor2d(a, [rows, inner]), tf.tensor2d(b, [rows, inner])];
    const raw = tf.matMul(A, B, false, true);
    const ours = mmBT(A, B);
    const [r, o] = [await raw.data(), await ours.data()];
    tf.dispose([A, B, raw, ours]);
    const rawErr = relativeL2(r, expected);
    record('checks', `split-K transposeB raw [${rows},${inner}]`, rawErr);
    line(`info tf.matMul(a, b, false, true) [${rows},${inner}]: relative L2 ${rawErr.toExponential(2)} (tfjs bug when > 0.1)`);
    check(`mmBT [${rows},${inner}] vs cpu`, relativeL2(o, expected) <= 1e-5, relativeL2(o, expected).toExponential(2));
  }

  const cols = 16 * 65535 + 16;
  const x = tf.tensor2d(seeded(2 * cols, 3), [2, cols]);
  let rawThrows = false;
  try { tf.transpose(x).dispose(); } catch { rawThrows = true; }
  const t = transpose2d(x);
  const [xs, ts] = [await x.data(), await t.data()];
  tf.dispose([x, t]);
  let exact = true;
  for (let j = 0; j < cols; j++) if (ts[2 * j] !== xs[j] || ts[2 * j + 1] !== xs[cols + j]) { exact = false; break; }
  line(`info tf.transpose [2, ${cols}] throws: ${rawThrows}`);
  check(`transpose2d [2, ${cols}]`, exact, exact ? 'exact' : 'differs');
}

// ---- 3. bench -------------------------------------------------------------------------------------------------------
async function matmulGflops(backend: Backend): Promise<number> {
  await use(backend);
  const n = quick ? 512 : 1024;
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  const once = async () => { const c = tf.matMul(a, b); await c.data(); c.dispose(); };
  for (let i = 0; i < 3; i++) await once();
  const iters = quick ? 3 : 10;
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) await once();
  const s = (performance.now() - t0) / 1000;
  tf.dispose([a, b]);
  return (2 * n ** 3 * iters) / s / 1e9;
}

/** BERT-tiny of §2.3: V 30 522, H 128, 2 layers × 4 heads, FFN 512, tied decoder; 4 416 442 parameters. */
const benchConfig: EncoderConfig = makeEncoderConfig({
  modelType: 'bert', vocabSize: 30522, hiddenSize: 128, numLayers: 2, numHeads: 4, intermediateSize: 512,
  maxPositions: 512, hiddenDropout: 0, attentionDropout: 0,
});

async function bertStep(backend: Backend): Promise<{ fwdMs: number; fwdBwdMs: number }> {
  await use(backend);
  const params = randomParams(benchConfig, 1);
  const [B, T, M] = quick ? [2, 32, 4] : [8, 64, 8];
  const ids = Int32Array.from({ length: B * T }, (_, i) => 1000 + ((i * 7919) % 20000));
  const inputIds = tf.tensor2d(ids, [B, T], 'int32');
  const attentionMask = tf.ones([B, T], 'int32') as tf.Tensor2D;
  const positions = Array.from({ length: B * M }, (_, i) => Math.floor(i / M) * T + ((i % M) * 7) % T); // flat [B·M]
  const targets = tf.oneHot(tf.tensor1d(positions.map((p) => 2000 + p), 'int32'), benchConfig.vocabSize);
  const loss = () => {
    const h = encode(params, benchConfig, { inputIds, attentionMask }, { training: false }); // [B, T, H]
    const flat = tf.reshape(h, [B * T, benchConfig.hiddenSize]);
    const atMask = tf.gather(flat, tf.tensor1d(positions, 'int32')) as tf.Tensor2D; // [B·M, H]
    return tf.losses.softmaxCrossEntropy(targets, mlmLogits(params, benchConfig, atMask)) as tf.Scalar; // [B·M, V]
  };
  const fwd = async () => { const l = tf.tidy(loss); await l.data(); l.dispose(); };
  const fwdBwd = async () => {
    const { value, grads } = tf.variableGrads(loss, [...params.values()]);
    // one scalar from the loss and every gradient, so that the read waits for all of them (never tf.addN on webgpu)
    const total = tf.tidy(() => sumPairwise([value, ...Object.values(grads).map((g) => tf.sum(g))]));
    await total.data();
    tf.dispose([value, total, ...Object.values(grads)]);
  };
  const time = async (f: () => Promise<void>, iters: number) => {
    await f(); // warm-up: shader compilation
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) await f();
    return (performance.now() - t0) / iters;
  };
  try {
    return { fwdMs: await time(fwd, quick ? 1 : 5), fwdBwdMs: await time(fwdBwd, quick ? 1 : 5) };
  } finally {
    tf.dispose([inputIds, attentionMask, targets]);
    disposeParams(params);
  }
}

async function ntkBench(backend: Backend): Promise<{ result: KernelResult; seconds: number }> {
  const n = quick ? 4 : 16;
  const train = Array.from({ length: n }, (_, i) => ex([101, 1000 + i, 2000 + 3 * i, 103, 3000 + i, 102], 3));
  return kernels(backend, benchConfig, train, [], ['sgd'], [2023, 2024]);
}

async function bench(): Promise<void> {
  const wasmDir = argValue('--wasm-dir');
  if (wasmDir) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require('@tensorflow/tfjs-backend-wasm') as { setWasmPaths(p: string): void }).setWasmPaths(wasmDir.endsWith('/') ? wasmDir : `${wasmDir}/`);
  }
  for (const backend of ['webgpu', 'wasm'] as Backend[]) {
    const g = await matmulGflops(backend);
    record('bench', `${backend} matMul GFLOP/s`, g);
    line(`bench ${backend} matMul ${quick ? 512 : 1024}³: ${g.toFixed(1)} GFLOP/s`);
    const s = await bertStep(backend);
    record('bench', `${backend} BERT-tiny ms`, s);
    line(`bench ${backend} BERT-tiny fwd ${s.fwdMs.toFixed(0)} ms, fwd+bwd ${s.fwdBwdMs.toFixed(0)} ms per batch`);
  }
  const kg = await ntkBench('webgpu');
  const kw = await ntkBench('wasm');
  const err = maxRelative(kg.result, kw.result);
  const k00 = kg.result.sgd!.train.data[0];
  record('bench', 'eNTK seconds', { webgpu: kg.seconds, wasm: kw.seconds, K00: k00 });
  line(`bench eNTK (sgd, ${quick ? 4 : 16} examples × 2 words, P = 4.4 M): webgpu ${kg.seconds.toFixed(1)} s, wasm ${kw.seconds.toFixed(1)} s; K00 ${k00.toFixed(3)}`);
  check('BERT-tiny eNTK webgpu vs wasm, max |Δ|/max|K|', err <= 1e-4, err.toExponential(2));
}

async function main(): Promise<void> {
  const started = performance.now();
  const steps: [string, () => Promise<void>][] = [['probe', probe], ['checks', checks], ['bench', bench]];
  for (const [name, step] of steps) {
    if (args.includes(`--skip-${name}`)) continue;
    const t0 = performance.now();
    try {
      await step();
    } catch (e) {
      failures++;
      record('errors', name, String((e as Error).stack ?? e));
      line(`FAIL ${name} threw: ${(e as Error).message}`);
      if (name === 'probe') break; // no adapter: nothing else can run
    }
    line(`${name} took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  report.seconds = (performance.now() - started) / 1000;
  report.failures = failures;
  const out = argValue('--out');
  if (out) await fs.writeFile(out, JSON.stringify(report, null, 2));
  line(`${failures === 0 ? 'all checks passed' : `${failures} failure(s)`} in ${(report.seconds as number).toFixed(1)} s`);
}

main().then(() => process.exit(failures === 0 ? 0 : 1), (e) => { console.error(e); process.exit(2); });
