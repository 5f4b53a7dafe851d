/**
 * `ntk-lens pretrain` / `npm run pretrain`: builds the corpus and vocabulary (once), then pre-trains ntk-mini,
 * resuming from the last checkpoint in the work folder when there is one.
 *
 *   ntk-lens pretrain [--data ../shared/data] [--work .cache/pretrain] [--out models/ntk-mini]
 *                     [--backend wasm] [--max-steps N] [--max-minutes M] [--checkpoint-minutes 5]
 *                     [--log-every 10] [--eval-every 100] [--prepare-only] [--init <checkpoint or work folder>]
 *                     [--layers 4 --hidden 128 --heads 2 --intermediate 512 --vocab 12000 --max-len 128
 *                      --batch 32 --lr 5e-4 --warmup 300 --total-steps 6000 --seed 20230601]
 *
 * Files in the work folder: run-config.json (the run's settings, fixed at the first start), tokenizer.json,
 * blocks-T<maxLen>/ (packed data), ckpt/ (checkpoints, see train-state.ts), loss.jsonl (one line per logged step),
 * eval.jsonl (held-out loss every --eval-every steps, SST-2 zero-shot at every checkpoint), and the process's
 * own output when started as in models/ntk-mini/RECIPE.md (log.txt). SIGINT/SIGTERM save a checkpoint first.
 *
 * `--init` starts a new run (a new --work folder) from the weights of another run's checkpoint, with fresh AdamW
 * moments and this run's own schedule: a second stage. It takes that run's tokenizer.json, so the blocks are the same.
 *
 * Not an entry point: `ntk-lens pretrain` (src/engine/run/cli.ts) and scripts/pretrain.ts call `pretrainMain`. (A
 * `require.main === module` check here fired inside the esbuild bundle dist/cli.js, where every module is the main
 * module, and ran pretrain a second time with the whole command line.)
 */
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend';
import { saveCheckpoint } from '../model';
import { getTask, loadSplitFile } from '../data';
import { prepareData } from './dataset';
import { DEFAULT_PRETRAIN_CONFIG, Pretrainer, encoderConfigFor, maskingOptions, type PretrainConfig, type PreviousStage } from './loop';
import { heldOutMlm, unigramEntropy, zeroShotPrompt, type MlmEval, type PromptEval } from './evaluate';
import { latestCheckpointDir, loadLatestTrainCheckpoint, loadTrainCheckpoint, saveTrainCheckpoint } from './train-state';
import { modelCard } from './model-card';

/** LM-BFF's SST-2 template; label words terrible (0) / great (1). */
export const SST2_TEMPLATE = '*cls**sent_0*_It_was*mask*.*sep+*';

export const PRETRAIN_USAGE = `ntk-lens pretrain [options]: masked-LM pre-training of a small BERT (the built-in model ntk-mini)

Where:
  --data DIR              ../shared/data (corpus/ and lm-bff/ pool text)
  --work DIR              .cache/pretrain: vocabulary, packed blocks, checkpoints, logs; a restart resumes from here
  --out DIR               models/ntk-mini: the exported model (config.json, model.safetensors, tokenizer.json, card)
  --init DIR              start a new run (new --work folder) from another run's last weights, with this run's schedule
How long:
  --max-steps N  --max-minutes M  --checkpoint-minutes 5  --log-every 10  --eval-every 100  --prepare-only
  --export-only           write the latest checkpoint's model and card to --out again, without training
Model and schedule (fixed at a run's first start, in <work>/run-config.json):
  --layers 4 --hidden 128 --heads 2 --intermediate 512 --vocab 12000 --max-len 128 --dropout 0
  --batch 32 --lr 5e-4 --warmup 300 --total-steps 6000 --weight-decay 0.01 --seed 20230601
  --backend wasm|cpu|webgpu|tensorflow|auto
SIGINT/SIGTERM save a checkpoint, then stop.`;

interface CliOptions {
  data: string;
  work: string;
  out: string;
  backend: 'wasm' | 'cpu' | 'auto' | 'webgpu' | 'tensorflow';
  maxSteps?: number;
  maxMinutes?: number;
  checkpointMinutes: number;
  logEvery: number;
  evalEvery: number;
  prepareOnly: boolean;
  exportOnly: boolean;
  help: boolean;
  /** A checkpoint folder (ckpt/step-…) or a work folder whose latest checkpoint a new run starts from. */
  init?: string;
  /** Only settings given on the command line; the rest come from run-config.json or the defaults. */
  cfg: Partial<PretrainConfig>;
}

