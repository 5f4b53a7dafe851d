import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../../src/engine/backend';
import { disposeParams, type Params } from '../../../../src/engine/model';
import { loadCausalCheckpoint } from '../../../../src/engine/model/causal';
import type { CausalConfig, CausalFamily } from '../../../../src/engine/model/causal/types';
import {
  refAttention, referenceCausalLogits, refInvFreq, refRotate, type CausalRefConfig, type CausalRefWeights,
} from '../../../support/reference-causal';
import { writeTinyCausalCheckpoint, type TinyCausalSpec } from '../../../support/tiny-causal-checkpoint';

/** Logits [B][T][V] of the engine's model at every position of a right-padded batch. */
function engineLogits(family: CausalFamily, config: CausalConfig, params: Params, ids: number[][], mask: number[][]): number[][][] {
  return tf.tidy(() => {
    const h = family.hidden(params, config, {
      inputIds: tf.tensor2d(ids, undefined, 'int32'),
      attentionMask: tf.tensor2d(mask, undefined, 'int32'),
    }, { training: false }); // [B, T, H]
    const [B, T, H] = h.shape;
    const logits = family.lmLogits(params, config, h.reshape([B * T, H]) as tf.Tensor2D); // [B·T, V]
    return logits.reshape([B, T, config.vocabSize]).arraySync() as number[][][];
  });
}

const maxAbs = (m: number[][]): number => Math.max(...m.flat().map(Math.abs));

/** max |a − b| over two [T][V] arrays, and where it is. */
function worst(a: number[][], b: number[][]): { err: number; t: number; v: number } {
  let out = { err: 0, t: -1, v: -1 };
  a.forEach((row, t) => row.forEach((x, v) => {
    const e = Math.abs(x - b[t][v]);
    if (!(e <= out.err)) out = { err: e, t, v };
  }));
  return out;
}

/** Token ids 0..V−1 that are not all alike, deterministic. */
function sequence(len: number, V: number, offset: number): number[] {
  return Array.from({ length: len }, (_, t) => (offset + 7 * t + ((t * t) % 5)) % V);
}

const ref = (ckpt: { config: CausalRefConfig; weights: CausalRefWeights }, ids: number[]): number[][] =>
  referenceCausalLogits(ckpt.config, ckpt.weights, ids);

