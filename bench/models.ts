/**
 * `npm run bench:models` (= `npx tsx bench/models.ts [--only NAME[,NAME…]] [--backend wasm] [--skip-adam] [--timeout S]
 * [--out FILE.json]`; `--report FILE.json` prints the tables of a results file): what fits where, and how
 * fast, for the real shapes of the checkpoints people ask about, on random weights (nothing is downloaded).
 *
 * For each model below (its config.json written out here, from the Hugging Face Hub's config.json of that id) it
 *  (a) computes the memory estimate of src/engine/run/memory-fit.ts (estimateMemory) for a full SST-2 run (fine-tuning
 *      + SGD kernel, batch 8, max_length 128, 1 GiB gradient budget, 256 MiB recording budget) with full SGD, full AdamW
 *      and LoRA (rank 8 on the family's LoRA targets plus its 'head' parameters, AdamW), per backend, and whether it fits
 *      (wasm: its 4 GiB heap; tensorflow and webgpu have no limit in the estimate);
 * and, on the wasm backend, where the estimate says it fits,
 *  (b) times fine-tuning steps with the engine's own loop (finetune/loop.ts: forward + backward + clipping + SGD update of
 *      every parameter) on a fixed batch of 8 SST-2-like inputs (18–42 tokens, mean 30; prompt mode, C = 2 label ids),
 *      holding what a run holds meanwhile: a θ0 snapshot and the best-dev copy (evaluation every step);
 *  (c) times per-example gradients (C backward passes, kernel/gradients.ts exampleJacobian) and a tiny plain kernel
 *      (kernel/empirical-ntk.ts on 1 train × 2 evaluated examples, its gradient cap as a wasm run has it), and from
 *      them EXTRAPOLATES the SST-2 16-shot SGD kernel (32 train × (32 dev + 872 test), C = 2) of the plain kernel:
 *      gradient computations of its chunk plan × seconds per gradient + train×evaluated pairs × seconds per pair.
 *      BERT/RoBERTa, gpt2 and SmolLM2-135M also get the structured kernel (what runs use by default), extrapolated
 *      as bench/run.ts does (the causal ones only while seed-run.ts's kernelFn sends causal LMs to it: checked, printed);
 *  (d) records the peak of the live tensor buffers (each distinct buffer once; tf.memory().numBytes, which counts views
 *      again, beside it) during the SGD and AdamW steps (every tensor registration is watched) and the size of the wasm
 *      heap (its WebAssembly.Memory, which only grows: what must fit in 4 GiB), against estimateMemory for the same
 *      fine-tuning (the batch's own padded length, no kernel phase): is the estimate an upper bound?
 * Each model is measured in its own process (a fresh 4 GiB wasm heap; a model that overflows it cannot take the others
 * down). Printed as a table and written to bench/results/<date>-models.json (with --only: merged into that file).
 *
 * Figures are for a 2-vCPU machine with tfjs-wasm on one thread; "extrapolated" figures are marked as such everywhere.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/engine/backend';
import { wasmKernelVariant } from '../src/engine/backend/wasm-kernels';
import { BytePeaks } from '../src/engine/util/byte-peaks';
import type { EncodedExample } from '../src/engine/classifier/batch';
import { promptClassifier } from '../src/engine/classifier/masked-lm-classifier';
import { crossEntropyLoss, finetune, type OptimizerName } from '../src/engine/finetune';
import { empiricalNtkFn, exampleJacobian, structuredNtkFn, type KernelParameter, type StructuredModel } from '../src/engine/kernel';
import { makeEncoderConfig, randomParams, type EncoderConfig, type Params } from '../src/engine/model';
import { parseCausalConfig, randomCausalParams, type CausalConfig } from '../src/engine/model/causal';
import { isCausalConfig, isModernBertConfig, languageModel, type ModelConfig } from '../src/engine/model/language-model';
import { modernBertRecordingModel, parseModernBertConfig, randomModernBertParams } from '../src/engine/model/modernbert';
import { MODERNBERT_BASE } from './modernbert-sst2';
import { recordingModel } from '../src/engine/model/recording';
import { estimateMemory, fmtBytes, mlpActivationFactor, mlpKindOf, WASM_HEAP_BYTES, type FitSettings, type MemoryEstimate, type ModelShape } from '../src/engine/run/memory-fit';

const ROOT = path.resolve(__dirname, '..');
const now = (): number => performance.now() / 1000;

// ---- the models ----------------------------------------------------------------------------------------------------

interface ModelEntry {
  name: string;
  /** Where the config comes from. */
  source: string;
  /** Structured kernel measured (BERT/RoBERTa; causal once the engine supports it). */
  config: () => ModelConfig;
}

const causal = (name: string, raw: Record<string, unknown>): CausalConfig => parseCausalConfig(raw, `bench/models.ts (${name})`);

/**
 * Configs as in each Hub repository's config.json (the keys the engine reads; the rest take transformers' defaults,
 * as the engine's config readers do). Written from those files, not downloaded: no network here.
 */