const BACKENDS: CliOptions['backend'][] = ['wasm', 'cpu', 'auto', 'webgpu', 'tensorflow'];

const CFG_FLAGS: Record<string, keyof PretrainConfig> = {
  '--layers': 'numLayers', '--hidden': 'hiddenSize', '--heads': 'numHeads', '--intermediate': 'intermediateSize',
  '--max-len': 'maxLen', '--batch': 'batchSize', '--lr': 'learningRate', '--warmup': 'warmupSteps',
  '--total-steps': 'totalSteps', '--seed': 'seed', '--weight-decay': 'weightDecay', '--dropout': 'dropout',
};

export function parsePretrainArgs(argv: string[], cwd = process.cwd()): CliOptions & { vocab?: number } {
  const o: CliOptions & { vocab?: number } = {
    data: path.resolve(cwd, '../shared/data'), work: path.resolve(cwd, '.cache/pretrain'), out: path.resolve(cwd, 'models/ntk-mini'),
    backend: 'wasm', checkpointMinutes: 5, logEvery: 10, evalEvery: 100, prepareOnly: false, exportOnly: false, help: false, cfg: {},
  };
  const num = (flag: string, v: string | undefined): number => {
    const x = Number(v);
    if (v === undefined || !Number.isFinite(x)) throw new Error(`pretrain: ${flag} needs a number (got ${v === undefined ? 'nothing' : JSON.stringify(v)})`);
    return x;
  };
  const folder = (flag: string, v: string | undefined): string => {
    if (v === undefined || v.startsWith('--')) throw new Error(`pretrain: ${flag} needs a folder`);
    return path.resolve(cwd, v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    switch (a) {
      case '--data': o.data = folder(a, v); i++; break;
      case '--work': o.work = folder(a, v); i++; break;
      case '--out': o.out = folder(a, v); i++; break;
      case '--backend':
        if (!BACKENDS.includes(v as CliOptions['backend'])) throw new Error(`pretrain: --backend needs one of ${BACKENDS.join(', ')} (got ${v === undefined ? 'nothing' : JSON.stringify(v)})`);
        o.backend = v as CliOptions['backend']; i++; break;
      case '--max-steps': o.maxSteps = num(a, v); i++; break;
      case '--max-minutes': o.maxMinutes = num(a, v); i++; break;
      case '--checkpoint-minutes': o.checkpointMinutes = num(a, v); i++; break;
      case '--log-every': o.logEvery = num(a, v); i++; break;
      case '--eval-every': o.evalEvery = num(a, v); i++; break;
      case '--vocab': o.vocab = num(a, v); i++; break;
      case '--prepare-only': o.prepareOnly = true; break;
      case '--export-only': o.exportOnly = true; break;
      case '--init': o.init = folder(a, v); i++; break;
      case '--help': case '-h': o.help = true; break;
      default:
        if (a in CFG_FLAGS) { (o.cfg as Record<string, number>)[CFG_FLAGS[a]] = num(a, v); i++; break; }
        throw new Error(`pretrain: unknown option ${a}; see ntk-lens pretrain --help`);
    }
  }
  return o;
}

/** Keeps only the lines of a .jsonl log with step ≤ `step` (a resumed run rewrites what came after its checkpoint). */
function truncateLog(file: string, step: number): void {
  if (!fs.existsSync(file)) return;
  const kept = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() && (JSON.parse(l) as { step: number }).step <= step);
  fs.writeFileSync(file, kept.map((l) => `${l}\n`).join(''));
}

/**
 * The checkpoint folder and the tokenizer of the run that `--init` names: a checkpoint folder (step-…), a ckpt/
 * folder, or a work folder, whose latest complete checkpoint is taken.
 */
export function resolveInit(init: string): { checkpointDir: string; tokenizerFile: string } {
  const checkpointDir = fs.existsSync(path.join(init, 'state.json')) ? init : latestCheckpointDir(init) ?? latestCheckpointDir(path.join(init, 'ckpt'));
  if (!checkpointDir) throw new Error(`pretrain: --init ${init} is not a checkpoint folder (no state.json) and holds no latest.json or ckpt/latest.json`);
  const work = path.basename(path.dirname(checkpointDir)) === 'ckpt' ? path.dirname(path.dirname(checkpointDir)) : path.dirname(checkpointDir);
  const tokenizerFile = path.join(work, 'tokenizer.json');
  if (!fs.existsSync(tokenizerFile)) throw new Error(`pretrain: --init ${init}: the run's vocabulary ${tokenizerFile} is missing; a continued run must use the same tokenizer`);
  return { checkpointDir, tokenizerFile };
}

