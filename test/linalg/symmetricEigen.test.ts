import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { gemm } from '../../src/linalg/gemm.js';
import { symmetricEigenInPlace } from '../../src/linalg/symmetricEigen.js';
import { symmetricTridiagonalEigen } from '../../src/linalg/tridiagonalDivideConquer.js';
import { tridiagonalEigenvalues } from '../../src/linalg/tridiagonalEigen.js';
import { Float64Workspace } from '../../src/linalg/workspace.js';
import { normalRng } from '../nn/helpers.js';
import { randomOrthogonal } from './helpers.js';

/** Q diag(values) Q^T, plain JS. */
function withSpectrum(q: Float64Array, values: ArrayLike<number>, n: number): Float64Array {
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = 0;
      for (let p = 0; p < n; p++) sum += q[i * n + p]! * values[p]! * q[j * n + p]!;
      a[i * n + j] = sum;
      a[j * n + i] = sum;
    }
  }
  return a;
}

/** max |A V - V diag(values)| / max |values| and max |V^T V - I|. */
function quality(a: Float64Array, v: Float64Array, values: Float64Array, n: number): { residual: number; orthogonality: number } {
  let residual = 0;
  let orthogonality = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let av = 0;
      let vtv = 0;
      for (let p = 0; p < n; p++) {
        av += a[i * n + p]! * v[p * n + j]!;
        vtv += v[p * n + i]! * v[p * n + j]!;
      }
      residual = Math.max(residual, Math.abs(av - values[j]! * v[i * n + j]!));
      orthogonality = Math.max(orthogonality, Math.abs(vtv - (i === j ? 1 : 0)));
    }
  }
  const scale = values.reduce((m, x) => Math.max(m, Math.abs(x)), 1e-300);
  return { residual: residual / scale, orthogonality };
}

function eigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const ws = new Float64Workspace();
  const am = ws.matrixFrom(a, n, n);
  const vm = ws.matrix(n, n);
  const values = symmetricEigenInPlace(ws, am, vm);
  return { values, vectors: ws.read(vm) };
}

describe('symmetric tridiagonal eigenproblem', () => {
  it('QL gives the closed-form eigenvalues of the 1-D Laplacian', () => {
    const n = 50;
    const values = tridiagonalEigenvalues(new Float64Array(n).fill(2), new Float64Array(n - 1).fill(-1));
    for (let k = 1; k <= n; k++) expect(values[k - 1]).toBeCloseTo(2 - 2 * Math.cos((k * Math.PI) / (n + 1)), 13);
  });

  it.each([20, 100, 257])('divide and conquer gives the Laplacian eigenvectors sin(j k pi / (n+1)) (n=%i)', (n) => {
    const ws = new Float64Workspace();
    const vectors = ws.matrix(n, n);
    const values = symmetricTridiagonalEigen(ws, new Float64Array(n).fill(2), new Float64Array(n - 1).fill(-1), vectors);
    const v = ws.read(vectors);
    const normalisation = Math.sqrt(2 / (n + 1));
    for (let c = 0; c < n; c++) {
      const k = n - c; // descending order
      expect(values[c]).toBeCloseTo(2 - 2 * Math.cos((k * Math.PI) / (n + 1)), 13);
      const sign = Math.sign(v[c]!); // first entry sin(k pi / (n+1)) > 0 up to the vector's sign
      for (let j = 0; j < n; j++) expect(sign * v[j * n + c]!).toBeCloseTo(normalisation * Math.sin(((j + 1) * k * Math.PI) / (n + 1)), 11);
    }
  });

  it("keeps Wilkinson's nearly-degenerate pairs orthogonal (W_{2m+1}^+, m = 40)", () => {
    // Eigenvalue pairs agree to ~1e-14 and worse: inverse iteration alone would return equal vectors.
    const m = 40;
    const n = 2 * m + 1;
    const d = Float64Array.from({ length: n }, (_, i) => Math.abs(m - i));
    const e = new Float64Array(n - 1).fill(1);
    const ws = new Float64Workspace();
    const vectors = ws.matrix(n, n);
    const values = symmetricTridiagonalEigen(ws, d, e, vectors);
    const dense = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      dense[i * n + i] = d[i]!;
      if (i + 1 < n) dense[i * n + i + 1] = dense[(i + 1) * n + i] = 1;
    }
    const { residual, orthogonality } = quality(dense, ws.read(vectors), values, n);
    expect(residual).toBeLessThan(1e-14);
    expect(orthogonality).toBeLessThan(1e-13);
    expect(values[0]! - values[1]!).toBeLessThan(1e-12); // the top pair really is that close
  });
});

