/**
 * Tiny models for the kernel and fine-tuning tests, each in two implementations: tfjs (float32, the code under test
 * differentiates it) and plain float64 JavaScript over a flat parameter vector (the reference for finite differences).
 * Parameters are drawn from a seeded PRNG and rounded to float32, so both implementations use identical values.
 */
import * as tf from '@tensorflow/tfjs';
import { mulberry32 } from '../../../../src/engine/util/random';

export { mulberry32 };

export function randomArray(rand: () => number, n: number, scale: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rand() * 2 - 1) * scale;
  return a;
}

export interface ToyModel<I> {
  /** Named parameters, in the flattening order of `theta`. */
  params: Map<string, tf.Variable>;
  vars: tf.Variable[];
  C: number;
  /** f(x) [1, C] through tfjs. */
  outputFn: (x: I) => tf.Tensor2D;
  /** f(x) [C] in float64 for a flat parameter vector θ (variables flattened row-major, in order). */
  f64: (theta: Float64Array, x: I) => Float64Array;
  /** The variables' current values, flattened, as float64. */
  theta(): Float64Array;
  dispose(): void;
}

let variableCount = 0;

function makeVars(shapes: [string, number[], number][], seed: number): Map<string, tf.Variable> {
  const rand = mulberry32(seed);
  const params = new Map<string, tf.Variable>();
  for (const [name, shape, scale] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    const init = tf.tensor(randomArray(rand, n, scale), shape);
    params.set(name, tf.variable(init, true, `${name}#toy${variableCount++}`));
    init.dispose();
  }
  return params;
}