export const MODELS: ModelEntry[] = [
  {
    name: 'bert-base-uncased', source: 'huggingface.co/bert-base-uncased config.json (BertForMaskedLM)',
    config: () => makeEncoderConfig({ modelType: 'bert', vocabSize: 30522, hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072, maxPositions: 512, typeVocabSize: 2, layerNormEps: 1e-12, padTokenId: 0 }),
  },
  {
    name: 'roberta-base', source: 'huggingface.co/roberta-base config.json (RobertaForMaskedLM)',
    config: () => makeEncoderConfig({ modelType: 'roberta', vocabSize: 50265, hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072, maxPositions: 514, typeVocabSize: 1, layerNormEps: 1e-5, padTokenId: 1 }),
  },
  {
    name: 'albert-base-v2', source: 'huggingface.co/albert-base-v2 config.json (AlbertForMaskedLM: one layer shared by 12 depths, E = 128)',
    config: () => makeEncoderConfig({ modelType: 'albert', vocabSize: 30000, embeddingSize: 128, hiddenSize: 768, numLayers: 12, numHeads: 12, intermediateSize: 3072, maxPositions: 512, typeVocabSize: 2, layerNormEps: 1e-12, padTokenId: 0, hiddenAct: 'gelu_new' }),
  },
  {
    name: 'ModernBERT-base', source: 'huggingface.co/answerdotai/ModernBERT-base config.json (ModernBertForMaskedLM, 149 M)',
    config: () => parseModernBertConfig(MODERNBERT_BASE, 'bench/models.ts (ModernBERT-base)'),
  },
  {
    name: 'gpt2', source: 'huggingface.co/gpt2 config.json (GPT2LMHeadModel, 124 M)',
    config: () => causal('gpt2', { model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 12, n_head: 12, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, bos_token_id: 50256, eos_token_id: 50256 }),
  },
  {
    name: 'distilgpt2', source: 'huggingface.co/distilgpt2 config.json (GPT2LMHeadModel, 6 layers)',
    config: () => causal('distilgpt2', { model_type: 'gpt2', vocab_size: 50257, n_positions: 1024, n_embd: 768, n_layer: 6, n_head: 12, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, bos_token_id: 50256, eos_token_id: 50256 }),
  },
  {
    name: 'pythia-70m', source: 'huggingface.co/EleutherAI/pythia-70m config.json (GPTNeoXForCausalLM)',
    config: () => causal('pythia-70m', { model_type: 'gpt_neox', vocab_size: 50304, hidden_size: 512, num_hidden_layers: 6, num_attention_heads: 8, intermediate_size: 2048, hidden_act: 'gelu', rotary_pct: 0.25, rotary_emb_base: 10000, max_position_embeddings: 2048, layer_norm_eps: 1e-5, use_parallel_residual: true, tie_word_embeddings: false, bos_token_id: 0, eos_token_id: 0 }),
  },
  {
    name: 'pythia-160m', source: 'huggingface.co/EleutherAI/pythia-160m config.json (GPTNeoXForCausalLM)',
    config: () => causal('pythia-160m', { model_type: 'gpt_neox', vocab_size: 50304, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072, hidden_act: 'gelu', rotary_pct: 0.25, rotary_emb_base: 10000, max_position_embeddings: 2048, layer_norm_eps: 1e-5, use_parallel_residual: true, tie_word_embeddings: false, bos_token_id: 0, eos_token_id: 0 }),
  },
  {
    name: 'SmolLM2-135M', source: 'huggingface.co/HuggingFaceTB/SmolLM2-135M config.json (LlamaForCausalLM)',
    config: () => causal('SmolLM2-135M', { model_type: 'llama', vocab_size: 49152, hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, hidden_act: 'silu', max_position_embeddings: 8192, rms_norm_eps: 1e-5, rope_theta: 100000, tie_word_embeddings: true, attention_bias: false, mlp_bias: false, bos_token_id: 0, eos_token_id: 0 }),
  },
  {
    name: 'Qwen2-0.5B', source: 'huggingface.co/Qwen/Qwen2-0.5B config.json (Qwen2ForCausalLM)',
    config: () => causal('Qwen2-0.5B', { model_type: 'qwen2', vocab_size: 151936, hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2, hidden_act: 'silu', max_position_embeddings: 131072, rms_norm_eps: 1e-6, rope_theta: 1000000, tie_word_embeddings: true, use_sliding_window: false, sliding_window: 131072, max_window_layers: 24, bos_token_id: 151643, eos_token_id: 151643 }),
  },
  {
    name: 'TinyLlama-1.1B', source: 'huggingface.co/TinyLlama/TinyLlama-1.1B-Chat-v1.0 config.json (LlamaForCausalLM)',
    config: () => causal('TinyLlama-1.1B', { model_type: 'llama', vocab_size: 32000, hidden_size: 2048, intermediate_size: 5632, num_hidden_layers: 22, num_attention_heads: 32, num_key_value_heads: 4, hidden_act: 'silu', max_position_embeddings: 2048, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: false, attention_bias: false, mlp_bias: false, bos_token_id: 1, eos_token_id: 2 }),
  },
];

// ---- fixed settings --------------------------------------------------------------------------------------------------

/** The SST-2-like batch: 8 inputs, these token counts (mean 30). */
const LENGTHS = [18, 24, 27, 29, 31, 33, 36, 42];
const C = 2;
/** SST-2 16-shot, seed 13: 32 train, 32 dev + 872 test evaluated. */
const SST2 = { N: 32, M: 32 + 872 };
/** A run's settings for the fits column (as bench/run.ts's SST-2 file and the memory-fit test). */
const RUN = { batchSize: 8, maxLength: 128, gradientBudgetBytes: 2 ** 30, recordBudgetBytes: 256 * 2 ** 20 };
const LORA_RANK = 8;
/** Causal models whose structured kernel is timed (the issue's two). */
const STRUCTURED_CAUSAL = ['gpt2', 'SmolLM2-135M'];
const BACKENDS = ['wasm', 'tensorflow', 'webgpu'] as const;

