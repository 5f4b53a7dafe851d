/**
 * `npm run bench`: throughput of the engine on this machine, per tfjs backend, printed and written as JSON to
 * bench/results/<date>-<backend>.json.
 *
 * Models: the built-in model (models/ntk-mini) and a random checkpoint of bert-base shape (12 layers, 768 hidden,
 * 30,522 vocabulary; only a few timings, the SST-2 kernel time is EXTRAPOLATED from them and marked so).
 * Data: SST-2 16-shot, seed 13 (../shared/data/lm-bff/SST-2), prompt "*cls**sent_0*_It_was*mask*.*sep+*", C = 2,
 * encoded by the engine's own template compiler, as `ntk-lens kernel` does.
 *
 * Figures: matMul GFLOP/s (1024³, the floor's rate); fine-tuning steps/s (batch 8, bert-base 2; forward + backward + SGD);
 * ntk-mini's pre-training s/step (batch 32 × 128, MLM decoder over 12k words, AdamW);
 * per-example gradients/s (plain autodiff, C backward passes each); kernel entries/s (structured SGD eNTK, entries
 * N·C·M·C); peak RSS (sampled every 50 ms); and, for the built-in model on wasm, the end-to-end time of
 * `ntk-lens kernel` on the SST-2 16-shot file (32 train × (32 dev + 872 test)), with its distance from the floor
 * (one forward and C backward passes per example at the measured matMul rate).
 *
 * Decoder-only models (issue 14 §5, opt-in: about an hour each on one core): `--causal gpt2,SmolLM2-135M` runs the same
 * SST-2 16-shot SGD kernel end to end through `ntk-lens kernel` on random checkpoints of those real shapes
 * (bench/causal-sst2.ts), with its floor ratio, and writes their token counts for bench/pytorch_entk.py.
 *
 * Usage: npm run bench [-- --backends wasm,cpu,webgpu] [--skip-e2e] [--skip-base] [--skip-small] [--causal NAME,…]
 * (webgpu: a real GPU, or for a check only the software driver of scripts/setup-software-gpu.sh)
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/engine/backend';
import { wasmKernelVariant } from '../src/engine/backend/wasm-kernels';
import { promptClassifier } from '../src/engine/classifier/masked-lm-classifier';
import type { EncodedExample } from '../src/engine/classifier/batch';
import { exampleJacobian } from '../src/engine/kernel/gradients';
import { structuredNtkFn } from '../src/engine/kernel/structured-ntk';
import { loadCheckpoint, makeEncoderConfig, randomParams, type EncoderConfig, type Params } from '../src/engine/model';
import { recordingModel } from '../src/engine/model/recording';
import { loadTokenizer, type TextTokenizer } from '../src/engine/tokenize';
import { loadTaskSplits, type Example } from '../src/engine/data';
import { builtinModelDir } from '../src/engine/run/experiment';
import { compilePrompt, labelWordIds, prepareTemplate } from '../src/engine/template';
import { DEFAULT_PRETRAIN_CONFIG, Pretrainer } from '../src/engine/pretrain/loop';
import { packDocuments } from '../src/engine/pretrain/packing';
import { Rng } from '../src/engine/pretrain/rng';
import { CAUSAL_SHAPES, runCausalSst2, writeCausalSst2, type CausalSst2Figures } from './causal-sst2';

const ROOT = path.resolve(__dirname, '..');
const SST2 = path.resolve(ROOT, '../shared/data/lm-bff/SST-2');
const SPLIT = path.join(SST2, 'k-shot/16-13');
const TEMPLATE = '*cls**sent_0*_It_was*mask*.*sep+*';
const WORDS = { negative: 'terrible', positive: 'great' };

interface Args { backends: string[]; e2e: boolean; base: boolean; small: boolean; causal: string[] }
function parseArgs(argv: string[]): Args {
  const a: Args = { backends: ['wasm', 'cpu'], e2e: true, base: true, small: true, causal: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--backends') a.backends = argv[++i].split(',');
    else if (argv[i] === '--skip-e2e') a.e2e = false;
    else if (argv[i] === '--skip-base') a.base = false;
    else if (argv[i] === '--skip-small') a.small = false;
    else if (argv[i] === '--causal') a.causal = argv[++i].split(',');
    else throw new Error(`bench/run.ts: unknown option ${argv[i]}; use --backends wasm,cpu, --skip-e2e, --skip-base, --skip-small, --causal ${Object.keys(CAUSAL_SHAPES).join(',')}`);
  }
  for (const name of a.causal) {
    if (!(name in CAUSAL_SHAPES)) throw new Error(`bench/run.ts: --causal: unknown model '${name}'; use ${Object.keys(CAUSAL_SHAPES).join(', ')}`);
  }
  return a;
}

/** Peak RSS, sampled. */
class RssPeak {
  peak = process.memoryUsage().rss;
  private timer = setInterval(() => { this.peak = Math.max(this.peak, process.memoryUsage().rss); }, 50);
  stop(): number { clearInterval(this.timer); this.peak = Math.max(this.peak, process.memoryUsage().rss); return this.peak; }
}

