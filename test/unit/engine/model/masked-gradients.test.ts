/**
 * Per-example gradients of the masked prompt function f_c(x) = logit of vocabulary id c at x's [MASK] row, with respect
 * to every parameter tensor: tfjs autodiff through the engine's forward (float32, a right-padded batch) against central
 * finite differences of the independent float64 reference (test/support/reference-mlm.ts), on a sample of coordinates
 * per tensor. ALBERT is the case that needs it most: its one layer is applied at every depth, so each of its
 * gradients is the sum over the depths (a finite difference of a shared weight moves all depths at once), and the
 * ELECTRA generator shares its E → H / H → E shape.
 */
import { strict as assert } from 'node:assert';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../../src/engine/backend';
import { disposeParams, encode, hiddenAt, loadCheckpoint, mlmLogits } from '../../../../src/engine/model';
import { referenceMlmLogits, type RefWeights } from '../../../support/reference-mlm';
import { assertMatchesFiniteDifferences } from '../../../support/finite-differences';
import { prng, writeTinyCheckpoint, type TinySpec } from '../../../support/tiny-checkpoint';

const EPS = 1e-5; // finite-difference step (float64)
const REL = 1e-3; // float32 autodiff vs float64 finite differences
const FLOOR = 2e-5; // absolute floor for tiny gradients (|f| is of order 1)
const PER_TENSOR = 3;

const cases: { title: string; spec: TinySpec }[] = [
  { title: 'ALBERT (3 depths of one layer, E = 12 ≠ H = 16, gelu_new, tied)', spec: { modelType: 'albert', layers: 3 } },
  { title: 'ALBERT (4 depths, relu, untied decoder, bias stored as predictions.decoder.bias)', spec: { modelType: 'albert', layers: 4, hiddenAct: 'relu', tied: false, albertBias: 'decoder' } },
  { title: 'ELECTRA generator (E = 12 ≠ H = 16, tied)', spec: { modelType: 'electra' } },
];

// Two examples of different lengths (right-padded in the batch), token types 0/1, the [MASK] id 4 at maskPos.
const SEQS = [
  { ids: [2, 5, 9, 4, 7, 11, 3], types: [0, 0, 0, 0, 1, 1, 1], maskPos: 3 },
  { ids: [2, 8, 4, 13, 3], types: [0, 0, 0, 0, 0], maskPos: 2 },
];
const LABELS = [6, 17, 29]; // the C vocabulary ids

