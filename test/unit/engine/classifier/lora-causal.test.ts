/**
 * LoRA on the causal families: GPT-2 stores its projections as Conv1D weights [in, out] ('in-out'), the Llama layout
 * as nn.Linear [out, in]. For both, the LoRA model (classifier/lora.ts) is what the LoRA kernel linearises: at B = 0
 * the view is the frozen model, and the plain eNTK over (B, A) equals loraSubspace's projected kernel. Tiny random
 * checkpoints, cpu backend; f = next-token logits of the label ids at the last token.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import '../../../../src/engine/backend';
import type { EncodedExample } from '../../../../src/engine/classifier/batch';
import { loraModel } from '../../../../src/engine/classifier/lora';
import { promptClassifier, type Classifier } from '../../../../src/engine/classifier/masked-lm-classifier';
import { empiricalNtkFn } from '../../../../src/engine/kernel/empirical-ntk';
import { loraSubspace } from '../../../../src/engine/kernel/parameter-subsets';
import { causalFamilyFor, randomCausalParams } from '../../../../src/engine/model/causal';
import { disposeParams } from '../../../../src/engine/model';

const LABELS = [7, 11, 30];
const ex = (inputIds: number[]): EncodedExample => ({ inputIds, tokenTypeIds: inputIds.map(() => 0), maskPos: inputIds.length - 1 });
const TRAIN = [ex([2, 5, 9, 14, 3]), ex([21, 8, 3]), ex([33, 17, 26, 12, 3, 4]), ex([6, 3])];
const TEST = [ex([19, 4, 3]), ex([28, 10, 15, 3, 9])];
const maxAbs = (a: ArrayLike<number>) => { let m = 0; for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i])); return m; };
const evalOf = (classify: Classifier) => (x: EncodedExample) => classify([x], { training: false });

const CONFIGS: [string, Record<string, unknown>][] = [
  ['gpt2 (Conv1D, in-out)', { model_type: 'gpt2', vocab_size: 40, n_embd: 16, n_layer: 2, n_head: 2, n_positions: 32, resid_pdrop: 0, embd_pdrop: 0, attn_pdrop: 0 }],
  ['llama with GQA (Linear, out-in)', { model_type: 'llama', vocab_size: 40, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 24, max_position_embeddings: 32 }],
];

describe('classifier/lora on causal LMs: the LoRA model is what the LoRA kernel linearises, in either weight layout', function () {
  this.timeout(120_000);
  before(async () => { await tf.setBackend('cpu'); });

  for (const [name, json] of CONFIGS) {
    it(`${name}: targets are the attention and MLP projections; at B = 0 the view is the frozen model; eNTK over (B, A) = the projected kernel`, async () => {
      const family = causalFamilyFor(json.model_type as string)!;
      const config = family.parseConfig(json, '<test>');
      const params = randomCausalParams(config, 5);
      const sub = loraSubspace(params, (n) => family.parameterGroup(n, config), { rank: 2, alpha: 4, seed: 3, isTarget: (n) => family.loraTarget.test(n), layout: family.loraLayout });
      const lm = loraModel(params, sub, { rank: 2, alpha: 4, layout: family.loraLayout });
      try {
        const targets = sub.parameters.filter((p) => p.project).map((p) => p.name!);
        assert.equal(targets.length, config.modelType === 'gpt2' ? 4 * 2 : 7 * 2, `targets: ${targets.join(', ')}`);
        const base = promptClassifier(params, config, 0, LABELS);
        const lora = promptClassifier(lm.view, config, 0, LABELS);
        const xs = [...TRAIN, ...TEST];
        assert.deepEqual(tf.tidy(() => lora(xs, { training: false }).dataSync()), tf.tidy(() => base(xs, { training: false }).dataSync()));
        const sets = [{ name: 'test', inputs: TEST }];
        const projected = await empiricalNtkFn(evalOf(base), sub.parameters, { kinds: ['sgd', 'signgd'] })(TRAIN, sets);
        const explicit = await empiricalNtkFn(evalOf(lora), lm.kernelParameters, { kinds: ['sgd', 'signgd'] })(TRAIN, sets);
        for (const set of ['train', 'test']) {
          const kP = projected.sgd![set].data;
          const kE = explicit.sgd![set].data;
          const scale = maxAbs(kP);
          assert.ok(scale > 0);
          kE.forEach((v, i) => assert.ok(Math.abs(v - kP[i]) <= 1e-5 * scale, `sgd/${set} entry ${i}: ${v} vs ${kP[i]}`));
          assert.deepEqual(explicit.signgd![set].data, projected.signgd![set].data, `signgd/${set}`);
        }
        // B ≠ 0 moves f: the view really adds s·B·A in the layout of the weight.
        tf.tidy(() => { for (const [n, v] of lm.trainable) if (n.endsWith('.lora_B')) v.assign(tf.fill(v.shape, 0.1)); });
        const moved = tf.tidy(() => tf.sub(lora(xs, { training: false }), base(xs, { training: false })).dataSync());
        assert.ok(maxAbs(moved) > 1e-4, `B ≠ 0 changes the outputs (${maxAbs(moved)})`);
      } finally {
        lm.dispose();
        sub.dispose();
        disposeParams(params);
      }
    });
  }
});