const now = () => performance.now() / 1000;

async function matmulGflops(backend: string): Promise<number> {
  const n = backend === 'cpu' ? 256 : 1024;
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  for (let i = 0; i < 2; i++) { const c = tf.matMul(a, b); await c.data(); c.dispose(); }
  // Best of 3 rounds: on a shared machine a single round can catch a load spike and make the floor look slow.
  const iters = backend === 'cpu' ? 2 : 5;
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const t0 = now();
    for (let i = 0; i < iters; i++) { const c = tf.matMul(a, b); await c.data(); c.dispose(); } // async reads: webgpu has no sync read
    best = Math.min(best, (now() - t0) / iters);
  }
  tf.dispose([a, b]);
  return (2 * n ** 3) / best / 1e9;
}

/**
 * SST-2 kernel time extrapolated from a small run: every recorded example (train and evaluated sets once each; the
 * train×train block comes from the held gradients) at the measured seconds per example, plus the explicit
 * contraction 2·P·(N·C)·((N + M)·C) at the matMul rate (the small run contracts against few train examples, so its
 * per-example time misses most of it).
 */
function extrapolateSst2(f: ModelFigures, N: number, M: number, gflops: number): number {
  return f.secondsPerRecordedExample * (N + M) + (2 * f.parameters * (N * 2) * ((N + M) * 2)) / (gflops * 1e9);
}

/** Forward flops of one example of T tokens (dense layers, attention, MLM head restricted to C rows). */
function forwardFlops(config: EncoderConfig, T: number, C: number): number {
  const { hiddenSize: H, intermediateSize: I, numLayers: L } = config;
  return L * (2 * T * (4 * H * H + 2 * H * I) + 4 * T * T * H) + 2 * H * H + 2 * H * C;
}

/**
 * Seconds per MLM pre-training step of ntk-mini's run (`ntk-lens pretrain` defaults: batch 32 × 128 tokens, 12k
 * vocabulary, AdamW, clipping), on random token blocks (the step's cost does not depend on the text).
 */
async function pretrainStepSeconds(backend: string): Promise<number> {
  const cfg = DEFAULT_PRETRAIN_CONFIG;
  const tok = { vocabSize: 12000, padId: 0, unkId: 1, clsId: 2, sepId: 3, maskId: 4 };
  const rng = new Rng(1);
  const docs = Array.from({ length: 64 }, () => Array.from({ length: 200 }, () => 5 + rng.int(tok.vocabSize - 5)));
  const run = Pretrainer.create(cfg, tok, packDocuments(docs, cfg.maxLen, tok.clsId, tok.sepId));
  try {
    const steps = backend === 'cpu' ? 1 : 5;
    for (let i = 0; i < (backend === 'cpu' ? 1 : 3); i++) await run.trainStep(); // warm-up: the first steps are 2–6× slower
    const t0 = now();
    for (let i = 0; i < steps; i++) await run.trainStep();
    return (now() - t0) / steps;
  } finally {
    run.dispose();
  }
}

interface ModelFigures {
  model: string; random: boolean; parameters: number; backend: string;
  matmulGflops: number; stepsPerSecond: number; stepBatch: number; secondsPerRecordedExample: number; gradientsPerSecond: number; kernelEntriesPerSecond: number;
  kernelEntriesMeasured: string; pretrainSecondsPerStep?: number; sst2KernelSeconds?: number; sst2KernelSecondsIsExtrapolated?: boolean; floorSeconds?: number; floorRatio?: number;
}