/** Refuses to start while another live process trains in the same work folder (pid.txt), then records this one. */
function claimWorkFolder(work: string): void {
  const pidFile = path.join(work, 'pid.txt');
  const other = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8').trim()) : NaN;
  if (Number.isInteger(other) && other !== process.pid) {
    let alive = false;
    try { process.kill(other, 0); alive = true; } catch { /* no such process */ }
    if (alive) throw new Error(`pretrain: process ${other} (${pidFile}) is already training in ${work}; stop it first (kill -TERM ${other} saves a checkpoint) or use another --work folder`);
  }
  fs.writeFileSync(pidFile, `${process.pid}\n`);
}

function sst2Test(dataDir: string): { textA: string; label: number }[] | undefined {
  const file = path.join(dataDir, 'lm-bff', 'SST-2', 'k-shot', '16-42', 'test.tsv');
  if (!fs.existsSync(file)) return undefined;
  const task = getTask('SST-2');
  return loadSplitFile(task, file).examples.map((e) => ({ textA: e.textA, label: task.labels.indexOf(e.label) }));
}

/** Entry point of `ntk-lens pretrain`; resolves when the run stops (max steps/minutes, total steps, or a signal). */
export async function pretrainMain(argv: string[]): Promise<void> {
  const opts = parsePretrainArgs(argv);
  if (opts.help) {
    console.log(PRETRAIN_USAGE);
    return;
  }
  const log = (line: string): void => console.log(`[${new Date().toISOString()}] ${line}`);
  fs.mkdirSync(opts.work, { recursive: true });

  // Settings: fixed at the first start (run-config.json); later runs must not change them.
  const runConfigFile = path.join(opts.work, 'run-config.json');
  const saved = fs.existsSync(runConfigFile) ? JSON.parse(fs.readFileSync(runConfigFile, 'utf8')) as { cfg: PretrainConfig; vocabSize: number; init?: string } : undefined;
  const cfg: PretrainConfig = { ...DEFAULT_PRETRAIN_CONFIG, ...saved?.cfg, ...opts.cfg };
  const vocabSize = opts.vocab ?? saved?.vocabSize ?? 12000;
  if (saved) {
    const changed = Object.keys(opts.cfg).filter((k) => (opts.cfg as Record<string, unknown>)[k] !== (saved.cfg as unknown as Record<string, unknown>)[k]);
    if (opts.init !== undefined && opts.init !== saved.init) changed.push('init');
    if (changed.length > 0 || vocabSize !== saved.vocabSize) {
      throw new Error(`pretrain: ${runConfigFile} fixes this run's settings; ${[...changed, ...(vocabSize !== saved.vocabSize ? ['vocab'] : [])].join(', ')} differ. Drop those options to resume, or use another --work folder for a new run.`);
    }
  }
  // The run this one continues (--init), needed only at its start: for its vocabulary and its weights.
  const initDir = opts.init ?? saved?.init;
  if (!saved) {
    if (initDir) {
      // The same vocabulary as the run continued from (prepareData keeps a tokenizer.json it finds).
      const { tokenizerFile } = resolveInit(initDir);
      const own = path.join(opts.work, 'tokenizer.json');
      if (fs.existsSync(own) && fs.readFileSync(own, 'utf8') !== fs.readFileSync(tokenizerFile, 'utf8')) {
        throw new Error(`pretrain: ${own} differs from ${tokenizerFile}, the vocabulary of the run --init continues; use an empty --work folder`);
      }
      fs.copyFileSync(tokenizerFile, own);
    }
    fs.writeFileSync(runConfigFile, JSON.stringify({ cfg, vocabSize, ...(opts.init ? { init: opts.init } : {}) }, null, 2));
  }

  const data = await prepareData({ dataDir: opts.data, workDir: opts.work, vocabSize, maxLen: cfg.maxLen, log });
  log(`data: ${data.train.count} train blocks, ${data.heldOut.count} held-out blocks of ${cfg.maxLen} tokens; vocabulary ${data.tokenizer.vocabSize}`);
  if (opts.prepareOnly) return;
  claimWorkFolder(opts.work);

  const backend = await initBackend(opts.backend);
  const ckptRoot = path.join(opts.work, 'ckpt');
  const resume = loadLatestTrainCheckpoint(ckptRoot);
  const tok = data.tokenizer;
  const startDir = initDir && !resume ? resolveInit(initDir).checkpointDir : undefined; // a resume holds the weights already
  const run = Pretrainer.create(cfg, tok, data.train, resume, startDir ? { from: startDir, checkpoint: loadTrainCheckpoint(startDir) } : undefined);
  const lossLog = path.join(opts.work, 'loss.jsonl');
  const evalLog = path.join(opts.work, 'eval.jsonl');
  if (resume) {
    truncateLog(lossLog, run.step);
    truncateLog(evalLog, run.step);
    log(`resumed from ${ckptRoot} at step ${run.step} (epoch ${resume.state.epoch}, block ${resume.state.cursor}), backend ${backend}`);
  } else {
    log(`new run: ${JSON.stringify(cfg)}${startDir ? `, starting from the weights of ${startDir}` : ''}; backend ${backend}`);
  }
  const nParams = [...run.params.values()].reduce((s, v) => s + v.size, 0);
  const exportConfig = encoderConfigFor(cfg, tok, 0.1);
  const masking = maskingOptions(cfg, tok);
  const sst2 = sst2Test(opts.data);
  const plateau = unigramEntropy(data.train, masking.specialIds);

  // The first SIGINT/SIGTERM stops after a checkpoint; copies within a second are the same signal (wrappers such as
  // npx and tsx relay Ctrl-C again); a later one quits at once, as the default handler did.
  let stop = false;
  let stopAt = 0;
  const onSignal = (sig: 'SIGINT' | 'SIGTERM'): void => {
    if (!stop) {
      stop = true;
      stopAt = Date.now();
      log(`${sig}: saving a checkpoint, then stopping (again to quit at once, without it)`);
    } else if (Date.now() - stopAt > 1000) {
      log(`${sig} again: quitting without a checkpoint`);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
  };
  const onInt = (): void => onSignal('SIGINT');
  const onTerm = (): void => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    let lastHeldOut: MlmEval | undefined;
    let recent: number[] = [];
    const evaluateHeldOut = async (): Promise<MlmEval> => {
      lastHeldOut = await heldOutMlm(run.params, run.config, data.heldOut, masking, { maxBlocks: 64 });
      return lastHeldOut;
    };

    let lastZeroShot = 0;
    type History = { step: number; heldOutLoss: number; heldOutAccuracy: number; sst2ZeroShot?: number }[];
    /** Writes the usable model (F16) beside its tokenizer and card into --out; returns the weights' size. */
    const exportModel = async (held: MlmEval, zsLast: (PromptEval & { step: number }) | undefined, history: History): Promise<number> => {
      await saveCheckpoint(opts.out, exportConfig, run.params, { dtype: 'F16' });
      fs.copyFileSync(data.tokenizerFile, path.join(opts.out, 'tokenizer.json'));
      const weightsBytes = fs.statSync(path.join(opts.out, 'model.safetensors')).size;
      const emb = tok.vocabSize * cfg.hiddenSize + cfg.maxLen * cfg.hiddenSize + 2 * cfg.hiddenSize;
      fs.writeFileSync(path.join(opts.out, 'README.md'), modelCard({
        cfg, vocabSize: tok.vocabSize, parameters: nParams, nonEmbeddingParameters: nParams - emb, weightsBytes,
        step: run.step, tokensSeen: run.tokensSeen, trainSeconds: run.trainSeconds, trainBlocks: data.train.count,
        heldOutBlocks: data.heldOut.count, secondsPerStep: (run.extra.secondsPerStep as number | undefined) ?? 0,
        backend: (run.extra.backend as string | undefined) ?? backend, heldOut: held, sst2ZeroShot: zsLast, history,
        date: new Date().toISOString().slice(0, 10), previous: run.extra.previous as PreviousStage | undefined, unigramEntropy: plateau,
      }));
      return weightsBytes;
    };

    const checkpoint = async (final = false): Promise<void> => {
      const t0 = Date.now();
      const held = lastHeldOut && (run.extra.heldOutStep === run.step) ? lastHeldOut : await evaluateHeldOut();
      // SST-2 zero-shot (872 forward passes) at most every 30 minutes, and at the end of the run.
      let zs: PromptEval | undefined;
      if (sst2 && (final || Date.now() - lastZeroShot > 30 * 60_000)) {
        zs = await zeroShotPrompt(run.params, run.config, tok, sst2, SST2_TEMPLATE, ['terrible', 'great']);
        lastZeroShot = Date.now();
        run.extra.sst2ZeroShot = { step: run.step, ...zs };
      }
      const zsLast = run.extra.sst2ZeroShot as (PromptEval & { step: number }) | undefined;
      const history = (run.extra.history as History | undefined) ?? [];
      history.push({ step: run.step, heldOutLoss: held.loss, heldOutAccuracy: held.accuracy, sst2ZeroShot: zs?.accuracy });
      run.extra.history = history;
      fs.appendFileSync(evalLog, `${JSON.stringify({ step: run.step, kind: 'checkpoint', heldOutLoss: held.loss, heldOutAccuracy: held.accuracy, sst2ZeroShot: zs })}\n`);
      run.extra.secondsPerStep = recent.length ? recent.reduce((a, b) => a + b, 0) / recent.length : run.extra.secondsPerStep;
      run.extra.backend = backend;
      saveTrainCheckpoint(ckptRoot, await run.snapshot());
      const weightsBytes = await exportModel(held, zsLast, history);
      log(`checkpoint step ${run.step}: held-out loss ${held.loss.toFixed(4)} acc ${(100 * held.accuracy).toFixed(1)}%${zs ? `, SST-2 zero-shot ${(100 * zs.accuracy).toFixed(1)}%` : ''}; exported ${opts.out} (${(weightsBytes / 1e6).toFixed(1)} MB) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    };

    if (opts.exportOnly) {
      // The latest checkpoint's weights and figures, exported again (e.g. after a change to the card's template).
      const history = (run.extra.history as History | undefined) ?? [];
      const last = history[history.length - 1];
      if (!resume || !last || last.step !== run.step) throw new Error(`pretrain: --export-only needs a checkpoint in ${ckptRoot} with its held-out figures; none there`);
      const zs = run.extra.sst2ZeroShot as (PromptEval & { step: number }) | undefined;
      if (run.extra.secondsPerStep === undefined && fs.existsSync(lossLog)) { // checkpoints written before it was kept
        const secs = fs.readFileSync(lossLog, 'utf8').trim().split('\n').slice(-20).map((l) => (JSON.parse(l) as { secPerStep: number }).secPerStep);
        run.extra.secondsPerStep = secs.reduce((a, b) => a + b, 0) / secs.length;
      }
      await exportModel(await evaluateHeldOut(), zs, history); // the same weights and masks: the same held-out figures
      log(`exported the checkpoint of step ${run.step} to ${opts.out}`);
      run.dispose();
      return;
    }

    const started = Date.now();
    let lastCheckpoint = Date.now();
    const endStep = Math.min(cfg.totalSteps, opts.maxSteps ?? Infinity);
    if (!resume) await checkpoint(true); // step 0: a usable (random) model exists from the start
    while (run.step < endStep && !stop) {
      await new Promise((resolve) => setImmediate(resolve)); // lets SIGINT/SIGTERM handlers run between steps
      if (stop) {
        await checkpoint(true);
        break;
      }
      const t0 = Date.now();
      const r = await run.trainStep();
      const sec = (Date.now() - t0) / 1000;
      recent = [...recent.slice(-19), sec];
      if (!Number.isFinite(r.loss)) throw new Error(`pretrain: loss is ${r.loss} at step ${r.step}; lower --lr and restart from the last checkpoint in ${ckptRoot}`);
      if (r.step % opts.logEvery === 0 || r.step === 1) {
        fs.appendFileSync(lossLog, `${JSON.stringify({ step: r.step, loss: r.loss, lr: r.lr, gradNorm: r.gradNorm, masked: r.maskedTokens, secPerStep: sec, tokens: run.tokensSeen })}\n`);
        log(`step ${r.step}/${cfg.totalSteps} loss ${r.loss.toFixed(4)} lr ${r.lr.toExponential(2)} |g| ${r.gradNorm.toFixed(2)} ${sec.toFixed(2)} s/step`);
      }
      if (r.step % opts.evalEvery === 0) {
        const h = await evaluateHeldOut();
        run.extra.heldOutStep = run.step;
        fs.appendFileSync(evalLog, `${JSON.stringify({ step: r.step, kind: 'held-out', heldOutLoss: h.loss, heldOutAccuracy: h.accuracy })}\n`);
        log(`held-out step ${r.step}: loss ${h.loss.toFixed(4)} acc ${(100 * h.accuracy).toFixed(1)}%`);
      }
      const timeUp = opts.maxMinutes !== undefined && Date.now() - started > opts.maxMinutes * 60_000;
      if (Date.now() - lastCheckpoint > opts.checkpointMinutes * 60_000 || run.step >= endStep || stop || timeUp) {
        await checkpoint(run.step >= endStep || stop || timeUp);
        lastCheckpoint = Date.now();
        if (timeUp) break;
      }
    }
    log(`stopped at step ${run.step} (${tf.memory().numTensors} tensors live)`);
    run.dispose();
  } finally {
    process.removeListener('SIGINT', onInt);
    process.removeListener('SIGTERM', onTerm);
  }
}