// ---- shapes and estimates --------------------------------------------------------------------------------------------

function shapesOf(config: ModelConfig): Map<string, number[]> {
  return languageModel(config).expectedShapes();
}

/** Distinct parameters (a tied decoder counted once), and the LoRA-trained count (rank r factors + the head group). */
function countParameters(config: ModelConfig): { parameters: number; loraTrained: number } {
  const lm = languageModel(config);
  const isTarget = lm.lora.isTarget;
  let parameters = 0;
  let loraTrained = 0;
  for (const [name, shape] of shapesOf(config)) {
    const size = shape.reduce((a, b) => a * b, 1);
    parameters += size;
    if (isTarget(name) && shape.length === 2) loraTrained += LORA_RANK * (shape[0] + shape[1]);
    else if (lm.parameterGroup(name) === 'head') loraTrained += size;
  }
  return { parameters, loraTrained };
}

function modelShape(config: ModelConfig, parameters: number): ModelShape {
  const largestTensor = Math.max(...[...shapesOf(config).values()].map((s) => s.reduce((a, b) => a * b, 1)));
  return {
    parameters, hiddenSize: config.hiddenSize, numLayers: config.numLayers, numHeads: config.numHeads, intermediateSize: config.intermediateSize,
    largestTensor, mlpActivations: mlpActivationFactor(mlpKindOf(config)),
  };
}

type Setting = 'sgd' | 'adamw' | 'lora';
interface EstimateRow { setting: Setting; backend: string; peakBytes: number; peakPhase: string; fits: boolean; limitBytes?: number }

function settingsFor(setting: Setting, P: number, loraTrained: number, over: Partial<FitSettings> = {}): FitSettings {
  return {
    trainedParameters: setting === 'lora' ? loraTrained : P, optimizer: setting === 'sgd' ? 'sgd' : 'adam',
    batchSize: RUN.batchSize, maxLength: RUN.maxLength, finetune: true, kernels: true,
    gradientBudgetBytes: RUN.gradientBudgetBytes, recordBudgetBytes: RUN.recordBudgetBytes, ...over,
  };
}

function runEstimates(config: ModelConfig, P: number, loraTrained: number): EstimateRow[] {
  const rows: EstimateRow[] = [];
  for (const backend of BACKENDS) {
    for (const setting of ['sgd', 'adamw', 'lora'] as Setting[]) {
      const e = estimateMemory(modelShape(config, P), settingsFor(setting, P, loraTrained), backend);
      rows.push({ setting, backend, peakBytes: e.peakBytes, peakPhase: e.peakPhase, fits: e.fits, limitBytes: e.limitBytes });
    }
  }
  return rows;
}

/** The estimate of the measured fine-tuning alone: batch 8 at the batch's padded length, no kernel phase. */
function stepEstimate(config: ModelConfig, P: number, optimizer: 'sgd' | 'adam'): MemoryEstimate {
  return estimateMemory(modelShape(config, P), settingsFor(optimizer === 'sgd' ? 'sgd' : 'adamw', P, 0, { maxLength: Math.max(...LENGTHS), kernels: false }), 'wasm');
}

/** The plain kernel's cap on wasm: max(2C, ⌊1 GiB / 4P⌋) gradient vectors (seed-run.ts gradientCap, wasm budget). */
const plainCap = (P: number): number => Math.max(2 * C, Math.floor(RUN.gradientBudgetBytes / (4 * P)));

/** The plain kernel's plan for N train × M evaluated with chunks of k: gradient computations and train×evaluated pairs. */
function plainPlan(N: number, M: number, k: number): { gradients: number; pairs: number; chunks: number } {
  let gradients = 0;
  let pairs = 0;
  let chunks = 0;
  for (let a = 0; a < N; a += k) {
    const b = Math.min(N, a + k);
    gradients += N - a + M; // the chunk's own (b − a), the later train examples, every evaluated example
    pairs += (b - a) * (N - a + M);
    chunks++;
  }
  return { gradients, pairs, chunks };
}

// ---- measurement (child process) ---------------------------------------------------------------------------------------

/** Bytes of the wasm backend's heap (WebAssembly.Memory; it only grows), or undefined on another backend. */
function wasmHeapBytes(): number | undefined {
  try {
    const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
    return b.wasm?.HEAPU8?.buffer.byteLength;
  } catch {
    return undefined;
  }
}

async function matmulGflops(): Promise<number> {
  const n = 1024;
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  for (let i = 0; i < 2; i++) { const c = tf.matMul(a, b); await c.data(); c.dispose(); }
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const t0 = now();
    for (let i = 0; i < 3; i++) { const c = tf.matMul(a, b); await c.data(); c.dispose(); }
    best = Math.min(best, (now() - t0) / 3);
  }
  tf.dispose([a, b]);
  return (2 * n ** 3) / best / 1e9;
}

