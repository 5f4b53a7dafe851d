/**
 * MLM pre-training of a small BERT from scratch, with exact resume.
 *
 * One optimizer step:
 *   blocks  = the next `batchSize` packed blocks of this epoch's seeded permutation              [B, T]
 *   x, pos, y = maskTokens(blocks)  (15%, 80/10/10, from the saved masking RNG)                  [B, T], [M], [M]
 *   h       = encode(θ, x)                                                                        [B, T, H]
 *   z       = mlmLogits(θ, gather(h, pos))      the decoder runs on the M masked rows only        [M, V]
 *   L       = mean_m −log softmax(z_m)[y_m]
 *   g       = clip(∇θ L, maxGradNorm);  θ ← AdamW(θ, g, η(step))  with linear warm-up and decay
 * Dropout masks are seeded by (seed, step), the data order by (seed, epoch), masking by a saved RNG state; so a run
 * resumed from a checkpoint (params, both AdamW moments, step, data position, RNG state) takes bit-identical steps.
 *
 * A run may also *continue* another one (`init`): it starts from that run's parameters with fresh AdamW moments and
 * its own schedule (a new warm-up and decay), e.g. a second stage at a higher learning rate after the first one's
 * learning rate decayed to 0. The model's shape and vocabulary must be the same; the earlier stage's figures are
 * kept in `extra.previous` so the model card can describe the whole lineage.
 */
import * as tf from '@tensorflow/tfjs';
import { encode, mlmLogits, makeEncoderConfig, randomParams, type EncoderConfig, type Params } from '../model';
import { adamWStep, createAdamWState, noWeightDecay, type AdamWState } from '../finetune/optimizers';
import { clipByGlobalNormAsync } from '../finetune/clip';
import { crossEntropyLoss } from '../finetune/losses';
import { linearWarmupDecay } from '../finetune/schedule';
import { maskTokens, type MaskingOptions } from './masking';
import { block, type PackedBlocks } from './packing';
import { Rng, permutation } from './rng';
import { TRAIN_STATE_FORMAT, type NamedArray, type TrainCheckpoint, type TrainState } from './train-state';

/** Everything that defines a run; a resume must use the same values (they are saved in the checkpoint). */
export interface PretrainConfig {
  seed: number;
  numLayers: number;
  hiddenSize: number;
  numHeads: number;
  intermediateSize: number;
  /** Block length T (and the model's maxPositions). */
  maxLen: number;
  batchSize: number;
  learningRate: number;
  warmupSteps: number;
  totalSteps: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  maxGradNorm: number;
  maskProb: number;
  /** Hidden and attention dropout during pre-training (the exported config.json keeps BERT's 0.1). */
  dropout: number;
}

export const DEFAULT_PRETRAIN_CONFIG: PretrainConfig = {
  seed: 20230601,
  numLayers: 4,
  hiddenSize: 128,
  numHeads: 2,
  intermediateSize: 512,
  maxLen: 128,
  batchSize: 32,
  learningRate: 5e-4,
  warmupSteps: 300,
  totalSteps: 6000,
  weightDecay: 0.01,
  beta1: 0.9,
  beta2: 0.98,
  eps: 1e-6,
  maxGradNorm: 1.0,
  maskProb: 0.15,
  dropout: 0,
};

export interface TokenIds {
  vocabSize: number;
  clsId: number;
  sepId: number;
  maskId: number;
  padId: number;
  unkId: number;
}

/** The encoder config of the run (dropout as in pre-training) and of the exported model (BERT's 0.1 dropout). */
export function encoderConfigFor(cfg: PretrainConfig, tok: TokenIds, dropout = cfg.dropout): EncoderConfig {
  return makeEncoderConfig({
    modelType: 'bert', vocabSize: tok.vocabSize, hiddenSize: cfg.hiddenSize, numLayers: cfg.numLayers,
    numHeads: cfg.numHeads, intermediateSize: cfg.intermediateSize, maxPositions: cfg.maxLen, typeVocabSize: 2,
    padTokenId: tok.padId, tieWordEmbeddings: true, hiddenDropout: dropout, attentionDropout: dropout,
  });
}

export function maskingOptions(cfg: PretrainConfig, tok: TokenIds): MaskingOptions {
  return { maskProb: cfg.maskProb, maskTokenId: tok.maskId, vocabSize: tok.vocabSize, specialIds: [tok.padId, tok.unkId, tok.clsId, tok.sepId, tok.maskId] };
}

/** The options that fix the model's shape; a continued run must share them with the run it starts from. */
const SHAPE_OPTIONS = ['numLayers', 'hiddenSize', 'numHeads', 'intermediateSize', 'maxLen', 'vocabSize'] as const;

/** What a continued run keeps of the run it started from (saved in its state's `extra.previous`). */
export interface PreviousStage {
  /** Where the starting weights came from (a checkpoint folder). */
  from: string;
  step: number;
  tokensSeen: number;
  trainSeconds: number;
  options: Record<string, unknown>;
  /** Its own learning curve (its steps), and in turn the stages before it. */
  history: unknown[];
  previous?: PreviousStage;
}

