/**
 * ModernBERT (model/modernbert/): config.json (v4 and v5 spellings), checkpoint folders, and the forward pass against
 * the independent float64 twin (test/support/reference-modernbert.ts): logits at every real position of a right-padded
 * batch, with local layers whose window is shorter than the inputs, distinct global/local rotary bases, layer 0 without
 * attn_norm, tied and untied decoders, every optional bias; per-example gradients of f_c (the [MASK] row's label-word
 * logit) against central finite differences of the twin.
 */
import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../../src/engine/backend';
import { disposeParams, type Params } from '../../../../src/engine/model';
import { languageModel } from '../../../../src/engine/model/language-model';
import { inspectAnyCheckpoint, loadAnyCheckpoint } from '../../../../src/engine/model/load';
import {
  modernBertConfigToJson, parseModernBertConfig, randomModernBertParams, saveModernBertCheckpoint, untieModernBertDecoder, type ModernBertConfig,
} from '../../../../src/engine/model/modernbert';
import { encodeSafetensors } from '../../../../src/engine/model/safetensors';
import { assertMatchesFiniteDifferences } from '../../../support/finite-differences';
import { modernBertRefShapes, referenceModernBertLogits, type ModernBertRefWeights } from '../../../support/reference-modernbert';
import { prng } from '../../../support/tiny-checkpoint';
import { tinyModernBertConfig, writeTinyModernBert } from '../../../support/tiny-modernbert-checkpoint';

/** answerdotai/ModernBERT-base's config.json (the keys that matter here). */
const BASE = {
  architectures: ['ModernBertForMaskedLM'], model_type: 'modernbert', vocab_size: 50368, hidden_size: 768,
  intermediate_size: 1152, num_hidden_layers: 22, num_attention_heads: 12, hidden_activation: 'gelu',
  max_position_embeddings: 8192, norm_eps: 1e-5, norm_bias: false, global_rope_theta: 160000.0, local_rope_theta: 10000.0,
  global_attn_every_n_layers: 3, local_attention: 128, attention_bias: false, mlp_bias: false, decoder_bias: true,
  classifier_activation: 'gelu', classifier_bias: false, pad_token_id: 50283, cls_token_id: 50281, sep_token_id: 50282,
};

const SEQS = [[5, 12, 3, 33, 7, 21, 8, 30, 14, 2, 26], [9, 1, 38, 16, 4, 27, 11]]; // lengths 11 and 7
const MASK_AT = [4, 2]; // f is read at these rows (a [MASK] inside the input: tokens on both sides)

/** Logits [B][T][V] of the engine at every position of the right-padded batch SEQS. */
function engineLogits(config: ModernBertConfig, params: Params): number[][][] {
  const lm = languageModel(config);
  const T = Math.max(...SEQS.map((s) => s.length));
  return tf.tidy(() => {
    const h = lm.hidden(params, {
      inputIds: tf.tensor2d(SEQS.map((s) => [...s, ...new Array<number>(T - s.length).fill(0)]), undefined, 'int32'),
      attentionMask: tf.tensor2d(SEQS.map((s) => [...s.map(() => 1), ...new Array<number>(T - s.length).fill(0)]), undefined, 'int32'),
    }, { training: false }); // [B, T, H]
    const [B, , H] = h.shape;
    const all = [...Array(config.vocabSize).keys()];
    return tf.reshape(lm.logits(params, tf.reshape(h, [B * T, H]) as tf.Tensor2D, all), [B, T, config.vocabSize]).arraySync() as number[][][];
  });
}

const CASES: { title: string; config: Record<string, unknown> }[] = [
  { title: 'defaults: tied decoder with bias, no other biases, exact GELU', config: tinyModernBertConfig() },
  {
    title: 'every bias (norm, attention, mlp, classifier), untied decoder, tanh GELU MLP and SiLU head, v5 layer_types and rope_parameters',
    config: tinyModernBertConfig({
      norm_bias: true, attention_bias: true, mlp_bias: true, classifier_bias: true, tie_word_embeddings: false,
      hidden_activation: 'gelu_pytorch_tanh', classifier_activation: 'silu', global_attn_every_n_layers: undefined,
      layer_types: ['sliding_attention', 'full_attention', 'sliding_attention', 'full_attention'],
      rope_parameters: { full_attention: { rope_type: 'default', rope_theta: 50 }, sliding_attention: { rope_type: 'default', rope_theta: 7 } },
    }),
  },
  { title: 'no decoder bias, local_attention 2 (half window 1), every layer local but layer 0', config: tinyModernBertConfig({ decoder_bias: false, local_attention: 2, global_attn_every_n_layers: 5 }) },
];