/** The fixed SST-2-like inputs in a model's vocabulary (deterministic ids; a masked LM's [MASK] before ". [SEP]"). */
function inputsFor(config: ModelConfig): { examples: EncodedExample[]; padId: number; labelIds: number[] } {
  const V = config.vocabSize;
  let s = 12345;
  const rand = (): number => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return s / 2 ** 32; };
  const body = (n: number): number[] => Array.from({ length: n }, () => 1000 + Math.floor(rand() * Math.min(V - 1000, 20000)));
  if (isCausalConfig(config)) {
    return {
      examples: LENGTHS.map((T) => ({ inputIds: body(T), tokenTypeIds: new Array<number>(T).fill(0), maskPos: T - 1 })),
      padId: config.padTokenId ?? config.eosTokenId ?? 0,
      labelIds: [500, 900],
    };
  }
  // [CLS], [SEP], [MASK] ids of each vocabulary: BERT's WordPiece, ALBERT's SentencePiece, ModernBERT's and RoBERTa's BPE
  const [cls, sep, mask] = config.modelType === 'bert' ? [101, 102, 103] : config.modelType === 'albert' ? [2, 3, 4]
    : config.modelType === 'modernbert' ? [50281, 50282, 50284] : [0, 2, 50264];
  return {
    examples: LENGTHS.map((T) => ({ inputIds: [cls, ...body(T - 4), mask, 1012, sep], tokenTypeIds: new Array<number>(T).fill(0), maskPos: T - 3 })),
    padId: config.padTokenId,
    labelIds: [500, 900],
  };
}

/** True when seed-run.ts's kernelFn still sends causal LMs to the plain kernel (read from its source). */
function causalStructuredUnsupported(): boolean {
  try {
    const src = fs.readFileSync(path.join(ROOT, 'src/engine/run/seed-run.ts'), 'utf8');
    const fn = src.slice(src.indexOf('function kernelFn('));
    return /isCausalConfig\(config\)\)\s*\{\s*return empiricalNtkFn/.test(fn.slice(0, 800));
  } catch {
    return true;
  }
}

interface PhaseMemory { failed?: boolean; dataBytesPeak: number; numBytesPeak: number; heapBytesBefore?: number; heapBytes?: number; estimateBytes?: number; estimateAtMaxLength128Bytes?: number }

interface ModelResult {
  name: string; source: string; family: string; parameters: number; loraTrainedParameters: number;
  config: Record<string, unknown>;
  estimates: EstimateRow[];
  measured: boolean; skipped?: string; error?: string;
  buildSeconds?: number; matmulGflops?: number; loadavg?: number[];
  ftStepSeconds?: number; ftStepSecondsAll?: number[]; adamwStepSeconds?: number;
  memory?: { sgd?: PhaseMemory; adamw?: PhaseMemory; gradients?: PhaseMemory; kernel?: PhaseMemory };
  secondsPerGradient?: number; secondsPerKernelPair?: number;
  plainKernel?: { cap: number; perChunk: number; chunks: number; gradientComputations: number; pairs: number; seconds: number; floorSeconds: number; extrapolated: true; tinyRunSeconds: number };
  structuredKernel?: { seconds?: number; extrapolated: true; measuredOn?: string; note?: string };
  seconds?: number;
}