export interface StepResult { step: number; loss: number; gradNorm: number; lr: number; maskedTokens: number }

/** A pre-training run in memory: parameters, AdamW state, data position and RNG. */
export class Pretrainer {
  readonly config: EncoderConfig;
  readonly params: Params;
  private readonly names: string[];
  private readonly vars: tf.Variable[];
  private readonly decay: number[];
  private readonly adam: AdamWState;
  private readonly maskRng: Rng;
  private epoch = 0;
  private cursor = 0;
  private order: Uint32Array;
  tokensSeen = 0;
  trainSeconds = 0;
  extra: Record<string, unknown> = {};

  private constructor(
    readonly cfg: PretrainConfig, readonly tok: TokenIds, readonly data: PackedBlocks, resume?: TrainCheckpoint,
    init?: { from: string; checkpoint: TrainCheckpoint },
  ) {
    if (data.maxLen !== cfg.maxLen) throw new Error(`loop.ts: blocks have length ${data.maxLen} but maxLen is ${cfg.maxLen}; rebuild the blocks or change maxLen`);
    if (data.count < cfg.batchSize) throw new Error(`loop.ts: only ${data.count} blocks for a batch of ${cfg.batchSize}; use a larger corpus or a smaller batchSize`);
    this.config = encoderConfigFor(cfg, tok);
    this.params = randomParams(this.config, cfg.seed);
    this.names = [...this.params.keys()];
    this.vars = this.names.map((n) => this.params.get(n)!);
    this.decay = this.names.map((n) => (noWeightDecay(n) ? 0 : cfg.weightDecay));
    this.adam = createAdamWState(this.vars);
    this.maskRng = new Rng(cfg.seed);
    this.order = permutation(data.count, epochSeed(cfg.seed, 0));
    if (resume) this.restore(resume);
    else if (init) this.startFrom(init.from, init.checkpoint);
  }

  /**
   * A fresh run, the resumption of `resume` (whose options must equal `cfg`), or a new run that starts from the
   * parameters of another run's checkpoint (`init`; ignored when resuming, since the resumed state already holds them).
   */
  static create(cfg: PretrainConfig, tok: TokenIds, data: PackedBlocks, resume?: TrainCheckpoint, init?: { from: string; checkpoint: TrainCheckpoint }): Pretrainer {
    return new Pretrainer(cfg, tok, data, resume, init);
  }

  get step(): number {
    return this.adam.step;
  }