describe('model/modernbert: config.json, checkpoints, and the forward pass against the float64 twin', function () {
  this.timeout(120000);
  let root: string;
  before(async () => {
    await initBackend('cpu');
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ntk-lens-modernbert-'));
  });
  after(async () => { await fs.rm(root, { recursive: true, force: true }); });

  it('reads ModernBERT-base\'s config.json: layers 0, 3, 6, … global, half window 64, θ 160000 / 10000; round-trips', () => {
    const c = parseModernBertConfig(BASE, 'config.json');
    assert.deepEqual(c.globalLayers.map((g, i) => (g ? i : -1)).filter((i) => i >= 0), [0, 3, 6, 9, 12, 15, 18, 21]);
    assert.equal(c.headDim, 64);
    assert.equal(c.localAttention, 128);
    assert.deepEqual([c.globalRopeTheta, c.localRopeTheta], [160000, 10000]);
    assert.deepEqual([c.normBias, c.attentionBias, c.mlpBias, c.headBias, c.decoderBias, c.tieWordEmbeddings], [false, false, false, false, true, true]);
    assert.deepEqual(parseModernBertConfig(modernBertConfigToJson(c), 'again.json'), c);
    const { global_rope_theta: _g, local_rope_theta: _l, global_attn_every_n_layers: _e, ...v4less } = BASE;
    const v5 = parseModernBertConfig({ ...v4less, layer_types: c.globalLayers.map((g) => (g ? 'full_attention' : 'sliding_attention')),
      rope_parameters: { full_attention: { rope_type: 'default', rope_theta: 160000 }, sliding_attention: { rope_type: 'default', rope_theta: 10000 } } }, 'v5.json');
    assert.deepEqual(v5, c);
    assert.equal(parseModernBertConfig({ ...BASE, local_rope_theta: null }, 'c.json').localRopeTheta, 160000);
    // a v5 rope_parameters without one kind (or without its θ) takes the v4 key, else the default, as transformers
    const partial = parseModernBertConfig({ ...v4less, rope_parameters: { full_attention: { rope_type: 'default', rope_theta: 5e5 }, sliding_attention: { rope_type: 'default' } } }, 'p.json');
    assert.deepEqual([partial.globalRopeTheta, partial.localRopeTheta], [5e5, 10000]);
  });

  it('config errors name the file and the key', () => {
    assert.throws(() => parseModernBertConfig({ ...BASE, num_attention_heads: 5 }, '/m/config.json'), /^Error: \/m\/config\.json: "hidden_size" 768 is not divisible by "num_attention_heads" 5/);
    assert.throws(() => parseModernBertConfig({ ...BASE, hidden_activation: 'swiglu' }, 'c.json'), /c\.json: "hidden_activation" "swiglu" is not supported/);
    assert.throws(() => parseModernBertConfig({ ...BASE, layer_types: ['full_attention'] }, 'c.json'), /c\.json: "layer_types" must list .* each of the 22 layers/);
    assert.throws(() => parseModernBertConfig({ ...BASE, rope_parameters: { full_attention: { rope_type: 'yarn', rope_theta: 1 }, sliding_attention: { rope_theta: 1 } } }, 'c.json'),
      /c\.json: "rope_parameters\.full_attention" must be \{"rope_type": "default"/);
    assert.throws(() => parseModernBertConfig({ ...BASE, global_attn_every_n_layers: 0 }, 'c.json'), /"global_attn_every_n_layers" must be an integer ≥ 1/);
  });

  it('checkpoints: bare ModernBertModel keys get `model.`, a tied decoder.weight is skipped, a stray or missing tensor is refused naming the file; save → load is exact', async () => {
    const cfg = tinyModernBertConfig();
    const bare = await writeTinyModernBert(path.join(root, 'bare'), cfg, 3, (n) => n.replace(/^model\./, ''));
    const loaded = await loadAnyCheckpoint(bare.dir);
    try {
      assert.equal(loaded.config.modelType, 'modernbert');
      assert.deepEqual([...loaded.params.keys()], modernBertRefShapes(cfg).map(([n]) => n));
      assert.ok(!loaded.params.has('model.layers.0.attn_norm.weight'), 'layer 0 has no attn_norm');
      assert.deepEqual([...(await loaded.params.get('model.final_norm.weight')!.data())], [...bare.weights.get('model.final_norm.weight')!.values]);
      const again = path.join(root, 'saved');
      await saveModernBertCheckpoint(again, loaded.config as ModernBertConfig, loaded.params);
      const reread = await loadAnyCheckpoint(again);
      assert.deepEqual(reread.config, loaded.config);
      for (const [n, v] of reread.params) assert.deepEqual([...(await v.data())], [...(await loaded.params.get(n)!.data())], n);
      disposeParams(reread.params);
      assert.equal((await inspectAnyCheckpoint(again)).config.modelType, 'modernbert');
    } finally {
      disposeParams(loaded.params);
    }
    const withTied = await writeTinyModernBert(path.join(root, 'tied-copy'), cfg, 3);
    const entries = (extra: { name: string; shape: number[]; data: Float32Array }[], drop?: string) => encodeSafetensors([
      ...[...withTied.weights].filter(([n]) => n !== drop).map(([name, t]) => ({ name, shape: t.shape, data: Float32Array.from(t.values) })), ...extra], 'F32');
    const tok = withTied.weights.get('model.embeddings.tok_embeddings.weight')!;
    await fs.writeFile(path.join(withTied.dir, 'model.safetensors'), entries([{ name: 'decoder.weight', shape: tok.shape, data: Float32Array.from(tok.values) }]));
    disposeParams((await loadAnyCheckpoint(withTied.dir)).params);
    await fs.writeFile(path.join(withTied.dir, 'model.safetensors'), entries([{ name: 'classifier.weight', shape: [2, 16], data: new Float32Array(32) }]));
    await assert.rejects(loadAnyCheckpoint(withTied.dir), /model\.safetensors: unexpected tensor "classifier\.weight".*not a plain modernbert masked-LM checkpoint/);
    await fs.writeFile(path.join(withTied.dir, 'model.safetensors'), entries([], 'model.layers.2.mlp.Wi.weight'));
    await assert.rejects(inspectAnyCheckpoint(withTied.dir), /model\.safetensors: missing tensor "model\.layers\.2\.mlp\.Wi\.weight" with shape \[24, 16\]/);
  });

  CASES.forEach(({ title, config: cfgJson }, n) => {
    it(`${title}: logits at every real position of a padded batch equal the twin's (float32 vs float64)`, async () => {
      const ckpt = await writeTinyModernBert(path.join(root, `logits${n}`), cfgJson as ReturnType<typeof tinyModernBertConfig>, 20 + n);
      const { config, params } = await loadAnyCheckpoint(ckpt.dir);
      try {
        const got = engineLogits(config as ModernBertConfig, params);
        SEQS.forEach((seq, b) => {
          const want = referenceModernBertLogits(ckpt.config, ckpt.weights, seq);
          const scale = Math.max(...want.flat().map(Math.abs));
          want.forEach((row, t) => row.forEach((x, v) => {
            assert.ok(Math.abs(got[b][t][v] - x) <= 2e-5 * scale + 1e-6, `seq ${b} position ${t} id ${v}: ${got[b][t][v]} vs ${x} (scale ${scale})`);
          }));
        });
        // The windows matter here: the twin with every layer global gives other logits.
        const allGlobal = referenceModernBertLogits({ ...ckpt.config, global_attn_every_n_layers: 1, layer_types: undefined }, ckpt.weights, SEQS[0]);
        assert.ok(Math.max(...allGlobal.flat().map((x, i) => Math.abs(x - referenceModernBertLogits(ckpt.config, ckpt.weights, SEQS[0]).flat()[i]))) > 1e-3);
      } finally {
        disposeParams(params);
      }
    });
  });

  CASES.forEach(({ title, config: cfgJson }, n) => {
    it(`${title}: ∂f_c/∂θ (the [MASK] row's label logits) at 3 coordinates of every tensor equal central differences of the twin`, async () => {
      const ckpt = await writeTinyModernBert(path.join(root, `grad${n}`), cfgJson as ReturnType<typeof tinyModernBertConfig>, 40 + n);
      const { config, params } = await loadAnyCheckpoint(ckpt.dir);
      const lm = languageModel(config);
      const LABELS = [3, 17, 29];
      try {
        const rand = prng(70 + n);
        const pick = (k: number): number => Math.floor(rand() * k);
        const tokens = [...new Set(SEQS.flat())];
        const coords = new Map<string, number[]>();
        for (const [name, shape] of modernBertRefShapes(ckpt.config)) {
          const size = shape.reduce((a, b) => a * b, 1);
          const cols = shape.length === 2 ? shape[1] : 1;
          const rows = name === 'model.embeddings.tok_embeddings.weight' ? [...tokens, ...LABELS] : /^decoder\./.test(name) ? LABELS : undefined;
          coords.set(name, rows ? [rows[pick(rows.length)] * cols + pick(cols), rows[pick(rows.length)] * cols + pick(cols), pick(size)] : [pick(size), pick(size), pick(size)]);
        }
        const T = Math.max(...SEQS.map((s) => s.length));
        const inputIds = tf.tensor2d(SEQS.map((s) => [...s, ...new Array<number>(T - s.length).fill(0)]), undefined, 'int32');
        const attentionMask = tf.tensor2d(SEQS.map((s) => [...s.map(() => 1), ...new Array<number>(T - s.length).fill(0)]), undefined, 'int32');
        const nameOf = new Map([...params.entries()].map(([k, v]) => [v.name, k]));
        const auto = new Map<string, number[][][]>([...params.keys()].map((k) => [k, SEQS.map(() => LABELS.map(() => []))]));
        try {
          SEQS.forEach((_, b) => LABELS.forEach((__, c) => {
            const { value, grads } = tf.variableGrads(() => {
              const h = lm.hidden(params, { inputIds, attentionMask }, { training: false }); // [B, T, H]
              const row = tf.reshape(tf.slice(h, [b, MASK_AT[b], 0], [1, 1, config.hiddenSize]), [1, config.hiddenSize]) as tf.Tensor2D;
              return tf.reshape(tf.slice(lm.logits(params, row, LABELS), [0, c], [1, 1]), []) as tf.Scalar;
            }, [...params.values()]);
            for (const [varName, g] of Object.entries(grads)) {
              const data = g === null ? undefined : g.dataSync();
              const name = nameOf.get(varName)!;
              auto.get(name)![b][c] = coords.get(name)!.map((i) => (data ? data[i] : 0));
            }
            value.dispose();
            Object.values(grads).forEach((g) => g?.dispose());
          }));
        } finally {
          inputIds.dispose();
          attentionMask.dispose();
        }
        const weights: ModernBertRefWeights = new Map([...ckpt.weights].map(([k, t]) => [k, { shape: t.shape, values: Float64Array.from(t.values) }]));
        assertMatchesFiniteDifferences({
          weights, coords, eps: 1e-5, rel: 1e-3, floor: 2e-5, labels: LABELS,
          f: () => SEQS.map((seq, b) => { const l = referenceModernBertLogits(ckpt.config, weights, seq); return LABELS.map((id) => l[MASK_AT[b]][id]); }),
          autodiff: (name, b, c, k) => auto.get(name)![b][c][k],
          atLeast: coords.size * 3 * SEQS.length * LABELS.length,
        });
      } finally {
        disposeParams(params);
      }
    });
  });

  it('kernel.untie_decoder: a separate decoder.weight equal to the token embeddings, the same logits, the tied table untouched by it', async () => {
    const ckpt = await writeTinyModernBert(path.join(root, 'untie'), tinyModernBertConfig(), 8);
    const { config, params } = await loadAnyCheckpoint(ckpt.dir);
    const untied = untieModernBertDecoder(config as ModernBertConfig, params);
    try {
      assert.equal(untied.config.tieWordEmbeddings, false);
      const decoder = untied.params.get('decoder.weight')!;
      assert.notEqual(decoder, params.get('model.embeddings.tok_embeddings.weight'));
      assert.deepEqual(engineLogits(untied.config, untied.params), engineLogits(config as ModernBertConfig, params));
      assert.deepEqual([...languageModel(untied.config).expectedShapes().keys()].filter((n) => n.startsWith('decoder.')), ['decoder.weight', 'decoder.bias']);
      const table = Float32Array.from(await params.get('model.embeddings.tok_embeddings.weight')!.data());
      decoder.assign(tf.zerosLike(decoder));
      assert.deepEqual(Float32Array.from(await params.get('model.embeddings.tok_embeddings.weight')!.data()), table, 'the token embeddings are not the decoder');
    } finally {
      untied.params.get('decoder.weight')!.dispose();
      disposeParams(params);
    }
  });

  it('random parameters: norms 1, biases 0, weights ~ N(0, 0.02); the same seed gives the same values', async () => {
    const config = parseModernBertConfig(tinyModernBertConfig({ norm_bias: true, attention_bias: true }), 'c.json');
    const a = randomModernBertParams(config, 5);
    const b = randomModernBertParams(config, 5);
    try {
      for (const [name, v] of a) {
        const d = Float32Array.from(await v.data());
        if (/norm\.weight$/.test(name)) assert.ok(d.every((x) => x === 1), name);
        else if (name.endsWith('.bias')) assert.ok(d.every((x) => x === 0), name);
        else assert.ok(Math.abs(Math.sqrt(d.reduce((s, x) => s + x * x, 0) / d.length) - 0.02) < 0.01, name);
        assert.deepEqual([...d], [...(await b.get(name)!.data())]);
      }
    } finally {
      disposeParams(a);
      disposeParams(b);
    }
  });
});