async function measureModel(entry: ModelEntry, opts: { skipAdam: boolean }, emit: (r: ModelResult) => void): Promise<ModelResult> {
  const started = now();
  const config = entry.config();
  const { parameters: P, loraTrained } = countParameters(config);
  const res: ModelResult = {
    name: entry.name, source: entry.source, family: isCausalConfig(config) ? config.family : config.modelType,
    parameters: P, loraTrainedParameters: loraTrained, config: { ...config } as Record<string, unknown>,
    estimates: runEstimates(config, P, loraTrained), measured: false,
  };
  const sgdEst = stepEstimate(config, P, 'sgd');
  if (!sgdEst.fits) {
    res.skipped = `not measured: the estimate of full SGD fine-tuning alone (${fmtBytes(sgdEst.peakBytes)}) exceeds the wasm heap (4 GiB)`;
    return res;
  }
  await initBackend('wasm');
  const peak = new BytePeaks(); // before any tensor of the model exists
  res.matmulGflops = await matmulGflops();
  res.loadavg = os.loadavg();
  let t0 = now();
  const params: Params = isCausalConfig(config) ? randomCausalParams(config, 1)
    : isModernBertConfig(config) ? randomModernBertParams(config, 1) : randomParams(config as EncoderConfig, 1);
  res.buildSeconds = now() - t0;
  const trained = new Map<string, tf.Variable>();
  const seen = new Set<tf.Variable>();
  for (const [n, v] of params) if (!seen.has(v)) { seen.add(v); trained.set(n, v); }
  const vars = [...trained.values()];
  const counted = vars.reduce((a, v) => a + v.size, 0);
  if (counted !== P) console.error(`  ${entry.name}: parameters allocated ${counted} ≠ counted from the shapes ${P}`);
  const { examples, padId, labelIds } = inputsFor(config);
  const classify = promptClassifier(params, config, padId, labelIds);
  const labels = examples.map((_, i) => i % C);
  res.memory = {};
  let phase = 'SGD fine-tuning';
  try {
    // (b), (d): fine-tuning steps with a θ0 snapshot and the best-dev copy held, as a run holds them.
    const theta0 = vars.map((v) => tf.clone(v));
    const ftSteps = async (optimizer: OptimizerName, steps: number): Promise<number[]> => {
      const times: number[] = [];
      let t = now();
      await finetune({
        params: trained, nTrain: examples.length, steps, batchSize: examples.length, optimizer, learningRate: 1e-5, seed: 1,
        lossFn: (batch, ctx) => crossEntropyLoss(classify(batch.map((i) => examples[i]), ctx), batch.map((i) => labels[i])),
        evaluate: async () => ({ metric: 0 }), evalEvery: 1, // the first evaluation takes the best-dev copy, kept after
        onStep: () => { times.push(now() - t); t = now(); },
      });
      return times;
    };
    console.error(`  ${entry.name}: ${(P / 1e6).toFixed(1)} M parameters built in ${res.buildSeconds.toFixed(1)} s; timing SGD fine-tuning steps`);
    let heapBefore = wasmHeapBytes();
    res.memory.sgd = { dataBytesPeak: NaN, numBytesPeak: NaN, heapBytesBefore: heapBefore, estimateBytes: sgdEst.peakBytes };
    peak.reset();
    const sgdTimes = await ftSteps('sgd', 2);
    res.ftStepSecondsAll = sgdTimes;
    res.ftStepSeconds = sgdTimes[1]; // the first step also takes the best-dev copy (and warms up)
    res.memory.sgd = { dataBytesPeak: peak.dataBytes, numBytesPeak: peak.numBytes, heapBytesBefore: heapBefore, heapBytes: wasmHeapBytes(), estimateBytes: sgdEst.peakBytes,
      estimateAtMaxLength128Bytes: estimateMemory(modelShape(config, P), settingsFor('sgd', P, 0, { kernels: false }), 'wasm').peakBytes };
    vars.forEach((v, i) => v.assign(theta0[i]));
    tf.dispose(theta0);
    emit(res);

    // (c): per-example gradients (C backward passes), then a tiny plain kernel for the seconds per contracted pair.
    phase = 'per-example gradients';
    console.error(`  ${entry.name}: timing per-example gradients`);
    const kp: KernelParameter[] = vars.map((variable) => ({ variable }));
    const outputFn = (x: EncodedExample): tf.Tensor2D => classify([x], { training: false });
    heapBefore = wasmHeapBytes();
    peak.reset();
    exampleJacobian(outputFn, kp, examples[0], C).forEach((g) => g.dispose());
    const gradRuns = 1;
    t0 = now();
    for (let i = 0; i < gradRuns; i++) {
      const rows = exampleJacobian(outputFn, kp, examples[3 + i], C);
      for (const r of rows) { await r.data(); r.dispose(); }
    }
    res.secondsPerGradient = (now() - t0) / gradRuns;
    res.memory.gradients = { dataBytesPeak: peak.dataBytes, numBytesPeak: peak.numBytes, heapBytesBefore: heapBefore, heapBytes: wasmHeapBytes() };
    phase = 'tiny plain kernel';
    console.error(`  ${entry.name}: tiny plain kernel (1 train × 2 evaluated)`);
    const cap = plainCap(P);
    heapBefore = wasmHeapBytes();
    peak.reset();
    t0 = now();
    await empiricalNtkFn(outputFn, kp, { kinds: ['sgd'], maxGradientsInMemory: cap })([examples[4]], [{ name: 'test', inputs: [examples[3], examples[5]] }]);
    const tiny = now() - t0;
    res.memory.kernel = { dataBytesPeak: peak.dataBytes, numBytesPeak: peak.numBytes, heapBytesBefore: heapBefore, heapBytes: wasmHeapBytes(), estimateBytes: 4 * P + cap * 4 * P };
    // 3 gradient computations, 3 pairs (train×train 1, train×evaluated 2).
    res.secondsPerKernelPair = Math.max(0, (tiny - 3 * res.secondsPerGradient) / 3);
    const perChunk = Math.max(1, Math.floor(cap / C) - 1);
    const plan = plainPlan(SST2.N, SST2.M, perChunk);
    res.plainKernel = {
      cap, perChunk, chunks: plan.chunks, gradientComputations: plan.gradients, pairs: plan.pairs, extrapolated: true, tinyRunSeconds: tiny,
      seconds: plan.gradients * res.secondsPerGradient + plan.pairs * res.secondsPerKernelPair,
      floorSeconds: (SST2.N + SST2.M) * res.secondsPerGradient,
    };

    // Structured kernel: BERT/RoBERTa (model/recording.ts), ModernBERT (modernbert/recording.ts), and the two causal models the issue names (gpt2,
    // SmolLM2-135M) when seed-run.ts sends causal LMs to it (model/causal/recording.ts). bench/run.ts's extrapolation.
    const structuredCausal = isCausalConfig(config) && STRUCTURED_CAUSAL.includes(entry.name) && !causalStructuredUnsupported();
    if (!isCausalConfig(config) || structuredCausal) {
      let model: StructuredModel<EncodedExample> | undefined;
      if (isModernBertConfig(config)) model = modernBertRecordingModel(params, config, padId, { kind: 'lm', labelIds });
      else if (!isCausalConfig(config)) model = recordingModel(params, config as EncoderConfig, padId, { kind: 'mlm', labelIds });
      else {
        try {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          const m = require('../src/engine/model/causal/recording') as { causalRecordingModel: (p: Params, c: CausalConfig, pad: number, h: { kind: 'lm'; labelIds: number[] }) => StructuredModel<EncodedExample> };
          model = m.causalRecordingModel(params, config, padId, { kind: 'lm', labelIds });
        } catch (e) {
          res.structuredKernel = { extrapolated: true, note: `causal recording not loadable: ${(e as Error).message.slice(0, 200)}` };
        }
      }
      if (model) {
        phase = 'structured kernel';
        console.error(`  ${entry.name}: structured kernel on 1 train × 4 evaluated`);
        const ntk = structuredNtkFn(model, kp, { kinds: ['sgd'], batchSize: 2, form: 'structured' });
        t0 = now();
        await ntk([examples[4]], [{ name: 'test', inputs: examples.slice(0, 4) }]);
        const secondsPerRecorded = (now() - t0) / 5;
        const meanT = LENGTHS.reduce((a, b) => a + b, 0) / LENGTHS.length;
        const g = res.matmulGflops * 1e9;
        res.structuredKernel = {
          extrapolated: true, measuredOn: `1 train × 4 evaluated, batch 2, structured form: ${secondsPerRecorded.toFixed(2)} s per recorded example`,
          // bench/run.ts: recorded examples once + the contraction at the matMul rate + the explicit gradients the full run forms.
          seconds: secondsPerRecorded * (SST2.N + SST2.M) + (2 * P * (SST2.N * C) * ((SST2.N + SST2.M) * C)) / g + (2 * meanT * C * P * (SST2.N + SST2.M)) / g,
        };
      }
    } else if (causalStructuredUnsupported()) {
      res.structuredKernel = { extrapolated: true, note: 'not available: seed-run.ts kernelFn sends causal LMs to the plain kernel (no structured recording of the causal families yet); the plain figure is what a run computes' };
    } else {
      res.structuredKernel = { extrapolated: true, note: `not timed here (the bench times it for ${STRUCTURED_CAUSAL.join(' and ')})` };
    }
    // AdamW last: the phase nearest the heap's limit (what came before is already out if it overflows).
    emit(res);
    const adamEst = stepEstimate(config, P, 'adam');
    if (opts.skipAdam) {
      // --skip-adam
    } else if (!adamEst.fits) {
      res.memory.adamw = { dataBytesPeak: NaN, numBytesPeak: NaN, estimateBytes: adamEst.peakBytes };
      console.error(`  ${entry.name}: AdamW step not measured (estimate ${fmtBytes(adamEst.peakBytes)} > 4 GiB)`);
    } else {
      phase = 'AdamW fine-tuning';
      console.error(`  ${entry.name}: timing AdamW fine-tuning steps`);
      heapBefore = wasmHeapBytes();
      peak.reset();
      res.memory.adamw = { dataBytesPeak: NaN, numBytesPeak: NaN, heapBytesBefore: heapBefore, estimateBytes: adamEst.peakBytes };
      const theta0a = vars.map((v) => tf.clone(v)); // a run holds θ0 during fine-tuning
      const adamTimes = await ftSteps('adamw', 2);
      res.adamwStepSeconds = adamTimes[1];
      res.memory.adamw = { dataBytesPeak: peak.dataBytes, numBytesPeak: peak.numBytes, heapBytesBefore: heapBefore, heapBytes: wasmHeapBytes(), estimateBytes: adamEst.peakBytes,
        estimateAtMaxLength128Bytes: estimateMemory(modelShape(config, P), settingsFor('adamw', P, 0, { kernels: false }), 'wasm').peakBytes };
      tf.dispose(theta0a);
    }
    res.measured = true;
  } catch (e) {
    // A phase that overflows the wasm heap throws (RuntimeError: memory access out of bounds, or an allocation
    // failure): record which, with the heap's size, and stop (the heap may be corrupt).
    const failed = phase === 'SGD fine-tuning' ? res.memory.sgd : phase === 'AdamW fine-tuning' ? res.memory.adamw : undefined;
    if (failed) Object.assign(failed, { dataBytesPeak: peak.dataBytes, numBytesPeak: peak.numBytes, heapBytes: wasmHeapBytes(), failed: true });
    res.error = `${phase}: ${(e as Error).message.split('\n')[0].slice(0, 200)} (wasm heap ${fmtBytes(wasmHeapBytes() ?? 0)})`;
    emit(res);
    process.exit(3);
  } finally {
    for (const v of vars) v.dispose();
  }
  res.seconds = now() - started;
  return res;
}

