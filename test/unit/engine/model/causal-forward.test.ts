import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../../src/engine/backend';
import { disposeParams, encodeSafetensors, type Params } from '../../../../src/engine/model';
import {
  causalFamilyFor, inspectCausalCheckpoint, loadCausalCheckpoint, parseCausalConfig, randomCausalParams, rotaryInverseFrequencies,
  saveCausalCheckpoint, type CausalConfig, type CausalFamily,
} from '../../../../src/engine/model/causal';

const cfg = (json: Record<string, unknown>): CausalConfig => parseCausalConfig(json, '<test config.json>');
const familyOf = (c: CausalConfig): CausalFamily => causalFamilyFor(c.modelType)!;

const V = 40;
const CASES: Record<string, CausalConfig> = {
  'gpt2 (tied)': cfg({ model_type: 'gpt2', vocab_size: V, n_positions: 16, n_embd: 12, n_layer: 2, n_head: 3, n_inner: 20 }),
  'gpt2 (untied)': cfg({ model_type: 'gpt2', vocab_size: V, n_positions: 16, n_embd: 8, n_layer: 2, n_head: 2, tie_word_embeddings: false }),
  'gpt-neox rotary_pct 0.25, parallel residual': cfg({
    model_type: 'gpt_neox', vocab_size: V, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2,
    intermediate_size: 32, rotary_pct: 0.25, max_position_embeddings: 32, use_parallel_residual: true,
  }),
  'gpt-neox rotary_pct 0.25, sequential residual, tied': cfg({
    model_type: 'gpt_neox', vocab_size: V, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2,
    intermediate_size: 32, rotary_pct: 0.25, max_position_embeddings: 32, use_parallel_residual: false,
    tie_word_embeddings: true,
  }),
  'llama GQA nh=4 nkv=2 (untied)': cfg({
    model_type: 'llama', vocab_size: V, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32,
  }),
  'llama llama3 rope_scaling (tied)': cfg({
    model_type: 'llama', vocab_size: V, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
    num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 32, tie_word_embeddings: true,
    rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8 },
  }),
  'qwen2 q/k/v biases (tied)': cfg({
    model_type: 'qwen2', vocab_size: V, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 32, tie_word_embeddings: true, rope_theta: 1000000,
  }),
  'mistral sliding_window 3': cfg({
    model_type: 'mistral', vocab_size: V, hidden_size: 16, intermediate_size: 24, num_hidden_layers: 2,
    num_attention_heads: 2, num_key_value_heads: 2, max_position_embeddings: 32, sliding_window: 3,
  }),
};

/** Random params with every bias non-zero (random init makes them 0, which would hide bias bugs). */
function randomWithBiases(config: CausalConfig, seed: number): Params {
  const params = randomCausalParams(config, seed);
  let k = 0;
  for (const [name, v] of params) {
    if (name.endsWith('.bias')) v.assign(tf.randomNormal(v.shape, 0, 0.3, 'float32', seed * 31 + k++));
  }
  return params;
}

/** Right-padded batch: rows of ids, padded with `pad` to T (default: the longest row). */
function batchOf(rows: number[][], T = Math.max(...rows.map((r) => r.length)), pad = 0) {
  const ids = rows.map((r) => [...r, ...Array(T - r.length).fill(pad)]);
  const mask = rows.map((r) => [...r.map(() => 1), ...Array(T - r.length).fill(0)]);
  return { inputIds: tf.tensor2d(ids, undefined, 'int32'), attentionMask: tf.tensor2d(mask, undefined, 'int32') };
}

function hiddenOf(family: CausalFamily, params: Params, config: CausalConfig, rows: number[][], T?: number, pad?: number): number[][][] {
  return tf.tidy(() => family.hidden(params, config, batchOf(rows, T, pad), { training: false }).arraySync());
}

/** Next-token logits [V] at each row's last real token. */
function lastLogits(family: CausalFamily, params: Params, config: CausalConfig, rows: number[][], T?: number, pad?: number): number[][] {
  return tf.tidy(() => {
    const h = family.hidden(params, config, batchOf(rows, T, pad), { training: false }); // [B, T, H]
    const last = tf.stack(rows.map((r, b) => tf.slice(h, [b, r.length - 1, 0], [1, 1, config.hiddenSize]).reshape([config.hiddenSize])));
    return family.lmLogits(params, config, last as tf.Tensor2D).arraySync();
  });
}