describe('reference-causal (the float64 twin) on its own', function () {
  let root: string;
  before(async () => { root = await fs.mkdtemp(path.join(os.tmpdir(), 'ntk-lens-causal-ref-')); });
  after(async () => { await fs.rm(root, { recursive: true, force: true }); });

  it('rotary: identity at position 0, a rotation (norm kept), scores depend only on the relative position', () => {
    const inv = refInvFreq(8, 100);
    const q = [0.3, -1.2, 0.7, 0.05, 1.1, -0.4, 0.9, -0.8];
    const k = [-0.6, 0.2, 0.4, 1.3, -0.9, 0.5, 0.1, 0.7];
    assert.deepEqual(refRotate(q, 0, inv, 8), q);
    const norm = (x: number[]): number => Math.hypot(...x);
    assert.ok(Math.abs(norm(refRotate(q, 7, inv, 8)) - norm(q)) < 1e-12);
    const dot = (a: number[], b: number[]): number => a.reduce((s, x, i) => s + x * b[i], 0);
    const s1 = dot(refRotate(q, 9, inv, 8), refRotate(k, 4, inv, 8));
    const s2 = dot(refRotate(q, 12, inv, 8), refRotate(k, 7, inv, 8));
    assert.ok(Math.abs(s1 - s2) < 1e-12);
    // partial rotary: the dims past rotaryDim pass through
    const part = refRotate(q, 5, refInvFreq(2, 10000), 2);
    assert.deepEqual(part.slice(2), q.slice(2));
    assert.ok(Math.abs(part[0] - (q[0] * Math.cos(5) - q[1] * Math.sin(5))) < 1e-15);
    assert.ok(Math.abs(part[1] - (q[1] * Math.cos(5) + q[0] * Math.sin(5))) < 1e-15);
  });

  it('inv_freq: default 1/θ^(2i/d); linear divides by the factor; llama3 keeps, interpolates and divides by regime', () => {
    const inv = refInvFreq(8, 10000);
    [1, 0.1, 0.01, 0.001].forEach((f, i) => assert.ok(Math.abs(inv[i] - f) < 1e-15));
    refInvFreq(8, 10000, { type: 'linear', factor: 4 }).forEach((f, i) => assert.ok(Math.abs(f - inv[i] / 4) < 1e-18));
    // θ = 100, d = 8: wavelengths 2π·[1, 3.16, 10, 31.6] = [6.3, 19.9, 62.8, 198.7]; old ctx 64 → high-freq cut 16, low-freq cut 64
    const base = refInvFreq(8, 100);
    const l3 = refInvFreq(8, 100, { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 });
    assert.equal(l3[0], base[0]); // wavelength 6.3 < 16: kept
    assert.ok(Math.abs(l3[3] - base[3] / 8) < 1e-18); // 198.7 > 64: divided by the factor
    for (const i of [1, 2]) { // in between: (1 − s)·f/8 + s·f with s = (64/λ − 1)/3
      const s = (64 / ((2 * Math.PI) / base[i]) - 1) / 3;
      assert.ok(s > 0 && s < 1);
      assert.ok(Math.abs(l3[i] - ((1 - s) * base[i] / 8 + s * base[i])) < 1e-15);
    }
  });

  it('attention: a single key gives its value; a window of 1 gives each query its own value; GQA reads head ⌊h/rep⌋', () => {
    const q = [[[1, 2], [3, -1]], [[0.5, 0.1], [-2, 1]], [[1, 1], [0, 1]]]; // T 3, nh 2, hd 2
    const k = [[[0.2, -0.3]], [[1, 0.4]], [[-0.5, 0.6]]]; // nkv 1
    const v = [[[1, 2]], [[3, 4]], [[5, 6]]];
    const out = refAttention(q, k, v, 0.7);
    assert.deepEqual(out[0], [1, 2, 1, 2]);
    assert.deepEqual(refAttention(q, k, v, 0.7, 1), [[1, 2, 1, 2], [3, 4, 3, 4], [5, 6, 5, 6]]);
    // query 2, head 1, by hand
    const s = [0, 1, 2].map((j) => 0.7 * (q[2][1][0] * k[j][0][0] + q[2][1][1] * k[j][0][1]));
    const e = s.map(Math.exp);
    const z = e[0] + e[1] + e[2];
    assert.ok(Math.abs(out[2][2] - (e[0] * 1 + e[1] * 3 + e[2] * 5) / z) < 1e-14);
    // 4 query heads over 2 kv heads: heads 0, 1 read kv 0 and heads 2, 3 kv 1 (repeat_kv), not 0, 2 / 1, 3
    const q4 = [[[1, 0], [0, 1], [1, 1], [2, 0]], [[0, 1], [1, 0], [1, -1], [0, 2]]];
    const k2 = [[[1, 0], [0, 1]], [[0.5, 0.5], [1, -1]]];
    const v2 = [[[1, 2], [3, 4]], [[5, 6], [7, 8]]];
    const gqa = refAttention(q4, k2, v2, 1);
    const mha = refAttention(q4, k2.map(([a, b]) => [a, a, b, b]), v2.map(([a, b]) => [a, a, b, b]), 1);
    gqa.forEach((row, t) => row.forEach((x, i) => assert.ok(Math.abs(x - mha[t][i]) < 1e-15)));
  });

  it('Llama GQA (nh 4, nkv 2) equals plain multi-head attention with each k/v head duplicated', async () => {
    const gqa = await writeTinyCausalCheckpoint(path.join(root, 'gqa'), { modelType: 'llama', heads: 4, kvHeads: 2, seed: 3 });
    const mhaWeights: CausalRefWeights = new Map(gqa.weights);
    const hd = 4;
    for (let l = 0; l < 2; l++) {
      for (const m of ['k_proj', 'v_proj']) {
        const name = `model.layers.${l}.self_attn.${m}.weight`;
        const t = gqa.weights.get(name)!; // [nkv·hd, H]
        const H = t.shape[1];
        const values = new Float64Array(4 * hd * H);
        for (let h = 0; h < 4; h++) values.set(t.values.subarray(Math.floor(h / 2) * hd * H, (Math.floor(h / 2) + 1) * hd * H), h * hd * H);
        mhaWeights.set(name, { shape: [4 * hd, H], values });
      }
    }
    const ids = sequence(11, 40, 3);
    const a = referenceCausalLogits(gqa.config, gqa.weights, ids);
    const b = referenceCausalLogits({ ...gqa.config, num_key_value_heads: 4 }, mhaWeights, ids);
    assert.ok(worst(a, b).err < 1e-12);
  });

  it('causality: a position\'s logits ignore later tokens; Mistral\'s window bounds how far back a token reaches', async () => {
    const llama = await writeTinyCausalCheckpoint(path.join(root, 'causal'), { modelType: 'llama', seed: 4 });
    const ids = sequence(12, 40, 1);
    const full = ref(llama, ids);
    const prefix = ref(llama, ids.slice(0, 7));
    assert.ok(worst(full.slice(0, 7), prefix).err < 1e-12);
    const changed = ref(llama, [(ids[0] + 1) % 40, ...ids.slice(1)]);
    assert.ok(worst([full[11]], [changed[11]]).err > 1e-3, 'the first token reaches the last position without a window');
    // window 3, 2 layers: position 11 reaches back to 11 − 2·(3 − 1) = 7 and no further
    const mistral = await writeTinyCausalCheckpoint(path.join(root, 'window'), { modelType: 'mistral', seed: 4, config: { sliding_window: 3 } });
    const base = ref(mistral, ids);
    const at6 = ref(mistral, ids.map((id, t) => (t === 6 ? (id + 1) % 40 : id)));
    const at7 = ref(mistral, ids.map((id, t) => (t === 7 ? (id + 1) % 40 : id)));
    assert.ok(worst([base[11]], [at6[11]]).err === 0, 'token 6 is outside position 11\'s receptive field');
    assert.ok(worst([base[11]], [at7[11]]).err > 1e-4, 'token 7 is inside it');
    // a window at least the sequence length is no window; Qwen2 ignores sliding_window unless use_sliding_window
    const wide = ref({ ...mistral, config: { ...mistral.config, sliding_window: 12 } }, ids);
    const none = ref({ ...mistral, config: { ...mistral.config, sliding_window: null } }, ids);
    assert.ok(worst(wide, none).err === 0);
    const qwenCfg = { ...mistral.config, model_type: 'qwen2', use_sliding_window: false, sliding_window: 3 };
    const qwenW = new Map(mistral.weights);
    for (let l = 0; l < 2; l++) {
      for (const [m, n] of [['q_proj', 16], ['k_proj', 16], ['v_proj', 16]] as const) {
        qwenW.set(`model.layers.${l}.self_attn.${m}.bias`, { shape: [n], values: new Float64Array(n) });
      }
    }
    assert.ok(worst(referenceCausalLogits(qwenCfg, qwenW, ids), none).err < 1e-12, 'qwen2 with zero biases and no window = mistral without window');
    const qwenSliding = referenceCausalLogits({ ...qwenCfg, use_sliding_window: true, max_window_layers: 0 }, qwenW, ids);
    assert.ok(worst(qwenSliding, base).err < 1e-12, 'qwen2 sliding on every layer = mistral window');
  });

  it('GPT-2, one layer, one token, by hand: ln_f(x + c_proj(v) + mlp), head tied to wte', async () => {
    const c = await writeTinyCausalCheckpoint(path.join(root, 'gpt2-1'), { modelType: 'gpt2', layers: 1, seed: 9 });
    const W = (n: string): Float64Array => c.weights.get(n)!.values;
    const H = 16;
    const I = 64;
    const id = 5;
    const x = Array.from({ length: H }, (_, i) => W('transformer.wte.weight')[id * H + i] + W('transformer.wpe.weight')[i]);
    const ln = (u: number[], g: Float64Array, b: Float64Array): number[] => {
      const mu = u.reduce((s, z) => s + z, 0) / H;
      const va = u.reduce((s, z) => s + (z - mu) ** 2, 0) / H;
      return u.map((z, i) => ((z - mu) / Math.sqrt(va + 1e-5)) * g[i] + b[i]);
    };
    const a = ln(x, W('transformer.h.0.ln_1.weight'), W('transformer.h.0.ln_1.bias'));
    // v = a · c_attn[:, 2H:3H] + bias[2H:3H]; a single key: attention output = v
    const v = Array.from({ length: H }, (_, o) => {
      let s = W('transformer.h.0.attn.c_attn.bias')[2 * H + o];
      for (let i = 0; i < H; i++) s += a[i] * W('transformer.h.0.attn.c_attn.weight')[i * 3 * H + 2 * H + o];
      return s;
    });
    const x1 = x.map((z, o) => {
      let s = z + W('transformer.h.0.attn.c_proj.bias')[o];
      for (let i = 0; i < H; i++) s += v[i] * W('transformer.h.0.attn.c_proj.weight')[i * H + o];
      return s;
    });
    const m = ln(x1, W('transformer.h.0.ln_2.weight'), W('transformer.h.0.ln_2.bias'));
    const gelu = (z: number): number => 0.5 * z * (1 + Math.tanh(0.7978845608028654 * (z + 0.044715 * z ** 3)));
    const inner = Array.from({ length: I }, (_, o) => {
      let s = W('transformer.h.0.mlp.c_fc.bias')[o];
      for (let i = 0; i < H; i++) s += m[i] * W('transformer.h.0.mlp.c_fc.weight')[i * I + o];
      return gelu(s);
    });
    const x2 = x1.map((z, o) => {
      let s = z + W('transformer.h.0.mlp.c_proj.bias')[o];
      for (let i = 0; i < I; i++) s += inner[i] * W('transformer.h.0.mlp.c_proj.weight')[i * H + o];
      return s;
    });
    const h = ln(x2, W('transformer.ln_f.weight'), W('transformer.ln_f.bias'));
    const logits = Array.from({ length: 40 }, (_, t) => h.reduce((s, z, i) => s + z * W('transformer.wte.weight')[t * H + i], 0));
    const got = ref(c, [id])[0];
    assert.ok(worst([got], [logits]).err < 1e-12);
    assert.ok(maxAbs([got]) > 0.5);
  });

  it('NeoX: qkv per head [nh, 3, hs]; parallel and sequential residuals differ; rotary_pct decides the rotating dims', async () => {
    const c = await writeTinyCausalCheckpoint(path.join(root, 'neox'), { modelType: 'gpt_neox', seed: 6 });
    const ids = sequence(10, 40, 2);
    const par = ref(c, ids);
    const seq = ref({ ...c, config: { ...c.config, use_parallel_residual: false } }, ids);
    assert.ok(worst(par, seq).err > 1e-3);
    const pct = ref({ ...c, config: { ...c.config, rotary_pct: 0.5 } }, ids);
    assert.ok(worst(par, pct).err > 1e-4);
    // Reordering qkv rows from [nh, 3, hs] to [3, nh, hs] (the GPT-2 layout) must change the result.
    const H = 16;
    const hs = 8;
    const name = 'gpt_neox.layers.0.attention.query_key_value.weight';
    const t = c.weights.get(name)!;
    const re = new Float64Array(t.values.length);
    for (let h = 0; h < 2; h++) {
      for (let j = 0; j < 3; j++) {
        re.set(t.values.subarray((3 * h + j) * hs * H, (3 * h + j + 1) * hs * H), (j * 2 + h) * hs * H);
      }
    }
    const other = new Map(c.weights);
    other.set(name, { shape: t.shape, values: re });
    assert.ok(worst(par, referenceCausalLogits(c.config, other, ids)).err > 1e-3);
  });
});