// ---- report (parent process) -------------------------------------------------------------------------------------------

const gib = (b: number | undefined): string => (b === undefined || !Number.isFinite(b) ? '–' : `${(b / 2 ** 30).toFixed(2)}`);
const secs = (s: number | undefined): string => (s === undefined ? '–' : s >= 3600 ? `${(s / 3600).toFixed(1)} h` : s >= 120 ? `${(s / 60).toFixed(0)} min` : `${s.toFixed(s < 10 ? 2 : 1)} s`);

function fitsCell(r: ModelResult, backend: string, setting: Setting): string {
  const e = r.estimates.find((x) => x.backend === backend && x.setting === setting)!;
  return `${e.fits ? 'yes' : '**no**'} (${gib(e.peakBytes)})`;
}

function table(results: ModelResult[]): string {
  const lines = [
    '| model | family | params | wasm: full SGD | wasm: full AdamW | wasm: LoRA r8 | FT step, SGD (wasm) | SST-2 SGD kernel, plain (wasm) | structured (wasm) | tensorflow / webgpu (SGD, AdamW, LoRA) |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    const other = ['sgd', 'adamw', 'lora'].map((s) => gib(r.estimates.find((x) => x.backend === 'tensorflow' && x.setting === s)!.peakBytes)).join(' / ');
    const pk = r.plainKernel ? `≈ ${secs(r.plainKernel.seconds)} (extrapolated; floor ${secs(r.plainKernel.floorSeconds)})` : '–';
    const sk = r.structuredKernel?.seconds !== undefined ? `≈ ${secs(r.structuredKernel.seconds)} (extrapolated)` : r.structuredKernel ? 'not timed' : '–';
    const step = r.ftStepSeconds !== undefined ? `${secs(r.ftStepSeconds)} (measured)` : r.error ? `failed: ${r.error.slice(0, 60)}` : 'not measured (does not fit)';
    lines.push(`| ${r.name} | ${r.family} | ${(r.parameters / 1e6).toFixed(1)} M | ${fitsCell(r, 'wasm', 'sgd')} | ${fitsCell(r, 'wasm', 'adamw')} | ${fitsCell(r, 'wasm', 'lora')} | ${step} | ${pk} | ${sk} | fits by the estimate (no limit): ${other} GiB; not measured here |`);
  }
  return lines.join('\n');
}

