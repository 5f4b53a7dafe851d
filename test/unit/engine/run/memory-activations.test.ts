/**
 * The activation term of the memory estimate (run/memory-fit.ts activationBytes) against what tfjs really keeps: the
 * peak of the distinct tensor buffers alive (util/byte-peaks.ts) during one fine-tuning forward and backward pass
 * (prompt logits, cross-entropy, dropout on) on the wasm backend, for each kind of layer the estimate distinguishes:
 * BERT's post-LN block with exact GELU, GPT-2's pre-LN block with the tanh GELU, the Llama layout (RMSNorm, rotary,
 * GQA, SwiGLU), ALBERT's one shared layer and ModernBERT's (GeGLU from one fused Wi), at two lengths. Measured minus the gradients the pass returns must not
 * exceed the estimate (a run it passes must not overflow wasm's heap), and the estimate must stay within 1.6× of it (a
 * run that fits must not be refused).
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../../src/engine/backend';
import { promptClassifier } from '../../../../src/engine/classifier/masked-lm-classifier';
import { crossEntropyLoss } from '../../../../src/engine/finetune/losses';
import { disposeParams, makeEncoderConfig, randomParams, type Params } from '../../../../src/engine/model';
import { parseCausalConfig, randomCausalParams } from '../../../../src/engine/model/causal';
import type { ModelConfig } from '../../../../src/engine/model/language-model';
import { parseModernBertConfig, randomModernBertParams } from '../../../../src/engine/model/modernbert';
import { activationBytes, mlpActivationFactor } from '../../../../src/engine/run/memory-fit';
import { BytePeaks } from '../../../../src/engine/util/byte-peaks';

const H = 64, L = 3, NH = 4, I = 256, B = 4, V = 200;

const MODELS: { name: string; act: string; width?: number; make: () => { config: ModelConfig; params: Params } }[] = [
  { name: 'BERT (post-LN, exact GELU)', act: 'gelu', make: () => { const config = makeEncoderConfig({ modelType: 'bert', vocabSize: V, hiddenSize: H, numLayers: L, numHeads: NH, intermediateSize: I, maxPositions: 128, hiddenAct: 'gelu' }); return { config, params: randomParams(config, 1) }; } },
  { name: 'ALBERT (one shared layer, E = 32, tanh GELU)', act: 'gelu_new', make: () => { const config = makeEncoderConfig({ modelType: 'albert', vocabSize: V, embeddingSize: 32, hiddenSize: H, numLayers: L, numHeads: NH, intermediateSize: I, maxPositions: 128, hiddenAct: 'gelu_new' }); return { config, params: randomParams(config, 1) }; } },
  { name: 'GPT-2 (pre-LN, tanh GELU)', act: 'gelu_new', make: () => { const config = parseCausalConfig({ model_type: 'gpt2', vocab_size: V, n_positions: 128, n_embd: H, n_layer: L, n_head: NH, n_inner: I }, 'test'); return { config, params: randomCausalParams(config, 1) }; } },
  { name: 'Llama (RMSNorm, rotary, GQA, SwiGLU)', act: 'silu', make: () => { const config = parseCausalConfig({ model_type: 'llama', vocab_size: V, hidden_size: H, intermediate_size: I, num_hidden_layers: L, num_attention_heads: NH, num_key_value_heads: 2, max_position_embeddings: 128 }, 'test'); return { config, params: randomCausalParams(config, 1) }; } },
  ...[I, 96].map((width) => ({
    // at I = 4·H as the others, and at ModernBERT-base's own I = 1.5·H (the GeGLU's share of its layer is smaller there)
    name: `ModernBERT (rotary, GeGLU, local/global attention, no biases), I = ${width}`, act: 'geglu', width,
    make: () => { const config = parseModernBertConfig({ model_type: 'modernbert', vocab_size: V, hidden_size: H, intermediate_size: width, num_hidden_layers: L, num_attention_heads: NH, max_position_embeddings: 128, pad_token_id: 0, local_attention: 16 }, 'test'); return { config, params: randomModernBertParams(config, 1) }; },
  })),
];

describe('run/memory-fit: the activation estimate against the buffers a fine-tuning pass keeps (wasm)', function () {
  this.timeout(120_000);
  let previous: string;
  before(async () => { previous = tf.getBackend(); await initBackend('wasm'); });
  after(async () => { if (previous) await tf.setBackend(previous); });

  for (const { name, act, width, make } of MODELS) {
    it(`${name}: measured ≤ estimate ≤ 1.6 × measured, at 24 and 64 tokens`, () => {
      const { config, params } = make();
      try {
        const vars = [...new Set(params.values())];
        const P = vars.reduce((a, v) => a + v.size, 0);
        const f = promptClassifier(params, config, 0, [5, 9]);
        for (const T of [24, 64]) {
          const xs = Array.from({ length: B }, (_, b) => ({ inputIds: Array.from({ length: T }, (_, i) => 10 + ((b * 37 + i * 13) % (V - 20))), tokenTypeIds: new Array<number>(T).fill(0), maskPos: T - 1 }));
          const peaks = new BytePeaks();
          const base = peaks.dataBytes;
          try {
            const { value, grads } = tf.variableGrads(() => crossEntropyLoss(f(xs, { training: true, seed: 3 }), xs.map((_, i) => i % 2)), vars);
            tf.dispose([value, ...Object.values(grads)]);
          } finally {
            peaks.stop();
          }
          const kept = peaks.dataBytes - base - 4 * P; // what the pass kept beyond the gradients it returns
          const estimate = activationBytes({ parameters: P, hiddenSize: H, numLayers: L, numHeads: NH, intermediateSize: width ?? I, mlpActivations: mlpActivationFactor(act) }, B, T);
          console.log(`      T ${T}: kept ${(kept / 2 ** 20).toFixed(2)} MiB (${(kept / (4 * B * T * L * H)).toFixed(1)} H per token and layer), estimate ${(estimate / 2 ** 20).toFixed(2)} MiB`);
          assert.ok(kept > 0, `${name}, T ${T}: nothing measured`);
          assert.ok(kept <= estimate, `${name}, T ${T}: kept ${(kept / 2 ** 20).toFixed(2)} MiB > estimate ${(estimate / 2 ** 20).toFixed(2)} MiB`);
          assert.ok(estimate <= 1.6 * kept, `${name}, T ${T}: estimate ${(estimate / 2 ** 20).toFixed(2)} MiB > 1.6 × kept ${(kept / 2 ** 20).toFixed(2)} MiB`);
        }
      } finally {
        disposeParams(params);
      }
    });
  }
});
