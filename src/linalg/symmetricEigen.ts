import { symmetricTridiagonalEigen } from './tridiagonalDivideConquer.js';
import { applyTridiagonalQ, tridiagonalize } from './tridiagonalize.js';
import type { Float64Workspace, MatrixView } from './workspace.js';

/**
 * Eigendecomposition A = V diag(values) V^T of a symmetric matrix: Householder tridiagonalisation,
 * tridiagonal eigenpairs by divide and conquer, and the back-transform V = Q Z (as LAPACK's dsyevd).
 *
 * Only the upper triangle of `a` is read, and `a` is overwritten. `vectors` (n x n, must not overlap
 * `a`) receives the unit eigenvectors as columns, in the order of the returned eigenvalues, which is
 * descending.
 */
export function symmetricEigenInPlace(ws: Float64Workspace, a: MatrixView, vectors: MatrixView): Float64Array {
  const n = a.rows;
  if (vectors.rows !== n || vectors.cols !== n) throw new Error(`symmetricEigen: vectors must be ${n}x${n}`);
  const tridiagonal = tridiagonalize(ws, a);
  const values = symmetricTridiagonalEigen(ws, tridiagonal.diagonal, tridiagonal.offDiagonal, vectors);
  applyTridiagonalQ(ws, tridiagonal, vectors);
  return values;
}
