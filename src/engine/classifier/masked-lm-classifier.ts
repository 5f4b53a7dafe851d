/**
 * The model output f(x) that both fine-tuning and the kernel use (paper-and-reference-code.md §2):
 * - prompt mode: the raw masked-LM logits at the [MASK] position for the C label words, in class order (a causal
 *   LM: its next-token logits at the prompt's last token, where the label word would follow);
 * - standard (no-prompt) mode: a linear head W h + b on the first token's last hidden state (a causal LM: the last
 *   token's), W and b initialised by
 *   linear probing (classifier/linear-probe.ts), as the reference's `--from_linearhead`.
 * Shapes: B batch, T tokens, H hidden, C classes.
 */
import * as tf from '@tensorflow/tfjs';
import { mmBT } from '../backend';
import type { Params } from '../model';
import { languageModel, type ModelConfig } from '../model/language-model';
import { disposeBatch, makeBatch, type EncodedExample } from './batch';
import { fitLinearProbe } from './linear-probe';

export const HEAD_WEIGHT = 'classifier.weight';
export const HEAD_BIAS = 'classifier.bias';

export interface ForwardOptions {
  training: boolean;
  seed?: number;
}

/** f(x) for a batch of encoded examples → [B, C]. Reads the parameters inside the call (gradients flow to them). */
export type Classifier = (examples: EncodedExample[], opts: ForwardOptions) => tf.Tensor2D;

/**
 * The read-out hidden state of each example, [B, H]: at `maskPos` (a masked LM's [MASK]; a causal LM's last token,
 * whose next-token logits are f), or the first token when maskPos is −1 (a masked LM's standard mode).
 */
function readout(params: Params, config: ModelConfig, examples: EncodedExample[], padId: number, opts: ForwardOptions): tf.Tensor2D {
  const batch = makeBatch(examples, padId);
  try {
    return tf.tidy(() => {
      const h = languageModel(config).hidden(params, batch, { training: opts.training, seed: opts.seed }); // [B, T, H]
      const [B, T, H] = h.shape;
      return tf.gather(tf.reshape(h, [B * T, H]), batch.readIndex) as tf.Tensor2D; // [B, H]
    });
  } finally {
    disposeBatch(batch);
  }
}

export function promptClassifier(params: Params, config: ModelConfig, padId: number, labelIds: number[]): Classifier {
  const lm = languageModel(config);
  return (examples, opts) =>
    tf.tidy(() => lm.logits(params, readout(params, config, examples, padId, opts), labelIds)); // [B, C]
}

/** Standard mode: `params` must hold HEAD_WEIGHT [C, H] and HEAD_BIAS [C] (see `addLinearProbeHead`). */
export function standardClassifier(params: Params, config: ModelConfig, padId: number): Classifier {
  const W = params.get(HEAD_WEIGHT);
  const b = params.get(HEAD_BIAS);
  if (!W || !b) throw new Error(`classifier: standard mode needs '${HEAD_WEIGHT}' and '${HEAD_BIAS}'; call addLinearProbeHead first`);
  return (examples, opts) =>
    tf.tidy(() => tf.add(mmBT(readout(params, config, examples, padId, opts), W), b) as tf.Tensor2D); // [B, C]
}

/**
 * Fit the LP head on the frozen first-token features of the training examples (eval mode) and add it to `params`
 * as two new variables. Returns the regularisation strength chosen by cross-validation.
 */
export async function addLinearProbeHead(
  params: Params,
  config: ModelConfig,
  padId: number,
  train: EncodedExample[],
  labels: number[],
  numClasses: number,
  batchSize = 16,
): Promise<{ regC: number; cvAccuracy: number }> {
  const H = config.hiddenSize;
  const causal = languageModel(config).kind === 'causal';
  const feats = new Float64Array(train.length * H);
  for (let i = 0; i < train.length; i += batchSize) {
    // A masked LM's first token; a causal LM's last (its only token that has seen the whole input).
    const chunk = train.slice(i, i + batchSize).map((e) => (causal ? e : { ...e, maskPos: -1 }));
    const h = readout(params, config, chunk, padId, { training: false });
    feats.set(await h.data(), i * H); // asynchronous reads throughout: webgpu cannot read synchronously
    h.dispose();
  }
  const probe = fitLinearProbe(feats, labels, numClasses);
  params.set(HEAD_WEIGHT, tf.variable(tf.tensor2d(Float32Array.from(probe.W), [numClasses, H]), true, HEAD_WEIGHT));
  params.set(HEAD_BIAS, tf.variable(tf.tensor1d(Float32Array.from(probe.b)), true, HEAD_BIAS));
  return { regC: probe.regC, cvAccuracy: probe.cvAccuracy };
}

/**
 * Logits of many examples in eval mode: row-major [M·C] float64, in the order given.
 * Examples are batched by length (sorted, so a batch pads to little more than its own lengths; the attention mask
 * makes padding invisible, so the values do not depend on the batching).
 */
export async function predictLogits(classify: Classifier, examples: EncodedExample[], batchSize = 32): Promise<Float64Array> {
  const order = examples.map((_, i) => i).sort((a, b) => examples[a].inputIds.length - examples[b].inputIds.length);
  let out = new Float64Array(0);
  for (let i = 0; i < order.length; i += batchSize) {
    const idx = order.slice(i, i + batchSize);
    const z = classify(idx.map((j) => examples[j]), { training: false }); // [b, C]
    const C = z.shape[1];
    if (out.length === 0) out = new Float64Array(examples.length * C);
    const v = await z.data();
    z.dispose();
    idx.forEach((j, r) => { for (let c = 0; c < C; c++) out[j * C + c] = v[r * C + c]; });
  }
  return out;
}