function memoryTable(results: ModelResult[]): string {
  const lines = [
    '| model | phase | peak of live tensor buffers (GiB) | tf.memory().numBytes peak (GiB) | wasm heap before → after (GiB) | estimate (GiB) | estimate ≥ live peak? | estimate ≥ heap? | estimate ÷ live peak | estimate at max_length 128 (GiB) |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    for (const [phase, m] of Object.entries(r.memory ?? {})) {
      if (!m) continue;
      const est = m.estimateBytes;
      const known = est !== undefined && Number.isFinite(m.dataBytesPeak);
      const ok = !known ? '–' : est! >= m.dataBytesPeak ? 'yes' : '**NO**';
      const okHeap = !known || m.heapBytes === undefined ? '–' : est! >= m.heapBytes ? 'yes' : '**NO**';
      const ratio = !known ? '–' : (est! / m.dataBytesPeak).toFixed(2);
      lines.push(`| ${r.name} | ${phase}${m.failed ? ' (**overflowed the heap**; figures at the failure)' : ''} | ${gib(m.dataBytesPeak)} | ${gib(m.numBytesPeak)} | ${gib(m.heapBytesBefore)} → ${gib(m.heapBytes)} | ${gib(est)} | ${ok} | ${okHeap} | ${ratio} | ${gib(m.estimateAtMaxLength128Bytes)} |`);
    }
  }
  return lines.join('\n');
}

interface Args { only?: string[]; backend: string; child?: string; skipAdam: boolean; timeoutS: number; report?: string; out?: string; maxLength?: number }
function parseArgs(argv: string[]): Args {
  const a: Args = { backend: 'wasm', skipAdam: false, timeoutS: 420 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--only') a.only = argv[++i].split(',');
    else if (argv[i] === '--backend') a.backend = argv[++i];
    else if (argv[i] === '--child') a.child = argv[++i];
    else if (argv[i] === '--skip-adam') a.skipAdam = true;
    else if (argv[i] === '--timeout') a.timeoutS = Number(argv[++i]);
    else if (argv[i] === '--report') a.report = argv[++i];
    else if (argv[i] === '--out') a.out = argv[++i];
    else if (argv[i] === '--max-length') a.maxLength = Number(argv[++i]);
    else throw new Error(`bench/models.ts: unknown option ${argv[i]}; use --only NAME[,NAME…], --backend wasm, --skip-adam, --timeout SECONDS, --report FILE.json [--max-length T], --out FILE.json`);
  }
  if (a.backend !== 'wasm') throw new Error(`bench/models.ts: only --backend wasm is measured (tensorflow and webgpu get the estimate's rows, always printed); got ${a.backend}`);
  for (const n of a.only ?? []) if (!MODELS.some((m) => m.name === n)) throw new Error(`bench/models.ts: no model ${n}; models: ${MODELS.map((m) => m.name).join(', ')}`);
  return a;
}

function printReport(results: ModelResult[]): void {
  console.log(`\nWhat fits where (estimate: run/memory-fit.ts, SST-2 run: batch ${RUN.batchSize}, max_length ${RUN.maxLength}, fine-tuning + SGD kernel; GiB needed in parentheses; `
    + 'wasm limit 4 GiB; measured on random weights of the real shapes, wasm, this machine)\n');
  console.log(table(results));
  console.log('\nPeak memory of the measured phases vs the estimate (sgd/adamw: fine-tuning steps holding θ0 and the best-dev copy; estimate for batch 8 at the batch\'s padded length, fine-tuning only; '
    + 'gradients: per-example Jacobians; kernel: the tiny plain kernel, estimate = weights + its cap of gradient vectors)\n');
  console.log(memoryTable(results));
  for (const r of results) {
    if (r.skipped) console.log(`${r.name}: ${r.skipped}`);
    if (r.error) console.log(`${r.name}: ERROR ${r.error}`);
    if (r.structuredKernel?.note) console.log(`${r.name}: structured kernel ${r.structuredKernel.note}`);
    if (r.plainKernel) {
      console.log(`${r.name}: ${secs(r.ftStepSeconds)} per SGD step (steps ${r.ftStepSecondsAll?.map((s) => s.toFixed(2)).join(', ')} s), AdamW ${secs(r.adamwStepSeconds)}; `
        + `${r.secondsPerGradient?.toFixed(2)} s per example gradient (C = 2), ${r.secondsPerKernelPair?.toFixed(3)} s per contracted pair; plain kernel cap ${r.plainKernel.cap} vectors → chunks of ${r.plainKernel.perChunk}, `
        + `${r.plainKernel.gradientComputations} gradient computations → SST-2 ≈ ${secs(r.plainKernel.seconds)} EXTRAPOLATED (floor, every gradient once and no contraction: ≈ ${secs(r.plainKernel.floorSeconds)})`
        + `${r.structuredKernel?.seconds !== undefined ? `; structured ≈ ${secs(r.structuredKernel.seconds)} EXTRAPOLATED` : ''}; matMul ${r.matmulGflops?.toFixed(1)} GFLOP/s, load ${r.loadavg?.map((x) => x.toFixed(1)).join(' ')}`);
    }
  }
}