function assertClose(a: number[] | number[][], b: number[] | number[][], tol: number, what: string): void {
  const x = a.flat(), y = b.flat();
  assert.equal(x.length, y.length, what);
  const worst = Math.max(...x.map((v, i) => Math.abs(v - y[i])));
  assert.ok(worst <= tol, `${what}: max difference ${worst} > ${tol}`);
}

const maxDiff = (a: number[][], b: number[][]): number => Math.max(...a.flat().map((v, i) => Math.abs(v - b.flat()[i])));

describe('engine/model/causal: decoder-only LM forward passes and checkpoints', function () {
  let root: string;
  before(async () => {
    await initBackend('cpu');
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ntk-lens-causal-'));
  });
  after(async () => { await fs.rm(root, { recursive: true, force: true }); });

  for (const [label, config] of Object.entries(CASES)) {
    describe(label, () => {
      const family = familyOf(config);
      let params: Params;
      before(() => { params = randomWithBiases(config, 7); });
      after(() => disposeParams(params));

      it('has exactly the expected tensors; hidden is [B, T, H] and logits [B, V]', () => {
        assert.deepEqual([...params.keys()], [...family.expectedShapes(config).keys()]);
        for (const [name, shape] of family.expectedShapes(config)) assert.deepEqual(params.get(name)!.shape, shape, name);
        const h = hiddenOf(family, params, config, [[1, 2, 3, 4, 5], [6, 7, 8, 0, 0]]);
        assert.deepEqual([h.length, h[0].length, h[0][0].length], [2, 5, config.hiddenSize]);
        assert.ok(h.flat(2).every(Number.isFinite));
        const logits = lastLogits(family, params, config, [[1, 2, 3], [4]]);
        assert.deepEqual([logits.length, logits[0].length], [2, config.vocabSize]);
      });

      it('is causal: changing a later token leaves earlier positions unchanged and changes later ones', () => {
        const a = hiddenOf(family, params, config, [[3, 9, 4, 12, 5, 11, 2]]);
        const b = hiddenOf(family, params, config, [[3, 9, 4, 30, 5, 11, 2]]);
        for (let t = 0; t < 3; t++) assertClose(a[0][t], b[0][t], 1e-6, `position ${t}`);
        for (let t = 3; t < 7; t++) assert.ok(maxDiff([a[0][t]], [b[0][t]]) > 1e-4, `position ${t} should change`);
      });

      it('does not depend on batching or padding: alone vs right-padded beside a longer example', () => {
        const short = [5, 17, 2];
        const long = [8, 1, 33, 4, 9, 21, 6];
        const alone = lastLogits(family, params, config, [short]);
        const batched = lastLogits(family, params, config, [short, long], 9, 13);
        assertClose(alone[0], batched[0], 1e-5, 'short example');
        assertClose(lastLogits(family, params, config, [long])[0], batched[1], 1e-5, 'long example');
        const otherPad = lastLogits(family, params, config, [long, short], 8, 1);
        assertClose(alone[0], otherPad[1], 1e-5, 'other pad id and width');
      });

      it('vocabulary-id logits equal the columns of the full logits', () => {
        const ids = [7, 0, 39, 7];
        const [full, some] = tf.tidy(() => {
          const h = tf.randomNormal([3, config.hiddenSize], 0, 1, 'float32', 5) as tf.Tensor2D;
          return [family.lmLogits(params, config, h).arraySync(), family.lmLogits(params, config, h, ids).arraySync()];
        });
        assertClose(some, full.map((row) => ids.map((i) => row[i])), 1e-6, 'gathered logits');
        assert.throws(() => tf.tidy(() => family.lmLogits(params, config, tf.zeros([1, config.hiddenSize]) as tf.Tensor2D, [V])),
          /vocabulary id 40 is outside \[0, 40\)/);
      });

      it('leaks no tensors (hidden, lmLogits)', () => {
        const batch = batchOf([[1, 2, 3], [4, 5]]);
        const before = tf.memory().numTensors;
        const h = family.hidden(params, config, batch, { training: true, seed: 3 });
        const last = tf.tidy(() => tf.reshape(tf.slice(h, [0, 2, 0], [2, 1, config.hiddenSize]), [2, config.hiddenSize]) as tf.Tensor2D);
        const logits = family.lmLogits(params, config, last, [1, 2]);
        const full = family.lmLogits(params, config, last);
        assert.equal(tf.memory().numTensors, before + 4);
        tf.dispose([h, last, logits, full, batch.inputIds, batch.attentionMask]);
      });

      it('gradients of the label logits reach every parameter', () => {
        const batch = batchOf([[1, 2, 3], [4, 5]]);
        const vars = [...params.values()];
        const { value, grads } = tf.variableGrads(() => {
          const h = family.hidden(params, config, batch, { training: false });
          const last = tf.reshape(tf.slice(h, [0, 1, 0], [2, 1, config.hiddenSize]), [2, config.hiddenSize]) as tf.Tensor2D;
          return tf.sum(family.lmLogits(params, config, last, [3, 11])) as tf.Scalar;
        }, vars);
        try {
          for (const [name, v] of params) {
            const g = grads[v.name];
            assert.ok(g, `${name}: no gradient`);
            assert.deepEqual(g.shape, v.shape, name);
            // a key bias only shifts each query's scores by a constant: its gradient is 0 up to rounding
            if (!/self_attn\.k_proj\.bias$/.test(name)) assert.ok(tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]) > 0, `${name}: zero gradient`);
          }
        } finally {
          tf.dispose([value, ...Object.values(grads), batch.inputIds, batch.attentionMask]);
        }
      });

      it('config.json round trip: parseConfig(configToJson(config)) is the same config', () => {
        assert.deepEqual(family.parseConfig(family.configToJson(config), '<round trip>'), config);
      });

      it('save and load through a folder: same config, tensors and outputs', async () => {
        const dir = path.join(root, label.replace(/\W+/g, '-'));
        await saveCausalCheckpoint(dir, config, params);
        const loaded = await loadCausalCheckpoint(dir);
        try {
          assert.deepEqual(loaded.config, config);
          assert.equal(loaded.family, family);
          assert.deepEqual([...loaded.params.keys()], [...params.keys()]);
          for (const [k, v] of loaded.params) assert.deepEqual(v.dataSync(), params.get(k)!.dataSync(), k);
          assert.deepEqual(lastLogits(family, loaded.params, config, [[1, 2, 3]]), lastLogits(family, params, config, [[1, 2, 3]]));
        } finally {
          disposeParams(loaded.params);
        }
      });
    });
  }

  it('grouped-query attention: nh=4, nkv=2 equals multi-head attention with each k/v head repeated for its 2 query heads', () => {
    const gqa = CASES['llama GQA nh=4 nkv=2 (untied)'];
    const mha = cfg({ ...llamaJson(gqa), num_key_value_heads: 4 });
    const p = randomWithBiases(gqa, 3);
    const q: Params = new Map();
    const hs = gqa.headDim;
    for (const [name, v] of p) {
      if (/self_attn\.[kv]_proj\.weight$/.test(name)) {
        // kv head g serves query heads 2g and 2g+1: rows [g·hs, (g+1)·hs) repeated
        const heads = tf.split(v, 2, 0);
        q.set(name, tf.variable(tf.concat([heads[0], heads[0], heads[1], heads[1]], 0)));
        tf.dispose(heads);
      } else {
        q.set(name, v);
      }
    }
    try {
      assert.deepEqual(q.get('model.layers.0.self_attn.k_proj.weight')!.shape, [4 * hs, 16]);
      assertClose(lastLogits(familyOf(gqa), p, gqa, [[1, 5, 9, 2]]), lastLogits(familyOf(mha), q, mha, [[1, 5, 9, 2]]), 1e-5, 'GQA vs MHA');
    } finally {
      for (const [name, v] of q) if (p.get(name) !== v) v.dispose();
      disposeParams(p);
    }
  });

  it('qwen2: q/k/v have biases and o/MLP none; the biases change the output', () => {
    const config = CASES['qwen2 q/k/v biases (tied)'];
    const names = [...familyOf(config).expectedShapes(config).keys()].filter((n) => n.endsWith('.bias'));
    assert.deepEqual(names.filter((n) => n.includes('layers.0.')), ['q', 'k', 'v'].map((x) => `model.layers.0.self_attn.${x}_proj.bias`));
    const p = randomCausalParams(config, 4);
    try {
      const before = lastLogits(familyOf(config), p, config, [[1, 2, 3]]);
      p.get('model.layers.0.self_attn.k_proj.bias')!.assign(tf.fill([config.numKeyValueHeads * config.headDim], 0.5));
      assert.ok(maxDiff(before, lastLogits(familyOf(config), p, config, [[1, 2, 3]])) > 1e-5);
    } finally {
      disposeParams(p);
    }
    const llamaBias = cfg({ model_type: 'llama', hidden_size: 8, num_attention_heads: 2, attention_bias: true, mlp_bias: true, num_hidden_layers: 1, vocab_size: 10 });
    const keys = [...familyOf(llamaBias).expectedShapes(llamaBias).keys()].filter((n) => n.endsWith('.bias'));
    assert.deepEqual(keys, ['q', 'k', 'v', 'o'].map((x) => `model.layers.0.self_attn.${x}_proj.bias`)
      .concat(['gate', 'up', 'down'].map((x) => `model.layers.0.mlp.${x}_proj.bias`)));
  });

  it('mistral sliding window 3 with 2 layers: a position sees 4 tokens back, no further', () => {
    const config = CASES['mistral sliding_window 3'];
    const family = familyOf(config);
    const p = randomCausalParams(config, 5);
    try {
      const a = hiddenOf(family, p, config, [[3, 9, 4, 12, 5, 11, 2, 8]]);
      const b = hiddenOf(family, p, config, [[30, 9, 4, 12, 5, 11, 2, 8]]);
      for (let t = 0; t <= 4; t++) assert.ok(maxDiff([a[0][t]], [b[0][t]]) > 1e-4, `position ${t} should change`);
      for (let t = 5; t < 8; t++) assertClose(a[0][t], b[0][t], 1e-6, `position ${t}`);
    } finally {
      disposeParams(p);
    }
  });

  it('rotary frequencies: θ^(−2i/d), linear scaling, and llama3 scaling as transformers computes them', () => {
    const plain = rotaryInverseFrequencies({ theta: 10000, rotaryDim: 8 });
    assertClose([...plain], [1, 0.1, 0.01, 0.001], 1e-15, 'inv_freq');
    const linear = rotaryInverseFrequencies({ theta: 10000, rotaryDim: 8, scaling: { type: 'linear', factor: 4 } });
    assertClose([...linear], [0.25, 0.025, 0.0025, 0.00025], 1e-15, 'linear');
    const l3 = rotaryInverseFrequencies({
      theta: 10000, rotaryDim: 8,
      scaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8 },
    });
    // wavelengths 2π/f: 6.28 (between 8/4 and 8/1: smoothed), 62.8, 628, 6283 (> 8: divided by 8)
    const smooth = (8 / (2 * Math.PI) - 1) / (4 - 1);
    assertClose([...l3], [(1 - smooth) / 8 + smooth, 0.1 / 8, 0.01 / 8, 0.001 / 8], 1e-15, 'llama3');
    const high = rotaryInverseFrequencies({
      theta: 10000, rotaryDim: 4, scaling: { type: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 },
    });
    assertClose([...high], [1, 0.01 / 8], 1e-15, 'llama3 high frequency kept'); // 6.28 < 64/4; 628 > 64
    const c = CASES['gpt-neox rotary_pct 0.25, parallel residual'];
    assert.equal(c.rotary!.rotaryDim, 2); // head size 8 · 0.25
  });

  it('GPT-2 training dropout: off when not training, reproducible with a seed', () => {
    const config = CASES['gpt2 (tied)'];
    const family = familyOf(config);
    const p = randomCausalParams(config, 2);
    const run = (training: boolean, seed?: number) =>
      tf.tidy(() => family.hidden(p, config, batchOf([[1, 2, 3, 4]]), { training, seed }).dataSync() as Float32Array);
    try {
      assert.deepEqual(run(false, 1), run(false, 2));
      assert.deepEqual(run(true, 3), run(true, 3));
      assert.notDeepEqual(run(true, 3), run(true, 4));
      assert.notDeepEqual(run(true, 3), run(false));
    } finally {
      disposeParams(p);
    }
  });

  it('parameter groups and LoRA targets', () => {
    const g = CASES['gpt2 (untied)'];
    const gf = familyOf(g);
    assert.equal(gf.parameterGroup('transformer.wpe.weight', g), 'embeddings');
    assert.equal(gf.parameterGroup('lm_head.weight', g), 'head');
    assert.equal(gf.parameterGroup('transformer.ln_f.weight', g), 'encoder');
    assert.equal(gf.loraLayout, 'in-out');
    const lora = (c: CausalConfig) => [...familyOf(c).expectedShapes(c).keys()].filter((n) => familyOf(c).loraTarget.test(n) && n.includes('.0.'));
    assert.deepEqual(lora(g), ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'].map((x) => `transformer.h.0.${x}.weight`));
    const n = CASES['gpt-neox rotary_pct 0.25, parallel residual'];
    assert.equal(familyOf(n).parameterGroup('embed_out.weight', n), 'head');
    assert.equal(familyOf(n).parameterGroup('gpt_neox.embed_in.weight', n), 'embeddings');
    assert.equal(lora(n).length, 4);
    const l = CASES['llama llama3 rope_scaling (tied)'];
    assert.equal(familyOf(l).parameterGroup('model.norm.weight', l), 'encoder');
    assert.equal(familyOf(l).parameterGroup('model.embed_tokens.weight', l), 'embeddings');
    assert.throws(() => familyOf(l).parameterGroup('lm_head.weight', l), /not a parameter name/);
    assert.equal(lora(l).length, 7);
  });

  it('loads a hub-style GPT-2 file: keys without `transformer.`, attn.bias/masked_bias buffers, a tied lm_head.weight', async () => {
    const config = CASES['gpt2 (tied)'];
    const family = familyOf(config);
    const p = randomWithBiases(config, 9);
    const dir = path.join(root, 'hub-gpt2');
    try {
      await saveCausalCheckpoint(dir, config, p);
      const tensors = [...p].map(([name, v]) => ({ name: name.replace(/^transformer\./, ''), shape: v.shape, data: v.dataSync() as Float32Array }));
      const T = config.maxPositions;
      for (let i = 0; i < config.numLayers; i++) {
        tensors.push({ name: `h.${i}.attn.bias`, shape: [1, 1, T, T], data: new Float32Array(T * T) });
        tensors.push({ name: `h.${i}.attn.masked_bias`, shape: [], data: new Float32Array([-1e4]) });
      }
      tensors.push({ name: 'lm_head.weight', shape: [V, config.hiddenSize], data: p.get('transformer.wte.weight')!.dataSync() as Float32Array });
      await fs.writeFile(path.join(dir, 'model.safetensors'), encodeSafetensors(tensors, 'F32'));
      const loaded = await loadCausalCheckpoint(dir);
      try {
        assert.deepEqual([...loaded.params.keys()], [...p.keys()]);
        assert.deepEqual(lastLogits(family, loaded.params, config, [[4, 5]]), lastLogits(family, p, config, [[4, 5]]));
      } finally {
        disposeParams(loaded.params);
      }
    } finally {
      disposeParams(p);
    }
  });

  it('loads F16 shards listed in model.safetensors.index.json; inspects headers only; refuses pickle weights', async () => {
    const config = CASES['gpt-neox rotary_pct 0.25, parallel residual'];
    const p = randomCausalParams(config, 6);
    const dir = path.join(root, 'sharded');
    try {
      await saveCausalCheckpoint(dir, config, p);
      await fs.rm(path.join(dir, 'model.safetensors'));
      const all = [...p].map(([name, v]) => ({ name, shape: v.shape, data: v.dataSync() as Float32Array }));
      const half = Math.ceil(all.length / 2);
      const shards = [all.slice(0, half), all.slice(half)];
      const weightMap: Record<string, string> = {};
      for (const [k, group] of shards.entries()) {
        const file = `model-0000${k + 1}-of-00002.safetensors`;
        await fs.writeFile(path.join(dir, file), encodeSafetensors(group, 'F16'));
        for (const t of group) weightMap[t.name] = file;
      }
      await fs.writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
      const inspected = await inspectCausalCheckpoint(dir);
      assert.equal(inspected.weightsFile, path.join(dir, 'model.safetensors.index.json'));
      const loaded = await loadCausalCheckpoint(dir);
      try {
        const name = 'gpt_neox.layers.1.mlp.dense_4h_to_h.weight';
        assertClose([...loaded.params.get(name)!.dataSync()], [...p.get(name)!.dataSync()], 1e-4, name);
      } finally {
        disposeParams(loaded.params);
      }
      const pickled = path.join(root, 'pickled');
      await fs.mkdir(pickled, { recursive: true });
      await fs.copyFile(path.join(dir, 'config.json'), path.join(pickled, 'config.json'));
      await fs.writeFile(path.join(pickled, 'pytorch_model.bin'), 'not read');
      await assert.rejects(loadCausalCheckpoint(pickled), /pytorch_model\.bin: refusing to load a PyTorch pickle file.*AutoModelForCausalLM/s);
    } finally {
      disposeParams(p);
    }
  });

  it('a missing tensor, a wrong shape or an unexpected tensor is an error naming the file and the tensor', async () => {
    const config = CASES['llama GQA nh=4 nkv=2 (untied)'];
    const p = randomCausalParams(config, 1);
    const dir = path.join(root, 'broken');
    const file = path.join(dir, 'model.safetensors');
    try {
      await saveCausalCheckpoint(dir, config, p);
      const all = [...p].map(([name, v]) => ({ name, shape: v.shape, data: v.dataSync() as Float32Array }));
      await fs.writeFile(file, encodeSafetensors(all.filter((t) => t.name !== 'model.layers.1.mlp.up_proj.weight'), 'F32'));
      await assert.rejects(loadCausalCheckpoint(dir), (e: Error) =>
        e.message.includes(file) && e.message.includes('missing tensor "model.layers.1.mlp.up_proj.weight" with shape [24, 16]'));
      const wrong = all.map((t) => (t.name === 'model.layers.0.self_attn.k_proj.weight' ? { ...t, shape: [16, 8] } : t));
      await fs.writeFile(file, encodeSafetensors(wrong, 'F32'));
      await assert.rejects(loadCausalCheckpoint(dir), (e: Error) =>
        e.message.includes(file) && e.message.includes('"model.layers.0.self_attn.k_proj.weight" has shape [16, 8], expected [8, 16]'));
      await fs.writeFile(file, encodeSafetensors([...all, { name: 'model.layers.0.extra', shape: [1], data: new Float32Array(1) }], 'F32'));
      await assert.rejects(loadCausalCheckpoint(dir), (e: Error) => e.message.includes(file) && e.message.includes('unexpected tensor "model.layers.0.extra"'));
    } finally {
      disposeParams(p);
    }
  });

  it('config errors: unknown model_type lists the supported ones; unsupported rope_scaling names the key', () => {
    assert.throws(() => parseCausalConfig({ model_type: 'falcon' }, '/x/config.json'),
      /\/x\/config\.json: unsupported model_type "falcon".*"gpt2", "gpt_neox", "llama", "mistral", "qwen2"/);
    assert.throws(() => cfg({ model_type: 'llama', rope_scaling: { rope_type: 'yarn', factor: 4 } }),
      /<test config.json>: "rope_scaling" type "yarn" is not supported/);
    assert.throws(() => cfg({ model_type: 'llama', rope_scaling: { rope_type: 'llama3', factor: 8 } }),
      /"rope_scaling.low_freq_factor" must be a number/);
    assert.throws(() => cfg({ model_type: 'gpt2', n_embd: 10, n_head: 3 }), /"n_embd" 10 is not divisible by "n_head" 3/);
    assert.throws(() => cfg({ model_type: 'llama', num_attention_heads: 6, num_key_value_heads: 4 }), /not a multiple of "num_key_value_heads" 4/);
    assert.throws(() => cfg({ model_type: 'gpt2', activation_function: 'swish' }), /"activation_function" "swish" is not supported/);
    assert.equal(causalFamilyFor('bert'), undefined);
  });

  it('refuses more tokens than the positions allow', () => {
    const config = CASES['gpt2 (untied)'];
    const p = randomCausalParams(config, 1);
    try {
      assert.throws(() => hiddenOf(familyOf(config), p, config, [Array(17).fill(1)]), /17 tokens exceed the model's 16 positions \(config n_positions\)/);
    } finally {
      disposeParams(p);
    }
  });
});

/** A llama config.json for `config` (so a test can change one key). */
function llamaJson(config: CausalConfig): Record<string, unknown> {
  return familyOf(config).configToJson(config);
}