describe('engine/model: per-example gradients of masked f_c (tfjs autodiff) against finite differences of the float64 reference', function () {
  let root: string;
  before(async () => {
    await initBackend('cpu');
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'ntk-lens-masked-grad-'));
  });
  after(async () => { await fs.rm(root, { recursive: true, force: true }); });

  cases.forEach(({ title, spec }, caseIndex) => {
    it(`${title}: ∂f_c/∂θ at ${PER_TENSOR} coordinates of every tensor, ${SEQS.length} examples × ${LABELS.length} labels`, async () => {
      const ckpt = await writeTinyCheckpoint(path.join(root, `case${caseIndex}`), { ...spec, seed: 700 + caseIndex });
      const { config, params } = await loadCheckpoint(ckpt.dir);
      try {
        // The engine's parameter of each reference tensor (ALBERT's bias may be stored under its decoder alias).
        const engineName = (name: string): string => (name === 'predictions.decoder.bias' ? 'predictions.bias' : name);
        assert.deepEqual([...params.keys()].sort(), [...ckpt.weights.keys()].map(engineName).sort(), 'engine parameter names');

        // Coordinates: for tables, rows the examples use (tokens, positions, types, label rows), plus one anywhere.
        const rand = prng(1900 + caseIndex);
        const pick = (n: number): number => Math.floor(rand() * n);
        const tokens = [...new Set(SEQS.flatMap((s) => s.ids))];
        const coords = new Map<string, number[]>();
        for (const [name, { shape }] of ckpt.weights) {
          const n = shape.reduce((a, b) => a * b, 1);
          const cols = shape.length === 2 ? shape[1] : 1;
          let rows: number[] | undefined;
          if (name.endsWith('position_embeddings.weight')) rows = [...Array(SEQS[0].ids.length).keys()];
          else if (name.endsWith('token_type_embeddings.weight')) rows = [0, 1];
          else if (name.endsWith('word_embeddings.weight')) rows = [...tokens, ...LABELS];
          else if (/(decoder\.weight|generator_lm_head\.weight|predictions\.bias|decoder\.bias|generator_lm_head\.bias)$/.test(name)) rows = LABELS;
          const picked = rows
            ? [rows[pick(rows.length)] * cols + pick(cols), rows[pick(rows.length)] * cols + pick(cols), pick(n)]
            : Array.from({ length: PER_TENSOR }, () => pick(n));
          coords.set(name, picked);
        }

        // tfjs: one backward per (example, label) through the padded batch.
        const T = Math.max(...SEQS.map((s) => s.ids.length));
        const pad = (row: number[], v: number) => [...row, ...new Array<number>(T - row.length).fill(v)];
        const inputIds = tf.tensor2d(SEQS.map((s) => pad(s.ids, config.padTokenId)), undefined, 'int32');
        const attentionMask = tf.tensor2d(SEQS.map((s) => pad(s.ids.map(() => 1), 0)), undefined, 'int32');
        const tokenTypeIds = tf.tensor2d(SEQS.map((s) => pad(s.types, 0)), undefined, 'int32');
        const vars = [...params.values()];
        const nameOf = new Map([...params.entries()].map(([n, v]) => [v.name, n]));
        const auto = new Map<string, number[][][]>(); // engine name → [example][label][coordinate]
        for (const name of params.keys()) auto.set(name, SEQS.map(() => LABELS.map(() => [])));
        try {
          SEQS.forEach((_, b) => LABELS.forEach((__, c) => {
            const { value, grads } = tf.variableGrads(() => {
              const h = encode(params, config, { inputIds, attentionMask, tokenTypeIds }, { training: false }); // [B, T, H]
              const atMask = hiddenAt(h, SEQS.map((s) => s.maskPos)); // [B, H]
              return mlmLogits(params, config, atMask, LABELS).slice([b, c], [1, 1]).reshape([]) as tf.Scalar;
            }, vars);
            for (const [varName, g] of Object.entries(grads)) {
              const name = nameOf.get(varName)!;
              const refName = [...ckpt.weights.keys()].find((n) => engineName(n) === name)!;
              const data = g === null ? undefined : g.dataSync();
              auto.get(name)![b][c] = coords.get(refName)!.map((i) => (data ? data[i] : 0));
            }
            value.dispose();
            Object.values(grads).forEach((g) => g?.dispose());
          }));
        } finally {
          tf.dispose([inputIds, attentionMask, tokenTypeIds]);
        }

        // float64 reference: central differences, one ± pair per coordinate serves every example and label.
        const weights: RefWeights = new Map([...ckpt.weights].map(([n, t]) => [n, { shape: t.shape, values: Float64Array.from(t.values) }]));
        const f = (): number[][] => SEQS.map((s) => {
          const logits = referenceMlmLogits(ckpt.config, weights, [s.ids], [s.ids.map(() => 1)], [s.types])[0];
          return LABELS.map((id) => logits[s.maskPos][id]);
        });
        assertMatchesFiniteDifferences({
          weights, coords, f, eps: EPS, rel: REL, floor: FLOOR, labels: LABELS,
          autodiff: (name, b, c, k) => auto.get(engineName(name))![b][c][k],
          // The attention key bias has an identically zero gradient (softmax shift invariance); every other tensor must be tested.
          mayBeZero: (name) => /attention\.(self\.)?key\.bias$/.test(name),
          atLeast: ckpt.weights.size * PER_TENSOR * SEQS.length * LABELS.length,
        });
      } finally {
        disposeParams(params);
      }
    });
  });
});