describe('symmetricEigenInPlace', () => {
  const spectra: [string, number, (i: number, n: number) => number][] = [
    ['spread', 1, () => 0],
    ['spread', 2, () => 0],
    ['spread', 31, (i) => Math.sin(i * 12.9898) * 10],
    ['spread', 33, (i) => Math.sin(i * 12.9898) * 10],
    ['spread', 150, (i) => Math.sin(i * 12.9898) * 10],
    ['clustered within 1e-10', 100, (i) => 1 + 1e-10 * Math.sin(i * 7.1)],
    ['repeated 0 and 1, half each', 120, (i) => i % 2],
    ['graded over 12 decades', 90, (i, n) => 10 ** (-12 * (i / (n - 1)))],
  ];

  it.each(spectra)('recovers a %s spectrum (n=%i) with orthonormal vectors', (_, n, value) => {
    const known = Float64Array.from({ length: n }, (__, i) => value(i, n));
    const a = withSpectrum(randomOrthogonal(n, n + 3), known, n);
    const { values, vectors } = eigen(a, n);
    const sorted = Float64Array.from(known).sort().reverse();
    const scale = Math.max(1, ...known.map(Math.abs));
    for (let i = 0; i < n; i++) expect(Math.abs(values[i]! - sorted[i]!)).toBeLessThan(1e-13 * scale);
    const { residual, orthogonality } = quality(a, vectors, values, n);
    expect(residual).toBeLessThan(1e-13);
    expect(orthogonality).toBeLessThan(1e-13);
  });

  it('agrees with ml-matrix on a random symmetric matrix', () => {
    const n = 45;
    const next = normalRng(11);
    const x = Matrix.from1DArray(n, n, Array.from({ length: n * n }, () => next()));
    const a = x.add(x.transpose());
    const { values, vectors } = eigen(Float64Array.from(a.to1DArray()), n);
    const reference = new EigenvalueDecomposition(a, { assumeSymmetric: true });
    const referenceValues = [...reference.realEigenvalues].sort((p, q) => q - p);
    for (let i = 0; i < n; i++) expect(values[i]).toBeCloseTo(referenceValues[i]!, 12);
    // Same eigenvectors up to sign (the eigenvalues are distinct).
    const order = reference.realEigenvalues.map((v, i) => [v, i] as const).sort((p, q) => q[0] - p[0]);
    order.forEach(([, column], c) => {
      const ref = reference.eigenvectorMatrix.getColumn(column);
      const dot = ref.reduce((s, r, i) => s + r * vectors[i * n + c]!, 0);
      expect(Math.abs(dot)).toBeCloseTo(1, 10);
    });
  });

  it('reads only the upper triangle', () => {
    const n = 40;
    const a = withSpectrum(randomOrthogonal(n, 2), Float64Array.from({ length: n }, (_, i) => i), n);
    const garbage = Float64Array.from(a);
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) garbage[i * n + j] = 1e6 * (i - j);
    expect(Array.from(eigen(garbage, n).values)).toEqual(Array.from(eigen(a, n).values));
  });

  it('handles sizes through the workspace blocks (n = 300, spread spectrum)', () => {
    const n = 300;
    const ws = new Float64Workspace();
    const next = normalRng(4);
    const x = ws.matrixFrom(Float64Array.from({ length: n * n }, () => next()), n, n);
    const a = ws.matrix(n, n);
    gemm(ws, x, x, a, { transB: true });
    const original = ws.read(a);
    const v = ws.matrix(n, n);
    const values = symmetricEigenInPlace(ws, a, v);
    const { residual, orthogonality } = quality(original, ws.read(v), values, n);
    expect(residual).toBeLessThan(1e-14);
    expect(orthogonality).toBeLessThan(1e-13);
  });
});
