/**
 * Evaluation of a pre-trained masked LM, for the training log, the model card and the shipped-model test.
 *
 *   heldOutMlm      MLM loss (mean cross-entropy, nats) and top-1 accuracy at the masked positions of held-out
 *                   blocks, masked with a fixed seed so that every evaluation of every checkpoint sees the same masks.
 *   zeroShotPrompt  LM-BFF zero-shot prompt accuracy: each test sentence is put in the template, and the class is the
 *                   label word whose MLM logit at the [MASK] is largest (the label-word logits only: vocabulary-sparse).
 *                   With SST-2's 872 test sentences, `*cls**sent_0*_It_was*mask*.*sep+*` and terrible/great this is
 *                   the LM-BFF "zero-shot prompt" baseline.
 *   unigramEntropy  the entropy (nats) of the token frequencies of a block set: the MLM loss of a model that predicts
 *                   every masked token from its frequency alone, the plateau a model has to get below by using context.
 */
import * as tf from '@tensorflow/tfjs';
import { encode, hiddenAt, mlmLogits, type EncoderConfig, type Params } from '../model';
import { compilePrompt, prepareTemplate, labelWordIds } from '../template';
import type { TextTokenizer } from '../tokenize/text-tokenizer';
import { crossEntropyLoss } from '../finetune/losses';
import { maskTokens, type MaskingOptions } from './masking';
import { block, type PackedBlocks } from './packing';
import { Rng } from './rng';

/** Entropy in nats of the frequencies of the non-special tokens in `data` (masking selects only those). */
export function unigramEntropy(data: PackedBlocks, specialIds: readonly number[]): number {
  const special = new Set(specialIds);
  const counts = new Map<number, number>();
  let n = 0;
  for (const t of data.tokens) {
    if (special.has(t)) continue;
    counts.set(t, (counts.get(t) ?? 0) + 1);
    n++;
  }
  let h = 0;
  for (const c of counts.values()) h -= (c / n) * Math.log(c / n);
  return h;
}

export interface MlmEval {
  loss: number;
  accuracy: number;
  maskedTokens: number;
  blocks: number;
}

/** Held-out MLM loss and accuracy over the first `maxBlocks` blocks (training off: no dropout). */
export async function heldOutMlm(
  params: Params, config: EncoderConfig, data: PackedBlocks, masking: MaskingOptions,
  opts: { maxBlocks?: number; batchSize?: number; seed?: number } = {},
): Promise<MlmEval> {
  const n = Math.min(data.count, opts.maxBlocks ?? 64);
  const B = opts.batchSize ?? 16;
  const T = data.maxLen;
  const rng = new Rng(opts.seed ?? 12345);
  let lossSum = 0, correct = 0, count = 0;
  for (let start = 0; start < n; start += B) {
    const rows = Math.min(B, n - start);
    const tokens = new Int32Array(rows * T);
    for (let b = 0; b < rows; b++) tokens.set(block(data, start + b), b * T);
    const m = maskTokens(tokens, rng, masking);
    const labels = Array.from(m.labels);
    const [lossT, argmaxT] = tf.tidy(() => {
      const inputIds = tf.tensor2d(m.inputIds, [rows, T], 'int32');
      const h = encode(params, config, { inputIds, attentionMask: tf.ones([rows, T]) as tf.Tensor2D }, { training: false }); // [B, T, H]
      const hm = tf.gather(tf.reshape(h, [rows * T, config.hiddenSize]), tf.tensor1d(m.positions, 'int32')) as tf.Tensor2D; // [M, H]
      const logits = mlmLogits(params, config, hm); // [M, V]
      return [crossEntropyLoss(logits, labels), tf.argMax(logits, 1)] as const;
    });
    // asynchronous reads: the webgpu backend cannot read synchronously
    const loss = (await lossT.data())[0];
    const argmax = await argmaxT.data() as Int32Array;
    tf.dispose([lossT, argmaxT]);
    lossSum += loss * labels.length;
    labels.forEach((y, i) => { if (argmax[i] === y) correct++; });
    count += labels.length;
  }
  return { loss: lossSum / count, accuracy: correct / count, maskedTokens: count, blocks: n };
}

export interface PromptEval {
  accuracy: number;
  /** Fraction of examples predicted as each class (a degenerate model predicts one class everywhere). */
  predictedShare: number[];
  examples: number;
}

/**
 * Zero-shot prompt accuracy. `labels[i]` is the class index of `texts[i]`; `words[c]` the label word of class c.
 * Prompts are batched with right padding (attention mask 0 on padding).
 */
export async function zeroShotPrompt(
  params: Params, config: EncoderConfig, tokenizer: TextTokenizer,
  examples: { textA: string; textB?: string; label: number }[], template: string, words: string[],
  opts: { maxLength?: number; batchSize?: number } = {},
): Promise<PromptEval> {
  const prepared = prepareTemplate(template, tokenizer);
  const wordIds = labelWordIds(tokenizer, words);
  const maxLength = Math.min(opts.maxLength ?? 128, config.maxPositions);
  const B = opts.batchSize ?? 32;
  const counts = new Array<number>(words.length).fill(0);
  let correct = 0;
  for (let start = 0; start < examples.length; start += B) {
    const batch = examples.slice(start, start + B).map((e) => compilePrompt(prepared, tokenizer, e, { maxLength }));
    const T = Math.max(...batch.map((p) => p.inputIds.length));
    const ids = new Int32Array(batch.length * T).fill(tokenizer.padId);
    const mask = new Float32Array(batch.length * T);
    const types = new Int32Array(batch.length * T);
    batch.forEach((p, b) => {
      ids.set(p.inputIds, b * T);
      types.set(p.tokenTypeIds, b * T);
      mask.fill(1, b * T, b * T + p.inputIds.length);
    });
    const scoresT = tf.tidy(() => {
      const h = encode(params, config, {
        inputIds: tf.tensor2d(ids, [batch.length, T], 'int32'),
        attentionMask: tf.tensor2d(mask, [batch.length, T]),
        tokenTypeIds: tf.tensor2d(types, [batch.length, T], 'int32'),
      }, { training: false }); // [B, T, H]
      return mlmLogits(params, config, hiddenAt(h, batch.map((p) => p.maskPos)), wordIds); // [B, C]
    });
    const scores = await scoresT.array() as number[][];
    scoresT.dispose();
    scores.forEach((row, b) => {
      let best = 0;
      for (let c = 1; c < row.length; c++) if (row[c] > row[best]) best = c;
      counts[best]++;
      if (best === examples[start + b].label) correct++;
    });
  }
  return { accuracy: correct / examples.length, predictedShare: counts.map((c) => c / examples.length), examples: examples.length };
}
