/**
 * Fixtures of the structured-eNTK tests on masked LMs (kernel/structured-ntk.test.ts, structured-ntk-families.test.ts,
 * tiles.test.ts): a tiny random model whose biases and norms are non-trivial, padded examples with a label word among
 * some of their tokens, and the "same kernels" assertion.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import type { EncodedExample } from '../../src/engine/classifier/batch';
import type { KernelKind, KernelResult } from '../../src/engine/kernel/types';
import { makeEncoderConfig, randomParams, untieDecoder, type EncoderConfig, type HiddenAct, type ModelType, type Params } from '../../src/engine/model';

/**
 * A tiny random masked LM (vocabulary 40, H 16, 2 heads, I 24; ALBERT 3 depths of its one layer, else 2 layers) with
 * every tensor perturbed: random init sets biases to 0 and norms to 1, which would hide bugs. `hiddenAct` defaults
 * to BERT's exact GELU and the tanh form elsewhere; `tied: false` unties the decoder.
 */
export function tinyMaskedModel(o: { modelType: ModelType; seed: number; tied?: boolean; hiddenAct?: HiddenAct; embeddingSize?: number }): { config: EncoderConfig; params: Params } {
  let config = makeEncoderConfig({
    modelType: o.modelType, vocabSize: 40, hiddenSize: 16, numLayers: o.modelType === 'albert' ? 3 : 2, numHeads: 2,
    intermediateSize: 24, maxPositions: 24, hiddenAct: o.hiddenAct ?? (o.modelType === 'bert' ? 'gelu' : 'gelu_new'),
    ...(o.embeddingSize !== undefined ? { embeddingSize: o.embeddingSize } : {}),
  });
  let params = randomParams(config, o.seed);
  let k = 0;
  for (const v of params.values()) v.assign(tf.tidy(() => tf.add(v, tf.randomNormal(v.shape, 0, v.rank === 1 ? 0.3 : 0.2, 'float32', o.seed * 101 + k++))));
  if (o.tied === false) ({ config, params } = untieDecoder(config, params));
  return { config, params };
}

/**
 * Examples of lengths 3..9 (so batches hold padding), segment ids 1 on the second half where the model has token
 * types (DistilBERT has none and must ignore the ids a WordPiece template gives it), the mask anywhere, and the label
 * word at position 1 of every third (it shares a row with the tied decoder's label rows).
 */
export function maskedExamples(count: number, seed: number, label: number, config: EncoderConfig): EncodedExample[] {
  const out: EncodedExample[] = [];
  let s = seed;
  const rnd = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
  const first = config.padTokenId + 1;
  const types = config.typeVocabSize === 0 ? 2 : config.typeVocabSize;
  for (let i = 0; i < count; i++) {
    const len = 3 + Math.floor(rnd() * 7);
    const ids = Array.from({ length: len }, () => first + 1 + Math.floor(rnd() * (config.vocabSize - first - 1)));
    if (i % 3 === 0) ids[1] = label;
    out.push({ inputIds: ids, tokenTypeIds: ids.map((_, t) => (types > 1 && t >= len / 2 ? 1 : 0)), maskPos: Math.floor(rnd() * len) });
  }
  return out;
}

/** Relative Frobenius distance ‖a − b‖ / ‖b‖. */
export function relDiff(a: Float64Array, b: Float64Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) { num += (a[i] - b[i]) ** 2; den += b[i] ** 2; }
  return Math.sqrt(num / den);
}

/** Every block (and flipped block) of `expected` within 1e-4 relative distance in `actual`; each distance goes to `seen`. */
export function assertSameKernels(actual: KernelResult, expected: KernelResult, what: string, seen?: (d: number) => void): void {
  for (const [kind, blocks] of Object.entries(expected)) {
    for (const [set, blk] of Object.entries(blocks!)) {
      const got = actual[kind as KernelKind]![set];
      assert.deepEqual(got.shape, blk.shape, `${what} ${kind}/${set} shape`);
      const d = relDiff(got.data, blk.data);
      seen?.(d);
      assert.ok(d <= 1e-4, `${what} ${kind}/${set}: relative distance ${d.toExponential(2)} > 1e-4`);
      if (blk.flipped) {
        const df = relDiff(got.flipped!, blk.flipped);
        assert.ok(df <= 1e-4, `${what} ${kind}/${set} (flipped): relative distance ${df.toExponential(2)} > 1e-4`);
      }
    }
  }
}