function flatTheta(vars: tf.Variable[]): Float64Array {
  const parts = vars.map((v) => v.dataSync());
  const out = new Float64Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** f(x) = W2·tanh(W1·x + b1) + b2, x ∈ R^D: a smooth two-layer MLP with C outputs. */
export function makeMlp(seed: number, D = 3, H = 4, C = 2): ToyModel<number[]> {
  const params = makeVars([['encoder.w1', [H, D], 0.9], ['encoder.b1', [H], 0.5], ['head.w2', [C, H], 0.9], ['head.b2', [C], 0.5]], seed);
  const vars = [...params.values()];
  const [w1, b1, w2, b2] = vars;
  return {
    params, vars, C,
    outputFn: (x) => tf.tidy(() => {
      const h = tf.tanh(tf.add(tf.matMul(tf.tensor2d([x]), w1, false, true), b1)); // [1, H]
      return tf.add(tf.matMul(h, w2, false, true), b2) as tf.Tensor2D; // [1, C]
    }),
    f64: (t, x) => {
      const W1 = 0, B1 = H * D, W2 = B1 + H, B2 = W2 + C * H;
      const h = new Float64Array(H);
      for (let j = 0; j < H; j++) {
        let s = t[B1 + j];
        for (let d = 0; d < D; d++) s += t[W1 + j * D + d] * x[d];
        h[j] = Math.tanh(s);
      }
      const out = new Float64Array(C);
      for (let c = 0; c < C; c++) {
        let s = t[B2 + c];
        for (let j = 0; j < H; j++) s += t[W2 + c * H + j] * h[j];
        out[c] = s;
      }
      return out;
    },
    theta: () => flatTheta(vars),
    dispose: () => vars.forEach((v) => v.dispose()),
  };
}

/** A masked-LM-shaped input: token ids and the position whose hidden state is read. */
export interface TokenInput {
  ids: number[];
  mask: number;
}

/**
 * A tiny "masked LM": word embeddings E [V, H] (gathered: its gradient is an UnsortedSegmentSum), an attention-free
 * token mixer Z = tanh(Mix·X·Wᵀ + b) with Mix [T, T] and W [H, H] (named like a BERT query weight, layout [out, in]),
 * h = Z[mask], and a vocabulary head whose decoder rows and bias are gathered at the C label-word ids:
 * f(x) = D[labels]·h + d[labels].
 * `denseOverride` replaces W by another tensor expression (used to build an explicit LoRA model).
 */
export function makeTokenModel(
  seed: number,
  opts: { V?: number; H?: number; T?: number; labels?: number[]; denseOverride?: (w: tf.Variable) => tf.Tensor2D } = {},
): ToyModel<TokenInput> {
  const V = opts.V ?? 7, H = opts.H ?? 3, T = opts.T ?? 4, labels = opts.labels ?? [2, 5, 6];
  const C = labels.length;
  const params = makeVars([
    ['embeddings.word', [V, H], 0.8],
    ['encoder.mix', [T, T], 0.7],
    ['encoder.layer.0.attention.self.query.weight', [H, H], 0.8],
    ['encoder.bias', [H], 0.3],
    ['head.decoder', [V, H], 0.8],
    ['head.bias', [V], 0.3],
  ], seed);
  const vars = [...params.values()];
  const [E, Mix, W, b, D, d] = vars;
  return {
    params, vars, C,
    outputFn: (x) => tf.tidy(() => {
      const X = tf.gather(E, tf.tensor1d(x.ids, 'int32')); // [T, H]
      const Weff = opts.denseOverride ? opts.denseOverride(W) : W;
      const Z = tf.tanh(tf.add(tf.matMul(tf.matMul(Mix, X), Weff, false, true), b)); // [T, H]
      const h = tf.slice(Z, [x.mask, 0], [1, H]); // [1, H]
      const lab = tf.tensor1d(labels, 'int32');
      return tf.add(tf.matMul(h, tf.gather(D, lab), false, true), tf.reshape(tf.gather(d, lab), [1, C])) as tf.Tensor2D; // [1, C]
    }),
    f64: (t, x) => {
      const oE = 0, oMix = V * H, oW = oMix + T * T, ob = oW + H * H, oD = ob + H, od = oD + V * H;
      const X = x.ids.map((id) => Array.from({ length: H }, (_, k) => t[oE + id * H + k])); // [T, H]
      const i = x.mask;
      const mixed = Array.from({ length: H }, (_, k) => x.ids.reduce((s, _id, j) => s + t[oMix + i * T + j] * X[j][k], 0)); // [H]
      const z = Array.from({ length: H }, (_, o) => Math.tanh(t[ob + o] + mixed.reduce((s, v, k) => s + v * t[oW + o * H + k], 0)));
      return Float64Array.from(labels, (l) => t[od + l] + z.reduce((s, v, k) => s + v * t[oD + l * H + k], 0));
    },
    theta: () => flatTheta(vars),
    dispose: () => vars.forEach((v) => v.dispose()),
  };
}

export const groupOfToy = (name: string): 'embeddings' | 'encoder' | 'head' =>
  name.startsWith('embeddings.') ? 'embeddings' : name.startsWith('head.') ? 'head' : 'encoder';

/** Central finite differences of the float64 model: J[c][p] = ∂f_c/∂θ_p, step h (float64 error O(h²) + O(ε/h)). */
export function jacobianFd<I>(model: ToyModel<I>, theta: Float64Array, x: I, h = 1e-6): Float64Array[] {
  const J = Array.from({ length: model.C }, () => new Float64Array(theta.length));
  const t = Float64Array.from(theta);
  for (let p = 0; p < theta.length; p++) {
    t[p] = theta[p] + h;
    const up = model.f64(t, x);
    t[p] = theta[p] - h;
    const down = model.f64(t, x);
    t[p] = theta[p];
    for (let c = 0; c < model.C; c++) J[c][p] = (up[c] - down[c]) / (2 * h);
  }
  return J;
}

/** Solves A x = b (A n×n, row-major float64) by Gaussian elimination with partial pivoting. */
export function solve(A: Float64Array, b: Float64Array, n: number): Float64Array {
  const a = Float64Array.from(A), x = Float64Array.from(b);
  for (let k = 0; k < n; k++) {
    let piv = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(a[i * n + k]) > Math.abs(a[piv * n + k])) piv = i;
    if (piv !== k) {
      for (let j = 0; j < n; j++) [a[k * n + j], a[piv * n + j]] = [a[piv * n + j], a[k * n + j]];
      [x[k], x[piv]] = [x[piv], x[k]];
    }
    for (let i = k + 1; i < n; i++) {
      const f = a[i * n + k] / a[k * n + k];
      for (let j = k; j < n; j++) a[i * n + j] -= f * a[k * n + j];
      x[i] -= f * x[k];
    }
  }
  for (let k = n - 1; k >= 0; k--) {
    let s = x[k];
    for (let j = k + 1; j < n; j++) s -= a[k * n + j] * x[j];
    x[k] = s / a[k * n + k];
  }
  return x;
}

/** Eigenvalues of a symmetric n×n matrix (cyclic Jacobi rotations, float64). */
export function symmetricEigenvalues(S: Float64Array, n: number): number[] {
  const a = Float64Array.from(S);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  return Array.from({ length: n }, (_, i) => a[i * n + i]);
}