const MARK = '@@bench-models-result ';

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.report) { // the tables of a results file, nothing measured
    const f = JSON.parse(fs.readFileSync(args.report, 'utf8')) as { machine: Record<string, unknown>; models: ModelResult[]; structuredKernelForCausal: string };
    console.log(`machine: ${JSON.stringify(f.machine)}\n${f.structuredKernelForCausal}`);
    // The estimates are a pure function of the config: recomputed with this checkout's run/memory-fit.ts (the
    // measurements stay as they were taken), for a run padded to --max-length (default 128).
    if (args.maxLength) RUN.maxLength = args.maxLength;
    const reestimated = MODELS.flatMap((m) => {
      const r = f.models.find((x) => x.name === m.name);
      if (!r) return [];
      const config = m.config();
      const { parameters: P, loraTrained } = countParameters(config);
      r.estimates = runEstimates(config, P, loraTrained);
      for (const [phase, optimizer, setting] of [['sgd', 'sgd', 'sgd'], ['adamw', 'adam', 'adamw']] as const) {
        const mem = r.memory?.[phase];
        if (!mem) continue;
        mem.estimateBytes = stepEstimate(config, P, optimizer).peakBytes;
        mem.estimateAtMaxLength128Bytes = estimateMemory(modelShape(config, P), settingsFor(setting, P, 0, { kernels: false }), 'wasm').peakBytes;
      }
      return [r];
    });
    console.log(`(estimates recomputed with this checkout's run/memory-fit.ts, max_length ${RUN.maxLength})`);
    printReport(reestimated);
    return;
  }
  if (args.child) {
    const entry = MODELS.find((m) => m.name === args.child)!;
    // After each phase: a child that overflows the heap later still reports what it measured.
    const emit = (r: ModelResult): void => { process.stdout.write(`${MARK}${JSON.stringify(r)}\n`); };
    emit(await measureModel(entry, { skipAdam: args.skipAdam }, emit));
    return;
  }
  const started = now();
  await initBackend('wasm');
  const machine = {
    cpu: os.cpus()[0]?.model, cores: os.cpus().length, memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1), os: `${os.type()} ${os.release()}`,
    node: process.version, tfjs: tf.version.tfjs, backend: 'wasm (SIMD, 1 thread)', wasmKernels: wasmKernelVariant(), loadavgAtStart: os.loadavg(),
    matmulGflops: +(await matmulGflops()).toFixed(1),
  };
  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}, tfjs ${machine.tfjs}, `
    + `wasm kernels ${machine.wasmKernels}, matMul ${machine.matmulGflops} GFLOP/s, load ${machine.loadavgAtStart.map((x) => x.toFixed(1)).join(' ')}`);
  const structuredNote = causalStructuredUnsupported() ? 'causal LMs: plain kernel only (seed-run.ts kernelFn falls back to plain for them)' : 'causal LMs: seed-run.ts now sends them to the structured kernel';
  console.log(structuredNote);
  const results: ModelResult[] = [];
  for (const entry of MODELS.filter((m) => !args.only || args.only.includes(m.name))) {
    console.error(`== ${entry.name}`);
    const childArgs = [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), __filename, '--child', entry.name, ...(args.skipAdam ? ['--skip-adam'] : [])];
    const t0 = now();
    const r = spawnSync(process.execPath, childArgs, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: args.timeoutS * 1000, maxBuffer: 64 * 2 ** 20 });
    const line = (r.stdout ?? '').split('\n').filter((l) => l.startsWith(MARK)).pop();
    let res: ModelResult;
    if (line) {
      res = JSON.parse(line.slice(MARK.length)) as ModelResult;
      if (r.status !== 0 && !res.error) res.error = `the child stopped after its last reported phase (exit ${r.status}, signal ${r.signal}${r.error ? `, ${r.error.message}` : ''})`;
    }    else {
      // The estimate without the child (it failed or ran out of time).
      const config = entry.config();
      const { parameters, loraTrained } = countParameters(config);
      res = { name: entry.name, source: entry.source, family: isCausalConfig(config) ? config.family : config.modelType, parameters, loraTrainedParameters: loraTrained,
        config: { ...config } as Record<string, unknown>, estimates: runEstimates(config, parameters, loraTrained), measured: false,
        error: r.error ? String(r.error.message) : `exit ${r.status} signal ${r.signal}: ${(r.stdout ?? '').slice(-300)}` };
    }
    console.error(`   ${entry.name}: ${(now() - t0).toFixed(0)} s${res.skipped ? ` (${res.skipped})` : ''}${res.error ? ` ERROR ${res.error}` : ''}`);
    results.push(res);
  }
  printReport(results);
  const date = new Date().toISOString().slice(0, 10);
  const dir = path.join(ROOT, 'bench/results');
  fs.mkdirSync(dir, { recursive: true });
  const file = args.out ? path.resolve(args.out) : path.join(dir, `${date}-models.json`);
  let merged = results;
  if (args.only && fs.existsSync(file)) {
    const old = JSON.parse(fs.readFileSync(file, 'utf8')) as { models: ModelResult[] };
    merged = [...old.models.filter((m) => !results.some((r) => r.name === m.name)), ...results];
  }
  const out = {
    date: new Date().toISOString(), machine, settings: { lengths: LENGTHS, C, sst2: SST2, run: RUN, loraRank: LORA_RANK, wasmHeapBytes: WASM_HEAP_BYTES },
    structuredKernelForCausal: structuredNote, models: merged, seconds: now() - started,
  };
  fs.writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\nwritten ${path.relative(ROOT, file)} (${(now() - started).toFixed(0)} s)`);
}

main().catch((e) => { console.error(e instanceof Error ? e.stack ?? e.message : e); process.exit(1); });
