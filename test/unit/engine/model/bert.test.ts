import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../../src/engine/backend';
import {
  disposeParams, encode, expectedShapes, hiddenAt, makeEncoderConfig, mlmLogits, parameterGroup, positionIds,
  randomParams, untieDecoder, INIT_STD,
} from '../../../../src/engine/model';

const config = makeEncoderConfig({
  modelType: 'roberta', vocabSize: 30, hiddenSize: 8, numLayers: 1, numHeads: 2, intermediateSize: 16,
  maxPositions: 20, hiddenDropout: 0.3, attentionDropout: 0.3,
});

describe('engine/model/bert: forward-pass behaviour', function () {
  before(async () => { await initBackend('cpu'); });

  const batch = () => ({
    inputIds: tf.tensor2d([[0, 5, 6, 7, 2, 1]], undefined, 'int32'),
    attentionMask: tf.tensor2d([[1, 1, 1, 1, 1, 0]], undefined, 'int32'),
  });
  const run = (params: ReturnType<typeof randomParams>, training: boolean, seed?: number): Float32Array =>
    tf.tidy(() => encode(params, config, batch(), { training, seed }).dataSync() as Float32Array);

  it('dropout is off when not training, seeded when training: same seed same output, other seed other output', () => {
    const params = randomParams(config, 1);
    try {
      assert.deepEqual(run(params, false), run(params, false));
      assert.deepEqual(run(params, false, 3), run(params, false, 99)); // seed ignored without training
      const a = run(params, true, 3);
      assert.deepEqual(a, run(params, true, 3));
      assert.notDeepEqual(a, run(params, true, 4));
      assert.notDeepEqual(a, run(params, false));
    } finally {
      disposeParams(params);
    }
  });

  it('RoBERTa position ids: real tokens count from padTokenId + 1 across padding, pads get padTokenId', () => {
    const ids = tf.tensor2d([[0, 5, 2, 1, 1], [1, 1, 0, 5, 2]], undefined, 'int32');
    assert.deepEqual(tf.tidy(() => positionIds(config, ids).arraySync()), [[2, 3, 4, 1, 1], [1, 1, 2, 3, 4]]);
    const bert = makeEncoderConfig({ modelType: 'bert', vocabSize: 30, hiddenSize: 8, numHeads: 2 });
    assert.deepEqual(tf.tidy(() => positionIds(bert, ids).arraySync()), [[0, 1, 2, 3, 4], [0, 1, 2, 3, 4]]);
    ids.dispose();
  });

  it('refuses a sequence longer than the position table allows, saying the limit', () => {
    const params = randomParams(config, 1);
    try {
      tf.tidy(() => {
        const long = tf.zeros([1, 19], 'int32') as tf.Tensor2D; // needs position id 18 + 2 = 20 ≥ 20
        assert.throws(() => encode(params, config, { inputIds: long, attentionMask: tf.onesLike(long) }, { training: false }),
          /19 tokens need position id 20, but max_position_embeddings is 20; truncate inputs to 18 tokens/);
      });
    } finally {
      disposeParams(params);
    }
  });

  it('the decoder gradient through vocabIds touches only those rows of the tied word embeddings', () => {
    const params = randomParams(config, 2);
    try {
      tf.tidy(() => {
        const h = tf.randomNormal([3, 8], 0, 1, 'float32', 1) as tf.Tensor2D;
        const emb = params.get('roberta.embeddings.word_embeddings.weight')!;
        const g = tf.grad((e: tf.Tensor) => {
          const p = new Map(params);
          p.set('roberta.embeddings.word_embeddings.weight', e as tf.Variable);
          return tf.sum(mlmLogits(p, config, h, [7, 12]));
        })(emb);
        const rowNorms = tf.sum(tf.abs(g), 1).arraySync() as number[];
        rowNorms.forEach((n, r) => assert.equal(n > 0, r === 7 || r === 12, `row ${r}`));
      });
    } finally {
      disposeParams(params);
    }
  });

  it('randomParams: same seed same values, HF init statistics, zero padding row', () => {
    const a = randomParams(config, 5);
    const b = randomParams(config, 5);
    try {
      assert.deepEqual([...a.keys()], [...expectedShapes(config).keys()]);
      for (const [k, v] of a) assert.deepEqual(v.dataSync(), b.get(k)!.dataSync(), k);
      const q = Array.from(a.get('roberta.encoder.layer.0.attention.self.query.weight')!.dataSync());
      const std = Math.sqrt(q.reduce((s, x) => s + x * x, 0) / q.length);
      assert.ok(Math.abs(std - INIT_STD) < 0.005, `std ${std}`);
      assert.ok(a.get('roberta.encoder.layer.0.attention.self.query.bias')!.dataSync().every((x) => x === 0));
      assert.ok(a.get('lm_head.layer_norm.weight')!.dataSync().every((x) => x === 1));
      const word = a.get('roberta.embeddings.word_embeddings.weight')!.dataSync();
      assert.ok(word.slice(8, 16).every((x) => x === 0), 'row padTokenId = 1 is zero');
    } finally {
      disposeParams(a); disposeParams(b);
    }
  });

  it('untieDecoder gives a separate decoder equal to the embeddings, and the same logits', () => {
    const params = randomParams(config, 6);
    const untied = untieDecoder(config, params);
    try {
      assert.equal(untied.config.tieWordEmbeddings, false);
      const dec = untied.params.get('lm_head.decoder.weight')!;
      assert.notEqual(dec, params.get('roberta.embeddings.word_embeddings.weight'));
      tf.tidy(() => {
        const h = tf.randomNormal([2, 8], 0, 1, 'float32', 2) as tf.Tensor2D;
        const d = tf.max(tf.abs(tf.sub(mlmLogits(params, config, h), mlmLogits(untied.params, untied.config, h))));
        assert.equal(d.dataSync()[0], 0);
      });
    } finally {
      untied.params.get('lm_head.decoder.weight')!.dispose();
      disposeParams(params);
    }
  });

  it('parameterGroup splits names into embeddings, encoder and head, and rejects foreign names', () => {
    assert.equal(parameterGroup('roberta.embeddings.word_embeddings.weight', config), 'embeddings');
    assert.equal(parameterGroup('roberta.encoder.layer.0.output.dense.bias', config), 'encoder');
    assert.equal(parameterGroup('lm_head.bias', config), 'head');
    assert.throws(() => parameterGroup('classifier.weight', config), /"classifier\.weight" is not a parameter name/);
  });

  it('hiddenAt picks one position per row and rejects an out-of-range position', () => {
    tf.tidy(() => {
      const h = tf.range(0, 2 * 3 * 2).reshape([2, 3, 2]) as tf.Tensor3D;
      assert.deepEqual(hiddenAt(h, [2, 0]).arraySync(), [[4, 5], [6, 7]]);
      assert.throws(() => hiddenAt(h, [3, 0]), /need 2 positions in \[0, 3\)/);
    });
  });
});
