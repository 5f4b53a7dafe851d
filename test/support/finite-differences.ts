/**
 * Autodiff against central finite differences of a float64 twin, on sampled coordinates
 * (model/causal-gradients.test.ts, model/masked-gradients.test.ts). One ± pair per coordinate serves every example
 * and label: f() evaluates the twin on all of them.
 */
import { strict as assert } from 'node:assert';

export interface FiniteDifferenceCheck {
  /** The twin's weights by name; each sampled coordinate is moved by ±eps and restored. */
  weights: Map<string, { values: Float64Array }>;
  /** name → the sampled coordinate indices. */
  coords: Map<string, number[]>;
  /** The twin's outputs [example][label] at the current weights (float64). */
  f: () => number[][];
  /** The float32 autodiff gradient of output (example b, label c) at the k-th sampled coordinate of `name`. */
  autodiff: (name: string, b: number, c: number, k: number) => number;
  /** Step (float64), relative tolerance and absolute floor: |g − fd| ≤ rel·|fd| + floor. */
  eps: number;
  rel: number;
  floor: number;
  /** Tensors whose gradient is identically 0 (the attention key bias): exempt from the every-tensor-is-tested check. */
  mayBeZero?: (name: string) => boolean;
  /** At least this many (coordinate, example, label) comparisons must have run. */
  atLeast: number;
  /** Label names for messages. */
  labels: number[];
}

/** Asserts every sampled gradient entry within tolerance, and that no tested tensor's sampled gradients are all 0. */
export function assertMatchesFiniteDifferences(o: FiniteDifferenceCheck): void {
  const failures: string[] = [];
  let compared = 0;
  let worstRatio = 0;
  for (const [name, picked] of o.coords) {
    const values = o.weights.get(name)!.values;
    let tensorMax = 0;
    picked.forEach((i, k) => {
      const v0 = values[i];
      values[i] = v0 + o.eps;
      const plus = o.f();
      values[i] = v0 - o.eps;
      const minus = o.f();
      values[i] = v0;
      plus.forEach((row, b) => row.forEach((_, c) => {
        const fd = (plus[b][c] - minus[b][c]) / (2 * o.eps);
        const g = o.autodiff(name, b, c, k);
        const tol = o.rel * Math.abs(fd) + o.floor;
        tensorMax = Math.max(tensorMax, Math.abs(fd));
        worstRatio = Math.max(worstRatio, Math.abs(g - fd) / tol);
        compared++;
        if (!(Math.abs(g - fd) <= tol)) {
          failures.push(`${name}[${i}] example ${b} label ${o.labels[c]}: autodiff ${g.toExponential(5)}, finite difference ${fd.toExponential(5)}`);
        }
      }));
    });
    if (tensorMax === 0 && !o.mayBeZero?.(name)) failures.push(`${name}: every sampled coordinate has a zero gradient (the check would be vacuous)`);
  }
  assert.ok(compared >= o.atLeast, `${compared} comparisons, expected at least ${o.atLeast}`);
  assert.equal(failures.length, 0, `${failures.length} of ${compared} gradient entries differ:\n  ${failures.slice(0, 25).join('\n  ')}`);
  assert.ok(worstRatio <= 1, `worst |autodiff − fd| / tolerance = ${worstRatio}`);
}
