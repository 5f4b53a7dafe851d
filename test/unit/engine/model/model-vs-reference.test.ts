import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../../src/engine/backend';
import {
  disposeParams, encode, hiddenAt, loadCheckpoint, mlmLogits,
} from '../../../../src/engine/model';
import { erf64, referenceMlmLogits, type RefConfig, type RefWeights } from '../../../support/reference-mlm';
import { writeTinyCheckpoint, type TinySpec } from '../../../support/tiny-checkpoint';
import { engineLogits, maxAbsDiff, type Batch } from '../../../support/engine-logits';

function maxAbs(a: number[][][]): number {
  return Math.max(...a.flat(2).map(Math.abs));
}

describe('engine/model: loadCheckpoint → encode → mlmLogits against the float64 reference', function () {
  let root: string;
  before(async () => {
    await initBackend('cpu');
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ntk-lens-model-'));
  });
  after(async () => { await fs.rm(root, { recursive: true, force: true }); });

  it('the reference erf matches known values to 1e-14 (so the reference GELU is exact)', () => {
    for (const [x, v] of [[0.5, 0.5204998778130465], [1, 0.8427007929497149], [-2, -0.9953222650189527],
      [3, 0.9999779095030014], [4.5, 0.9999999998033839]]) {
      assert.ok(Math.abs(erf64(x) - v) < 1e-14, `erf(${x}) = ${erf64(x)}, expected ${v}`);
    }
  });

  const cases: { title: string; spec: TinySpec; batch: Batch }[] = [
    {
      title: 'BERT, F32, tied, right padding and token types',
      spec: { modelType: 'bert', dtype: 'F32' },
      batch: {
        ids: [[2, 5, 9, 3, 7, 11, 3], [2, 30, 4, 3, 0, 0, 0]],
        mask: [[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0]],
        types: [[0, 0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 0, 0]],
      },
    },
    {
      title: 'RoBERTa, F16, tied, keys without the roberta. prefix, pooler and I64 position_ids ignored',
      spec: { modelType: 'roberta', dtype: 'F16', stripPrefix: true, extras: true },
      batch: { ids: [[0, 8, 9, 10, 2], [1, 1, 0, 36, 2]], mask: [[1, 1, 1, 1, 1], [0, 0, 1, 1, 1]] },
    },
    {
      title: 'RoBERTa, F32, untied decoder, 3 shards (model.safetensors.index.json)',
      spec: { modelType: 'roberta', dtype: 'F32', tied: false, shards: 3 },
      batch: { ids: [[0, 5, 6, 2, 1, 1]], mask: [[1, 1, 1, 1, 0, 0]] },
    },
    {
      title: 'BERT, BF16, untied decoder, gelu_new, NSP head ignored',
      spec: { modelType: 'bert', dtype: 'BF16', tied: false, hiddenAct: 'gelu_new', extras: true },
      batch: { ids: [[2, 13, 14, 3]], mask: [[1, 1, 1, 1]], types: [[0, 0, 1, 1]] },
    },
  ];

  cases.forEach(({ title, spec, batch }, i) => {
    it(`${title}: logits equal the reference to 1e-5`, async () => {
      const ckpt = await writeTinyCheckpoint(path.join(root, `case${i}`), { ...spec, seed: 100 + i });
      const { config, params } = await loadCheckpoint(ckpt.dir);
      try {
        const got = engineLogits(config, params, batch);
        const want = referenceMlmLogits(ckpt.config, ckpt.weights, batch.ids, batch.mask, batch.types);
        assert.ok(maxAbs(want) > 0.5, `logits should be of order 1, max |logit| = ${maxAbs(want)}`);
        const err = maxAbsDiff(got, want);
        assert.ok(err <= 1e-5, `max |engine − reference| = ${err}`);
      } finally {
        disposeParams(params);
      }
    });
  });

  it('a token-type change changes BERT logits exactly as the reference says', async () => {
    const ckpt = await writeTinyCheckpoint(path.join(root, 'types'), { modelType: 'bert', seed: 7 });
    const { config, params } = await loadCheckpoint(ckpt.dir);
    try {
      const ids = [[2, 5, 9, 3, 7, 3]];
      const mask = [[1, 1, 1, 1, 1, 1]];
      const a = engineLogits(config, params, { ids, mask, types: [[0, 0, 0, 0, 0, 0]] });
      const b = engineLogits(config, params, { ids, mask, types: [[0, 0, 0, 0, 1, 1]] });
      assert.ok(maxAbsDiff(a, b) > 1e-2, 'segment B embeddings must change the logits');
      const want = referenceMlmLogits(ckpt.config, ckpt.weights, ids, mask, [[0, 0, 0, 0, 1, 1]]);
      assert.ok(maxAbsDiff(b, want) <= 1e-5);
    } finally {
      disposeParams(params);
    }
  });

  for (const modelType of ['bert', 'roberta'] as const) {
    it(`${modelType}: a padded batch gives the unpadded logits at real positions`, async () => {
      const ckpt = await writeTinyCheckpoint(path.join(root, `pad-${modelType}`), { modelType, seed: 11 });
      const { config, params } = await loadCheckpoint(ckpt.dir);
      try {
        const pad = config.padTokenId;
        const seq = modelType === 'bert' ? [2, 17, 18, 19, 3] : [0, 17, 18, 19, 2];
        const alone = engineLogits(config, params, { ids: [seq], mask: [[1, 1, 1, 1, 1]] })[0];
        const padded = engineLogits(config, params, {
          ids: [[...seq, pad, pad, pad], [4, 5, 6, 7, 8, 9, 10, 11]],
          mask: [[1, 1, 1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1]],
        })[0];
        const err = maxAbsDiff([alone], [padded.slice(0, 5)]);
        assert.ok(err <= 1e-5, `right padding changed real-position logits by ${err}`);
        if (modelType === 'roberta') {
          // RoBERTa's position ids skip pad tokens, so left padding must not change anything either.
          const left = engineLogits(config, params, { ids: [[pad, pad, ...seq]], mask: [[0, 0, 1, 1, 1, 1, 1]] })[0];
          const errLeft = maxAbsDiff([alone], [left.slice(2)]);
          assert.ok(errLeft <= 1e-5, `left padding changed real-position logits by ${errLeft}`);
        }
      } finally {
        disposeParams(params);
      }
    });
  }

  it('mlmLogits with vocabIds returns exactly those columns of the full logits', async () => {
    const ckpt = await writeTinyCheckpoint(path.join(root, 'vocab'), { modelType: 'roberta', tied: false, seed: 3 });
    const { config, params } = await loadCheckpoint(ckpt.dir);
    try {
      tf.tidy(() => {
        const h = encode(params, config, {
          inputIds: tf.tensor2d([[0, 5, 6, 2], [0, 9, 2, 1]], undefined, 'int32'),
          attentionMask: tf.tensor2d([[1, 1, 1, 1], [1, 1, 1, 0]], undefined, 'int32'),
        }, { training: false });
        const atMask = hiddenAt(h, [1, 2]); // [B, H]
        const full = mlmLogits(params, config, atMask).arraySync(); // [B, V]
        const ids = [30, 4, 17];
        const some = mlmLogits(params, config, atMask, ids).arraySync(); // [B, C]
        full.forEach((row, b) => ids.forEach((id, c) => assert.ok(Math.abs(row[id] - some[b][c]) < 1e-6)));
      });
    } finally {
      disposeParams(params);
    }
  });

  it('a forward pass leaves no tensor behind', async () => {
    const ckpt = await writeTinyCheckpoint(path.join(root, 'leak'), { modelType: 'bert', seed: 5 });
    const { config, params } = await loadCheckpoint(ckpt.dir);
    try {
      const inputIds = tf.tensor2d([[2, 5, 9, 3]], undefined, 'int32');
      const attentionMask = tf.tensor2d([[1, 1, 1, 0]], undefined, 'int32');
      const before = tf.memory().numTensors;
      for (const training of [false, true]) {
        const h = encode(params, config, { inputIds, attentionMask }, { training, seed: 1 });
        const h0 = hiddenAt(h, [1]);
        const logits = mlmLogits(params, config, h0, [4, 5]);
        h.dispose(); h0.dispose(); logits.dispose();
      }
      assert.equal(tf.memory().numTensors, before);
      inputIds.dispose(); attentionMask.dispose();
    } finally {
      disposeParams(params);
    }
  });
});