interface Case { title: string; spec: TinyCausalSpec; lengths?: number[] }

describe('engine/model/causal: loadCausalCheckpoint → hidden → lmLogits against the float64 reference', function () {
  let root: string;
  before(async () => {
    await initBackend('cpu');
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ntk-lens-causal-'));
  });
  after(async () => { await fs.rm(root, { recursive: true, force: true }); });

  const llama3 = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 };
  const cases: Case[] = [
    { title: 'gpt2 (transformer.-prefixed keys, tied head, gelu_new, n_inner null)', spec: { modelType: 'gpt2' } },
    { title: 'gpt2, hub-style keys without transformer.', spec: { modelType: 'gpt2', hubStyle: true } },
    { title: 'gpt2, hub-style keys with the attn.bias / attn.masked_bias buffers and an lm_head.weight copy', spec: { modelType: 'gpt2', hubStyle: true, buffers: true } },
    { title: 'gpt_neox, rotary_pct 0.25, parallel residual', spec: { modelType: 'gpt_neox' } },
    { title: 'gpt_neox, rotary_pct 0.25, sequential residual', spec: { modelType: 'gpt_neox', config: { use_parallel_residual: false } } },
    { title: 'gpt_neox, rotary_pct 0.5, rotary_emb_base 100, with attention.bias / masked_bias / rotary_emb.inv_freq buffers', spec: { modelType: 'gpt_neox', buffers: true, config: { rotary_pct: 0.5, rotary_emb_base: 100 } } },
    { title: 'llama, GQA nh 4 nkv 2, tied', spec: { modelType: 'llama', heads: 4, kvHeads: 2, tied: true } },
    { title: 'llama, GQA nh 4 nkv 2, untied lm_head', spec: { modelType: 'llama', heads: 4, kvHeads: 2, tied: false } },
    { title: 'llama, llama3 rope_scaling (θ 100, hd 8: kept, interpolated and divided frequencies), nh 2 nkv 1', spec: { modelType: 'llama', heads: 2, kvHeads: 1, config: { rope_theta: 100, rope_scaling: llama3 } } },
    { title: 'llama, linear rope_scaling factor 2.5 (θ 100, hd 8)', spec: { modelType: 'llama', heads: 2, kvHeads: 2, config: { rope_theta: 100, rope_scaling: { type: 'linear', factor: 2.5 } } } },
    { title: 'qwen2, q/k/v biases, GQA, tied (as Qwen2-0.5B)', spec: { modelType: 'qwen2', heads: 4, kvHeads: 2, tied: true } },
    { title: 'qwen2, untied, sliding_window 3 present but use_sliding_window false (no window)', spec: { modelType: 'qwen2', heads: 4, kvHeads: 1, config: { sliding_window: 3 } } },
    { title: 'mistral, sliding_window 4 < sequence length, GQA', spec: { modelType: 'mistral', heads: 4, kvHeads: 2, config: { sliding_window: 4 } } },
    { title: 'llama, attention_bias true (q/k/v/o biases, as LlamaAttention has them)', spec: { modelType: 'llama', heads: 4, kvHeads: 2, config: { attention_bias: true } } },
    { title: 'llama, mlp_bias true (gate/up/down biases)', spec: { modelType: 'llama', heads: 4, kvHeads: 4, config: { mlp_bias: true } } },
    { title: 'llama, explicit head_dim 8 with nh 4 (nh·hd 32 ≠ H 16)', spec: { modelType: 'llama', heads: 4, kvHeads: 2, config: { head_dim: 8 } } },
    { title: 'llama, tied, with rotary_emb.inv_freq buffers and an lm_head.weight copy', spec: { modelType: 'llama', heads: 4, kvHeads: 2, tied: true, buffers: true } },
  ];

  cases.forEach(({ title, spec }, i) => {
    it(`${title}: logits at every position equal the reference to 1e-4 relative`, async () => {
      const ckpt = await writeTinyCausalCheckpoint(path.join(root, `case${i}`), { ...spec, seed: 200 + i });
      const { config, family, params } = await loadCausalCheckpoint(ckpt.dir);
      try {
        for (const [len, offset] of [[13, 1], [9, 5]]) {
          const ids = sequence(len, 40, offset + i);
          const want = ref(ckpt, ids);
          const got = engineLogits(family, config, params, [ids], [ids.map(() => 1)])[0];
          const scale = maxAbs(want);
          assert.ok(scale > 0.5, `logits should be of order 1, max |logit| = ${scale}`);
          const w = worst(got, want);
          assert.ok(w.err <= 1e-4 * scale,
            `length ${len}: max |engine − reference| = ${w.err.toExponential(3)} (scale ${scale.toFixed(3)}) at position ${w.t}, vocab ${w.v}; `
            + `per-position max error: ${got.map((row, t) => worst([row], [want[t]]).err.toExponential(1)).join(' ')}`);
        }
      } finally {
        disposeParams(params);
      }
    });
  });

  const padCases: Case[] = [
    { title: 'gpt2', spec: { modelType: 'gpt2' } },
    { title: 'gpt_neox', spec: { modelType: 'gpt_neox', config: { rotary_pct: 0.5 } } },
    { title: 'llama (GQA, llama3 scaling)', spec: { modelType: 'llama', heads: 4, kvHeads: 2, config: { rope_scaling: llama3 } } },
    { title: 'qwen2', spec: { modelType: 'qwen2', heads: 4, kvHeads: 2 } },
    { title: 'mistral (window 4)', spec: { modelType: 'mistral', heads: 4, kvHeads: 2, config: { sliding_window: 4 } } },
  ];
  padCases.forEach(({ title, spec }, i) => {
    it(`${title}: a right-padded batch of lengths 13 and 9 gives each sequence's reference logits at its last real token`, async () => {
      const ckpt = await writeTinyCausalCheckpoint(path.join(root, `pad${i}`), { ...spec, seed: 300 + i });
      const { config, family, params } = await loadCausalCheckpoint(ckpt.dir);
      try {
        const a = sequence(13, 40, 2);
        const b = sequence(9, 40, 11);
        const pad = config.padTokenId ?? 0;
        const ids = [a, [...b, ...new Array<number>(4).fill(pad)]];
        const mask = [a.map(() => 1), [...b.map(() => 1), 0, 0, 0, 0]];
        const got = engineLogits(family, config, params, ids, mask);
        for (const [k, seq] of [a, b].entries()) {
          const want = ref(ckpt, seq);
          const last = seq.length - 1;
          const scale = maxAbs(want);
          const w = worst([got[k][last]], [want[last]]);
          assert.ok(w.err <= 1e-4 * scale, `sequence ${k} (length ${seq.length}): max error ${w.err.toExponential(3)} at its last token (scale ${scale.toFixed(3)})`);
          // and every real position of the padded row too
          const all = worst(got[k].slice(0, seq.length), want);
          assert.ok(all.err <= 1e-4 * scale, `sequence ${k}: max error ${all.err.toExponential(3)} at position ${all.t}`);
        }
      } finally {
        disposeParams(params);
      }
    });
  });

  it('lmLogits with vocabIds gathers exactly those columns at the last real token', async () => {
    const ckpt = await writeTinyCausalCheckpoint(path.join(root, 'vocab'), { modelType: 'llama', heads: 4, kvHeads: 2, seed: 17 });
    const { config, family, params } = await loadCausalCheckpoint(ckpt.dir);
    try {
      const a = sequence(10, 40, 3);
      const vocabIds = [31, 4, 17];
      const got = tf.tidy(() => {
        const h = family.hidden(params, config, {
          inputIds: tf.tensor2d([a], undefined, 'int32'), attentionMask: tf.tensor2d([a.map(() => 1)], undefined, 'int32'),
        }, { training: false });
        const last = h.slice([0, a.length - 1, 0], [1, 1, config.hiddenSize]).reshape([1, config.hiddenSize]) as tf.Tensor2D;
        return family.lmLogits(params, config, last, vocabIds).arraySync();
      });
      const want = ref(ckpt, a)[a.length - 1];
      vocabIds.forEach((id, c) => assert.ok(Math.abs(got[0][c] - want[id]) <= 1e-4 * maxAbs([want]), `vocab ${id}`));
    } finally {
      disposeParams(params);
    }
  });
});
