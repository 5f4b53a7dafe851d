import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { empiricalNtkFn } from '../../../../src/engine/kernel/empirical-ntk';
import { loraSubspace, selectParameters } from '../../../../src/engine/kernel/parameter-subsets';
import { groupOfToy, makeTokenModel, type TokenInput } from './toy-models';

const XS: TokenInput[] = [{ ids: [1, 3, 3, 0], mask: 2 }, { ids: [4, 4, 4, 6], mask: 0 }, { ids: [2, 5, 1, 3], mask: 3 }];

describe('kernel/parameter-subsets', () => {
  before(async () => { await tf.setBackend('cpu'); });

  it('selects parameters by group for all / no-embeddings / head and by name for biases', () => {
    const m = makeTokenModel(1);
    try {
      const names = (s: Parameters<typeof selectParameters>[1]) => selectParameters(m.params, s, groupOfToy).map((p) => p.name);
      assert.equal(names('all').length, 6);
      assert.deepEqual(names('no-embeddings'), ['encoder.mix', 'encoder.layer.0.attention.self.query.weight', 'encoder.bias', 'head.decoder', 'head.bias']);
      assert.deepEqual(names('head'), ['head.decoder', 'head.bias']);
      assert.deepEqual(names('biases'), ['encoder.bias', 'head.bias']);
      assert.throws(() => selectParameters(new Map([['embeddings.word', m.vars[0]]]), 'head', groupOfToy), /selects no parameter/);
    } finally { m.dispose(); }
  });

  it('gives the LoRA kernel of the projected gradients equal to the eNTK of an explicit LoRA model over (B, A, head) at B = 0', async () => {
    const rank = 2, alpha = 4, H = 3;
    const base = makeTokenModel(9);
    const lora = loraSubspace(base.params, groupOfToy, { rank, alpha, seed: 3 });
    const A = lora.loraA.get('encoder.layer.0.attention.self.query.weight')!;
    assert.deepEqual(A.shape, [rank, H]);
    const a = Array.from(A.dataSync());
    assert.ok(a.every((v) => Math.abs(v) <= 1 / Math.sqrt(H)) && new Set(a).size === a.length, 'A ~ U(−1/√in, 1/√in)');
    // The explicit LoRA model: W' = W + (α/r)·B·A with trainable B [H, r] = 0 and A [r, H] (same values, same seed).
    const B = tf.variable(tf.zeros([H, rank]));
    const Avar = tf.variable(A.clone());
    const explicit = makeTokenModel(9, { denseOverride: (w) => tf.add(w, tf.matMul(B, Avar).mul(alpha / rank)) as tf.Tensor2D });
    try {
      const kProjected = (await empiricalNtkFn(base.outputFn, lora.parameters, { kinds: ['sgd'] })(XS, [])).sgd!.train.data;
      const head = [explicit.params.get('head.decoder')!, explicit.params.get('head.bias')!];
      const kExplicit = (await empiricalNtkFn(explicit.outputFn, [B, Avar, ...head], { kinds: ['sgd'] })(XS, [])).sgd!.train.data;
      const kHeadOnly = (await empiricalNtkFn(base.outputFn, selectParameters(base.params, 'head', groupOfToy), { kinds: ['sgd'] })(XS, [])).sgd!.train.data;
      const scale = kExplicit.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      kExplicit.forEach((v, i) => assert.ok(Math.abs(kProjected[i] - v) <= 1e-6 * scale, `entry ${i}: ${kProjected[i]} vs ${v}`));
      // and the projected attention gradients do contribute (the kernel is not just the head's)
      assert.ok(kProjected.some((v, i) => Math.abs(v - kHeadOnly[i]) > 1e-3 * scale));
    } finally {
      lora.dispose(); base.dispose(); explicit.dispose(); B.dispose(); Avar.dispose();
    }
  });
});
