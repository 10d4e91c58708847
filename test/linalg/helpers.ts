/** Shared fixtures for the dense linear-algebra tests: plain-JavaScript float64 references. */
import { normalRng } from '../nn/helpers.js';

/** A random orthogonal matrix (modified Gram-Schmidt on Gaussian columns), row-major, plain JS. */
export function randomOrthogonal(n: number, seed: number): Float64Array {
  const next = normalRng(seed);
  const q = Float64Array.from({ length: n * n }, () => next());
  for (let j = 0; j < n; j++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += q[i * n + j]! * q[i * n + k]!;
        for (let i = 0; i < n; i++) q[i * n + j] = q[i * n + j]! - dot * q[i * n + k]!;
      }
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += q[i * n + j]! ** 2;
    for (let i = 0; i < n; i++) q[i * n + j] = q[i * n + j]! / Math.sqrt(norm);
  }
  return q;
}