  /** The next batch's blocks [B·T] and the data position after it. */
  private nextBlocks(): Int32Array {
    const { batchSize: B, maxLen: T } = this.cfg;
    const out = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      if (this.cursor >= this.order.length) {
        this.epoch++;
        this.cursor = 0;
        this.order = permutation(this.data.count, epochSeed(this.cfg.seed, this.epoch));
      }
      out.set(block(this.data, this.order[this.cursor++]), b * T);
    }
    return out;
  }

  /** One optimizer step; returns the loss of the batch before the update. Reads are asynchronous (webgpu). */
  async trainStep(): Promise<StepResult> {
    const t0 = Date.now();
    const { batchSize: B, maxLen: T } = this.cfg;
    const masked = maskTokens(this.nextBlocks(), this.maskRng, maskingOptions(this.cfg, this.tok));
    const step = this.adam.step;
    const lr = linearWarmupDecay(step, this.cfg);
    const inputIds = tf.tensor2d(masked.inputIds, [B, T], 'int32');
    const attentionMask = tf.ones([B, T]) as tf.Tensor2D;
    const positions = tf.tensor1d(masked.positions, 'int32');
    const labels = Array.from(masked.labels);
    const { value, grads } = tf.variableGrads(() => {
      const h = encode(this.params, this.config, { inputIds, attentionMask }, { training: this.cfg.dropout > 0, seed: dropoutSeed(this.cfg.seed, step) }); // [B, T, H]
      const hm = tf.gather(tf.reshape(h, [B * T, this.config.hiddenSize]), positions) as tf.Tensor2D; // [M, H]
      return crossEntropyLoss(mlmLogits(this.params, this.config, hm), labels); // [M, V] → scalar
    }, this.vars);
    const loss = (await value.data())[0];
    const ordered = this.vars.map((v) => grads[v.name] ?? null);
    const clipped = await clipByGlobalNormAsync(ordered, this.cfg.maxGradNorm);
    adamWStep(this.adam, this.vars, clipped.grads, lr, { beta1: this.cfg.beta1, beta2: this.cfg.beta2, eps: this.cfg.eps, weightDecay: this.cfg.weightDecay }, this.decay);
    tf.dispose([value, inputIds, attentionMask, positions, ...Object.values(grads)]);
    clipped.grads.forEach((g) => g?.dispose());
    this.tokensSeen += B * T;
    this.trainSeconds += (Date.now() - t0) / 1000;
    return { step: this.adam.step, loss, gradNorm: clipped.norm, lr, maskedTokens: labels.length };
  }

  /** Everything needed to continue exactly (copies of the tensors' values). */
  async snapshot(): Promise<TrainCheckpoint> {
    const read = async (t: tf.Tensor): Promise<NamedArray> => ({ shape: [...t.shape], data: Float32Array.from(await t.data() as Float32Array) });
    const params = new Map<string, NamedArray>();
    const m = new Map<string, NamedArray>();
    const v = new Map<string, NamedArray>();
    for (let i = 0; i < this.names.length; i++) {
      const n = this.names[i];
      params.set(n, await read(this.vars[i]));
      const zero = (): NamedArray => ({ shape: [...this.vars[i].shape], data: new Float32Array(this.vars[i].size) });
      m.set(n, this.adam.m[i] ? await read(this.adam.m[i]!) : zero());
      v.set(n, this.adam.v[i] ? await read(this.adam.v[i]!) : zero());
    }
    const state: TrainState = {
      format: TRAIN_STATE_FORMAT, step: this.adam.step, epoch: this.epoch, cursor: this.cursor,
      maskRng: this.maskRng.getState(), tokensSeen: this.tokensSeen, trainSeconds: this.trainSeconds,
      options: { ...this.cfg, vocabSize: this.tok.vocabSize, blocks: this.data.count }, extra: this.extra,
    };
    return { params, m, v, state };
  }

  /** Sets every parameter to the checkpoint's value; `what` starts the message when one is missing or shaped otherwise. */
  private assignParams(ck: TrainCheckpoint, what: string): void {
    this.names.forEach((n, i) => {
      const p = ck.params.get(n);
      if (!p || JSON.stringify(p.shape) !== JSON.stringify(this.vars[i].shape)) {
        throw new Error(`loop.ts: ${what}: parameter "${n}" is ${p ? `[${p.shape}]` : 'missing'} there, [${this.vars[i].shape}] here`);
      }
      tf.tidy(() => this.vars[i].assign(tf.tensor(p.data, p.shape, 'float32')));
    });
  }

  /** Takes the parameters of another run's checkpoint; moments, step, data position and RNG start fresh. */
  private startFrom(from: string, ck: TrainCheckpoint): void {
    const want = { ...this.cfg, vocabSize: this.tok.vocabSize } as Record<string, unknown>;
    const diff = SHAPE_OPTIONS.filter((k) => JSON.stringify(want[k]) !== JSON.stringify(ck.state.options[k]));
    if (diff.length > 0) {
      throw new Error(`loop.ts: cannot continue from ${from}: its model has ${diff.map((k) => `${k} ${JSON.stringify(ck.state.options[k])}, not ${JSON.stringify(want[k])}`).join('; ')}`);
    }
    this.assignParams(ck, `cannot continue from ${from}`);
    const prev = ck.state.extra?.previous as PreviousStage | undefined;
    const previous: PreviousStage = {
      from, step: ck.state.step, tokensSeen: ck.state.tokensSeen, trainSeconds: ck.state.trainSeconds, options: ck.state.options,
      history: (ck.state.extra?.history as unknown[] | undefined) ?? [], ...(prev ? { previous: prev } : {}),
    };
    this.extra = { previous };
  }

  private restore(ck: TrainCheckpoint): void {
    const want = { ...this.cfg, vocabSize: this.tok.vocabSize, blocks: this.data.count } as Record<string, unknown>;
    const diff = Object.keys(want).filter((k) => JSON.stringify(want[k]) !== JSON.stringify(ck.state.options[k]));
    if (diff.length > 0) {
      throw new Error(`loop.ts: the checkpoint at step ${ck.state.step} was made with different settings (${diff.map((k) => `${k}: ${JSON.stringify(ck.state.options[k])} there, ${JSON.stringify(want[k])} now`).join('; ')}); resume with the same settings or start a new work folder`);
    }
    this.assignParams(ck, `cannot resume from the checkpoint at step ${ck.state.step}`);
    this.names.forEach((n, i) => {
      this.adam.m[i]?.dispose();
      this.adam.v[i]?.dispose();
      this.adam.m[i] = variableFrom(ck.m.get(n)!);
      this.adam.v[i] = variableFrom(ck.v.get(n)!);
    });
    this.adam.step = ck.state.step;
    this.epoch = ck.state.epoch;
    this.cursor = ck.state.cursor;
    this.order = permutation(this.data.count, epochSeed(this.cfg.seed, this.epoch));
    this.maskRng.setState(ck.state.maskRng);
    this.tokensSeen = ck.state.tokensSeen;
    this.trainSeconds = ck.state.trainSeconds;
    this.extra = ck.state.extra ?? {};
  }

  dispose(): void {
    this.vars.forEach((v) => v.dispose());
    this.adam.m.forEach((t) => t?.dispose());
    this.adam.v.forEach((t) => t?.dispose());
  }
}

/** A non-trainable variable holding a copy of the array (AdamW moments). */
function variableFrom(a: NamedArray): tf.Variable {
  const t = tf.tensor(a.data, a.shape, 'float32');
  const v = tf.variable(t, false);
  t.dispose();
  return v;
}

function epochSeed(seed: number, epoch: number): number {
  return (Math.imul(seed, 2654435761) + epoch) >>> 0;
}

function dropoutSeed(seed: number, step: number): number {
  return ((seed % 100003) * 100019 + step) % 2147483647;
}