async function measureModel(name: string, config: EncoderConfig, params: Params, tok: TextTokenizer | null, backend: string,
  train: EncodedExample[], evalSet: EncodedExample[], labelIds: number[], sizes: { step: number; grads: number; kTrain: number; kEval: number; batchSize?: number; form?: 'structured' }, gflops: number): Promise<ModelFigures> {
  const C = labelIds.length;
  const classify = promptClassifier(params, config, tok?.padId ?? 0, labelIds);
  const vars = [...new Set(params.values())];
  // Fine-tuning step: forward + backward of the CE loss, SGD update.
  const batch = train.slice(0, sizes.step);
  const labels = tf.oneHot(tf.tensor1d(batch.map((_, i) => i % C), 'int32'), C);
  const step = async () => {
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, classify(batch, { training: true, seed: 1 })) as tf.Scalar, vars);
    for (const v of vars) { const g = grads[v.name]; if (g) v.assign(tf.tidy(() => tf.sub(v, tf.mul(g, 1e-6)))); }
    await value.data();
    tf.dispose([value, ...Object.values(grads)]);
  };
  await step();
  console.error(`  ${name}: timing fine-tuning steps`);
  const stepRuns = backend === 'cpu' || config.numLayers > 4 ? 2 : 5;
  let t0 = now();
  for (let i = 0; i < stepRuns; i++) await step();
  const stepsPerSecond = stepRuns / (now() - t0);
  labels.dispose();
  console.error(`  ${name}: timing per-example gradients`);
  // Per-example gradients, plain autodiff (C backward passes each).
  const kp = vars.map((variable) => ({ variable }));
  const outputFn = (x: EncodedExample) => classify([x], { training: false });
  exampleJacobian(outputFn, kp, train[0], C).forEach((t) => t.dispose());
  t0 = now();
  for (let i = 0; i < sizes.grads; i++) {
    const rows = exampleJacobian(outputFn, kp, train[i % train.length], C);
    for (const t of rows) { await t.data(); t.dispose(); }
  }
  const gradientsPerSecond = sizes.grads / (now() - t0);
  console.error(`  ${name}: timing the structured kernel`);
  // Structured SGD kernel on a subset.
  const ntk = structuredNtkFn(recordingModel(params, config, tok?.padId ?? 0, { kind: 'mlm', labelIds }), kp, { kinds: ['sgd'], batchSize: sizes.batchSize, form: sizes.form });
  const kTrain = train.slice(0, sizes.kTrain);
  const kEval = evalSet.slice(0, sizes.kEval);
  t0 = now();
  await ntk(kTrain, [{ name: 'test', inputs: kEval }]);
  const kSeconds = now() - t0;
  const entries = kTrain.length * C * (kTrain.length + kEval.length) * C;
  const recorded = kTrain.length + kEval.length; // each example once (train×train comes from the held gradients)
  const P = vars.reduce((a, v) => a + v.size, 0);
  return {
    model: name, random: true, parameters: P, backend, matmulGflops: gflops, stepsPerSecond, stepBatch: batch.length, gradientsPerSecond,
    kernelEntriesPerSecond: entries / kSeconds, secondsPerRecordedExample: kSeconds / recorded, kernelEntriesMeasured: `${kTrain.length} train × (${kTrain.length} + ${kEval.length}) evaluated, C = ${C}, ${kSeconds.toFixed(2)} s`,
  };
}

