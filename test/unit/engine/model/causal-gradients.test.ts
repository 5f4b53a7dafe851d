/**
 * Per-example gradients of the causal prompt function f_c(x) = logit of vocabulary id c at x's last real token, with
 * respect to every parameter tensor: tfjs autodiff through the engine's forward (float32, a right-padded batch) against
 * central finite differences of the independent float64 reference (test/support/reference-causal.ts), on a sample of
 * coordinates per tensor.
 */
import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../../src/engine/backend';
import { disposeParams } from '../../../../src/engine/model';
import { loadCausalCheckpoint } from '../../../../src/engine/model/causal';
import { causalRefShapes, referenceCausalLogits, type CausalRefWeights } from '../../../support/reference-causal';
import { prng } from '../../../support/tiny-checkpoint';
import { assertMatchesFiniteDifferences } from '../../../support/finite-differences';
import { writeTinyCausalCheckpoint, type TinyCausalSpec } from '../../../support/tiny-causal-checkpoint';

const EPS = 1e-5; // finite-difference step (float64)
const REL = 1e-3; // float32 autodiff vs float64 finite differences
const FLOOR = 2e-5; // absolute floor for tiny gradients (|f| is of order 1)
const PER_TENSOR = 3;

interface Case { title: string; spec: TinyCausalSpec }

const cases: Case[] = [
  { title: 'gpt2 (Conv1D, tied head, learned positions)', spec: { modelType: 'gpt2' } },
  { title: 'gpt_neox (rotary_pct 0.5, parallel residual, untied embed_out)', spec: { modelType: 'gpt_neox', config: { rotary_pct: 0.5 } } },
  { title: 'gpt_neox (rotary_pct 0.25, sequential residual)', spec: { modelType: 'gpt_neox', config: { use_parallel_residual: false } } },
  { title: 'llama (GQA nh 4 nkv 2, untied lm_head, llama3 rope_scaling)', spec: { modelType: 'llama', heads: 4, kvHeads: 2, config: { rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 } } } },
  { title: 'qwen2 (q/k/v biases, GQA nh 4 nkv 1, tied)', spec: { modelType: 'qwen2', heads: 4, kvHeads: 1, tied: true } },
  { title: 'mistral (sliding_window 4, GQA)', spec: { modelType: 'mistral', heads: 4, kvHeads: 2, config: { sliding_window: 4 } } },
];

const SEQS = [[5, 12, 3, 33, 7, 21, 8, 30, 14, 2, 26], [9, 1, 38, 16, 4, 27, 11, 6, 19]]; // lengths 11 and 9
const LABELS = [3, 17, 29]; // the C vocabulary ids

describe('engine/model/causal: per-example gradients of f_c (tfjs autodiff) against finite differences of the float64 reference', function () {
  let root: string;
  before(async () => {
    await initBackend('cpu');
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ntk-lens-causal-grad-'));
  });
  after(async () => { await fs.rm(root, { recursive: true, force: true }); });

  cases.forEach(({ title, spec }, caseIndex) => {
    it(`${title}: ∂f_c/∂θ at ${PER_TENSOR} coordinates of every tensor, ${SEQS.length} examples × ${LABELS.length} labels`, async () => {
      const ckpt = await writeTinyCausalCheckpoint(path.join(root, `case${caseIndex}`), { ...spec, seed: 500 + caseIndex });
      const { config, family, params } = await loadCausalCheckpoint(ckpt.dir);
      try {
        // The engine's parameters are exactly the model's tensors under their canonical names.
        const expected = causalRefShapes(ckpt.config);
        assert.deepEqual([...params.keys()].sort(), expected.map(([n]) => n).sort(), 'engine parameter names');
        for (const [name, shape] of expected) assert.deepEqual(params.get(name)!.shape, shape, name);

        // Coordinates: for tables, rows the examples use (tokens, positions, label rows), plus one anywhere.
        const rand = prng(900 + caseIndex);
        const pick = (n: number): number => Math.floor(rand() * n);
        const tokens = [...new Set(SEQS.flat())];
        const V = ckpt.config.vocab_size as number;
        const coords = new Map<string, number[]>();
        for (const [name, shape] of expected) {
          const n = shape.reduce((a, b) => a * b, 1);
          const cols = shape.length === 2 ? shape[1] : 1;
          let rows: number[] | undefined;
          if (/wpe\.weight$/.test(name)) rows = [...Array(SEQS[0].length).keys()];
          else if (/(embed_out|lm_head)\.weight$/.test(name)) rows = LABELS;
          else if (/(wte|embed_in|embed_tokens)\.weight$/.test(name)) rows = shape[0] === V ? [...tokens, ...LABELS] : undefined;
          const picked = rows
            ? [rows[pick(rows.length)] * cols + pick(cols), rows[pick(rows.length)] * cols + pick(cols), pick(n)]
            : Array.from({ length: PER_TENSOR }, () => pick(n));
          coords.set(name, picked);
        }

        // tfjs: one backward per (example, label) through the padded batch.
        const T = Math.max(...SEQS.map((s) => s.length));
        const ids = SEQS.map((s) => [...s, ...new Array<number>(T - s.length).fill(0)]);
        const mask = SEQS.map((s) => [...s.map(() => 1), ...new Array<number>(T - s.length).fill(0)]);
        const vars = [...params.values()];
        const nameOf = new Map([...params.entries()].map(([n, v]) => [v.name, n]));
        const auto = new Map<string, number[][][]>(); // name → [example][label][coordinate]
        for (const name of params.keys()) auto.set(name, SEQS.map(() => LABELS.map(() => [])));
        const inputIds = tf.tensor2d(ids, undefined, 'int32');
        const attentionMask = tf.tensor2d(mask, undefined, 'int32');
        try {
          SEQS.forEach((seq, b) => LABELS.forEach((_, c) => {
            const { value, grads } = tf.variableGrads(() => {
              const h = family.hidden(params, config, { inputIds, attentionMask }, { training: false }); // [B, T, H]
              const last = h.slice([b, seq.length - 1, 0], [1, 1, config.hiddenSize]).reshape([1, config.hiddenSize]) as tf.Tensor2D;
              return family.lmLogits(params, config, last, LABELS).slice([0, c], [1, 1]).reshape([]) as tf.Scalar;
            }, vars);
            for (const [varName, g] of Object.entries(grads)) {
              const name = nameOf.get(varName)!;
              const data = g === null ? undefined : g.dataSync();
              auto.get(name)![b][c] = coords.get(name)!.map((i) => (data ? data[i] : 0));
            }
            value.dispose();
            Object.values(grads).forEach((g) => g?.dispose());
          }));
        } finally {
          inputIds.dispose();
          attentionMask.dispose();
        }

        // float64 reference: central differences, one ± pair per coordinate serves every example and label.
        const weights: CausalRefWeights = new Map([...ckpt.weights].map(([n, t]) => [n, { shape: t.shape, values: Float64Array.from(t.values) }]));
        const f = (): number[][] => SEQS.map((seq) => {
          const logits = referenceCausalLogits(ckpt.config, weights, seq);
          return LABELS.map((id) => logits[seq.length - 1][id]);
        });
        assertMatchesFiniteDifferences({
          weights, coords, f, eps: EPS, rel: REL, floor: FLOOR, labels: LABELS,
          autodiff: (name, b, c, k) => auto.get(name)![b][c][k],
          atLeast: expected.length * PER_TENSOR * SEQS.length * LABELS.length,
        });
      } finally {
        disposeParams(params);
      }
    });
  });
});