function writeSpec(modelDir: string): string {
  const file = path.join(os.tmpdir(), 'ntk-lens-bench-sst2.ntk.yaml');
  fs.writeFileSync(file, [
    'task: SST-2', `data: ${SST2}`, 'shots: 16', 'seeds: [13]', `model: ${modelDir}`, 'max_length: 128', 'test_set: full',
    'kernel: {kinds: [sgd], solver: lstsq}', 'templates:', '  - name: it-was', `    template: "${TEMPLATE}"`,
    `    words: {'0': ${WORDS.negative}, '1': ${WORDS.positive}}`, '',
  ].join('\n'));
  return file;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(SPLIT)) throw new Error(`bench/run.ts: SST-2 data not found at ${SPLIT}; the benchmark needs ../shared/data/lm-bff next to the repository`);
  const smallDir = builtinModelDir('ntk-mini');
  const tok = await loadTokenizer(smallDir);
  const splits = loadTaskSplits('SST-2', SST2, { shots: 16, seed: 13 });
  const prepared = prepareTemplate(TEMPLATE, tok);
  const encode = (e: Example): EncodedExample => compilePrompt(prepared, tok, e, { maxLength: 128 });
  const train = splits.train.map(encode);
  const evals = [...splits.dev, ...splits.test].map(encode);
  const labelIds = labelWordIds(tok, [WORDS.negative, WORDS.positive]);
  const meanT = [...train, ...evals].reduce((a, x) => a + x.inputIds.length, 0) / (train.length + evals.length);
  const date = new Date().toISOString().slice(0, 10);
  fs.mkdirSync(path.join(ROOT, 'bench/results'), { recursive: true });
  // Token counts for the PyTorch comparison (bench/pytorch_entk.py --lengths).
  const lengthsFile = path.join(ROOT, 'bench/results/sst2-lengths.json');
  fs.writeFileSync(lengthsFile, JSON.stringify({ train: train.map((x) => x.inputIds.length), eval: evals.map((x) => x.inputIds.length) }));

  for (const backend of args.backends) {
    const used = await initBackend(backend as 'wasm' | 'cpu' | 'webgpu');
    const rss = new RssPeak();
    const started = now();
    const out: Record<string, unknown> = {
      date: new Date().toISOString(), backend: used, machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavg: os.loadavg(), node: process.version },
      data: { split: 'SST-2 16-13', train: train.length, evaluated: evals.length, meanTokens: meanT },
    };
    const gflops = await matmulGflops(used);
    const variant = used === 'wasm' ? ` (${wasmKernelVariant()} build of our wasm kernels)` : '';
    console.log(`\n== backend ${used}: matMul ${gflops.toFixed(1)} GFLOP/s${variant} (load ${os.loadavg().map((x) => x.toFixed(1)).join(' ')})`);
    const models: ModelFigures[] = [];
    // Built-in model.
    const cpu = used === 'cpu';
    if (args.small) {
      const ck = await loadCheckpoint(smallDir);
      const fig = await measureModel('ntk-mini', ck.config, ck.params, tok, used, train, evals, labelIds,
        cpu ? { step: 4, grads: 2, kTrain: 2, kEval: 4 } : { step: 8, grads: 8, kTrain: 16, kEval: 48 }, gflops);
      fig.random = false;
      console.error('  ntk-mini: timing pre-training steps');
      fig.pretrainSecondsPerStep = await pretrainStepSeconds(used);
      // Floor: every example once, one forward and C = 2 backward passes (each ≈ 2 forwards): 5 forwards' flops.
      const fwd = [...train, ...evals].reduce((a, x) => a + forwardFlops(ck.config, x.inputIds.length, 2), 0);
      fig.floorSeconds = (5 * fwd) / (gflops * 1e9);
      ck.params.forEach((v) => v.dispose());
      if (args.e2e && !cpu) {
        const spec = writeSpec(smallDir);
        const t0 = now();
        const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ntk-lens-bench-out-')); // fresh: the results store would reuse a finished seed
        const r = spawnSync('npx', ['tsx', 'src/engine/run/cli.ts', 'kernel', spec, '--backend', used, '--out', outDir, '--json'], { cwd: ROOT, encoding: 'utf8' });
        fs.rmSync(outDir, { recursive: true, force: true });
        const seconds = now() - t0;
        if (r.status !== 0) console.log(`ntk-lens kernel failed (exit ${r.status}):\n${r.stderr.slice(-2000)}`);
        else { fig.sst2KernelSeconds = seconds; fig.sst2KernelSecondsIsExtrapolated = false; fig.floorRatio = seconds / fig.floorSeconds; }
      } else {
        fig.sst2KernelSeconds = extrapolateSst2(fig, train.length, evals.length, gflops);
        fig.sst2KernelSecondsIsExtrapolated = true;
        fig.floorRatio = fig.sst2KernelSeconds / fig.floorSeconds;
      }
      models.push(fig);
    }
    // bert-base shape, random: a few timings, the kernel time extrapolated.
    if (args.base && !cpu) {
      const config = makeEncoderConfig({ modelType: 'bert', vocabSize: 30522 });
      const params = randomParams(config, 2);
      const ids = labelIds.map((i) => i % 30522);
      const f = await measureModel('random (bert-base shape)', config, params, null, used, train, evals, ids,
        // The structured form holds no explicit gradients: a bert-base explicit gradient (85M dense coordinates per
        // example and class) does not fit the 32-bit wasm heap next to the model more than a few times.
        { step: 2, grads: 1, kTrain: 1, kEval: 4, batchSize: 2, form: 'structured' }, gflops);
      // + the explicit per-example gradients the full run would form (2·T·C·P per example) at the matMul rate.
      const meanT = [...train, ...evals].reduce((a, x) => a + x.inputIds.length, 0) / (train.length + evals.length);
      f.sst2KernelSeconds = extrapolateSst2(f, train.length, evals.length, gflops)
        + (2 * meanT * 2 * f.parameters * (train.length + evals.length)) / (gflops * 1e9);
      f.sst2KernelSecondsIsExtrapolated = true;
      const fwdBase = [...train, ...evals].reduce((a, x) => a + forwardFlops(config, x.inputIds.length, 2), 0);
      f.floorSeconds = (5 * fwdBase) / (gflops * 1e9);
      f.floorRatio = f.sst2KernelSeconds / f.floorSeconds;
      params.forEach((v) => v.dispose());
      models.push(f);
    }
    out.models = models;
    // Decoder-only shapes, end to end (wasm only: the issue's figure; each about an hour on one core).
    if (used === 'wasm' && args.causal.length) {
      const causal: CausalSst2Figures[] = [];
      for (const name of args.causal) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ntk-lens-bench-${name}-`));
        try {
          console.error(`  ${name}: writing a random checkpoint of the real shape and the SST-2 word tokenizer`);
          const setup = await writeCausalSst2(name, dir);
          const lengths = path.join(ROOT, `bench/results/sst2-lengths-${name}.json`);
          fs.writeFileSync(lengths, JSON.stringify(setup.lengths));
          console.error(`  ${name}: ntk-lens kernel on SST-2 16-shot (32 × ${setup.lengths.eval.length}, mean ${setup.meanTokens.toFixed(1)} tokens)`);
          causal.push(runCausalSst2(name, setup, gflops));
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }
      out.causal = causal;
      for (const c of causal) {
        console.log(`${c.model} (random, real shape${c.parameters ? `, ${(c.parameters / 1e6).toFixed(1)}M params` : ''}): SST-2 16-shot SGD kernel `
          + (c.exitCode === 0 ? `${c.seconds.toFixed(0)} s measured end to end (ntk-lens kernel; kernel ${c.kernelSeconds?.toFixed(0)} s), ` : `FAILED (exit ${c.exitCode}): ${c.error}\n`)
          + `mean ${c.meanTokens.toFixed(1)} tokens, floor ${c.floorSeconds.toFixed(0)} s${c.floorRatio !== undefined ? ` → ratio ${c.floorRatio.toFixed(2)}` : ''}, peak RSS ${c.peakRssMB?.toFixed(0)} MB`);
        console.log(`  PyTorch peer: /usr/bin/python3 bench/pytorch_entk.py --family ${CAUSAL_SHAPES[c.model].spec.modelType === 'gpt2' ? 'gpt2' : 'llama'} `
          + `--threads 1 --lengths bench/results/sst2-lengths-${c.model}.json (and the shape flags in its docstring)`);
      }
    }
    out.peakRssMB = rss.stop() / 2 ** 20;
    out.seconds = now() - started;
    for (const m of models) {
      console.log(`${m.model} (${(m.parameters / 1e6).toFixed(1)}M params): ${m.stepsPerSecond.toFixed(2)} steps/s (batch ${m.stepBatch}), `
        + `${m.gradientsPerSecond.toFixed(2)} per-example gradients/s, ${m.kernelEntriesPerSecond.toFixed(0)} kernel entries/s [${m.kernelEntriesMeasured}]`);
      if (m.pretrainSecondsPerStep) console.log(`  pre-training (ntk-lens pretrain defaults, batch 32 × 128, 12k vocabulary): ${m.pretrainSecondsPerStep.toFixed(2)} s/step`);
      console.log(`  SST-2 16-shot kernel (32 × 904, C = 2): ${m.sst2KernelSeconds?.toFixed(1)} s${m.sst2KernelSecondsIsExtrapolated ? ' (EXTRAPOLATED: s per recorded example × (N + M) + contraction flops at the matMul rate)' : ' (measured end to end: ntk-lens kernel)'}; `
        + `floor ${m.floorSeconds?.toFixed(1)} s → ratio ${m.floorRatio?.toFixed(2)}`);
    }
    console.log(`peak RSS ${(out.peakRssMB as number).toFixed(0)} MB`);
    // A causal-only run (--skip-small --skip-base --causal …) names its models, so that runs of different models in
    // parallel processes (one core each) do not overwrite one another's file.
    const only = !args.small && !args.base && args.causal.length ? `-${args.causal.join('+')}` : '';
    const file = path.join(ROOT, `bench/results/${date}-${used}${only}.json`);
    fs.writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
    console.log(`written ${path.relative(ROOT, file)}`);
    if ((out.causal as CausalSst2Figures[] | undefined)?.some((c) => c.exitCode !== 0)) process.exitCode = 1; // a failed kernel run is a failed bench, not a figure
  }
  console.log(`PyTorch comparison (same shape, SST-2 token counts): /usr/bin/python3 bench/pytorch_entk.py --threads 1 --lengths ${path.relative(ROOT, lengthsFile)} `
    + '--hidden H --heads NH --intermediate I --layers L --vocab V (the built-in model\'s config.json)');
}

main().catch((e) => { console.error(e instanceof Error ? e.stack ?? e.message : e); process.exit(1); });
