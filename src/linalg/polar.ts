import { gemm } from './gemm.js';
import { symmetricEigenInPlace } from './symmetricEigen.js';
import type { Float64Workspace, MatrixView } from './workspace.js';

/**
 * Singular values below this fraction of the largest get their left vector re-orthogonalised: the
 * vectors u_j = M v_j / s_j of the cross-product method lose orthogonality as eps (s_max / s_j)^2.
 * Above it for all j, P = M (M^T M)^-1/2 is formed directly (equally accurate, a quarter cheaper).
 */
const REORTHOGONALISE_BELOW = 1e-4;

/** Gram-Schmidt of row `j` of `rows` against rows 0..j-1, twice ("twice is enough"); returns the remaining norm. */
function orthogonaliseRow(ws: Float64Workspace, rows: MatrixView, j: number): number {
  const { dot, axpy } = ws.kernels;
  const n = rows.cols;
  const target = (rows.offset + j * rows.stride) * 8;
  for (let pass = 0; pass < 2; pass++) {
    for (let k = 0; k < j; k++) {
      const other = (rows.offset + k * rows.stride) * 8;
      axpy(-dot(other, target, n), other, target, n);
    }
  }
  return Math.sqrt(dot(target, target, n));
}

function scaleRow(ws: Float64Workspace, rows: MatrixView, j: number, factor: number): void {
  const heap = ws.heap;
  const start = rows.offset + j * rows.stride;
  for (let i = start; i < start + rows.cols; i++) heap[i] = heap[i]! * factor;
}

/**
 * Orthogonal polar factor P = U V^T of a square M = U S V^T (the orthogonal matrix nearest to M),
 * written to `out`, and the singular values S, largest first.
 *
 * Cross-product method: V and S^2 from the symmetric eigendecomposition of M^T M; then, when no
 * singular value is small, P = M (M^T M)^-1/2 = M (V S^-1/2)(V S^-1/2)^T (a symmetric product and
 * one general one). That costs about a third of a bidiagonal SVD, and is accurate to about
 * eps * (s_max / s_min)^2 in P: ample for CCA, whose singular values are correlations in (0, 1].
 * With singular values below {@link REORTHOGONALISE_BELOW} * s_max, P = U V^T with U = M V S^-1,
 * whose small-s columns are re-orthogonalised, and those of (numerically) zero singular values
 * completed to an orthonormal basis, so P is orthogonal even for rank-deficient M (where it is not
 * unique).
 */
export function polarFactor(ws: Float64Workspace, m: MatrixView, out: MatrixView): Float64Array {
  const n = m.rows;
  if (m.cols !== n || out.rows !== n || out.cols !== n) throw new Error(`polarFactor: M ${m.rows}x${m.cols}, out ${out.rows}x${out.cols}`);
  const mark = ws.mark();
  const gram = ws.matrix(n, n);
  const v = ws.matrix(n, n);
  gemm(ws, m, m, gram, { transA: true, upperOnly: true });
  const squares = symmetricEigenInPlace(ws, gram, v);
  const largestSquare = Math.max(0, squares[0] ?? 0);
  const smallestSquare = squares[n - 1] ?? 0;
  let singularValues: Float64Array;
  if (n > 0 && smallestSquare > REORTHOGONALISE_BELOW ** 2 * largestSquare) {
    // Reuse gram for the symmetric (M^T M)^-1/2 = W W^T, W = V S^-1/2 (v scaled in place).
    let heap = ws.heap;
    for (let i = 0; i < n; i++) {
      const row = v.offset + i * v.stride;
      for (let j = 0; j < n; j++) heap[row + j] = heap[row + j]! / Math.sqrt(Math.sqrt(squares[j]!));
    }
    gemm(ws, v, v, gram, { transB: true, upperOnly: true });
    heap = ws.heap;
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) heap[gram.offset + i * n + j] = heap[gram.offset + j * n + i]!;
    gemm(ws, m, gram, out);
    // s_j = sqrt(lambda_j): absolute error eps s_max^2 / s_j, tiny for s_j above the threshold.
    singularValues = Float64Array.from(squares, (square) => Math.sqrt(square));
  } else {
    singularValues = leftVectorsPolar(ws, m, v, out);
  }
  ws.release(mark);
  return singularValues.sort().reverse();
}

/** P = U V^T with U = M V S^-1, robust to small and zero singular values; returns S (unordered). */
function leftVectorsPolar(ws: Float64Workspace, m: MatrixView, v: MatrixView, out: MatrixView): Float64Array {
  const n = m.rows;
  const ut = ws.matrix(n, n);
  // Row j of ut is (M v_j)^T = v_j^T M^T, with norm s_j.
  gemm(ws, v, m, ut, { transA: true, transB: true });
  const { dot } = ws.kernels;
  const singularValues = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    const row = (ut.offset + j * ut.stride) * 8;
    singularValues[j] = Math.sqrt(dot(row, row, n));
  }
  let largest = 0;
  for (const s of singularValues) largest = Math.max(largest, s);
  for (let j = 0; j < n; j++) {
    const s = singularValues[j]!;
    if (s > REORTHOGONALISE_BELOW * largest) {
      scaleRow(ws, ut, j, 1 / s);
      continue;
    }
    if (s > 0 && Number.isFinite(s)) scaleRow(ws, ut, j, 1 / s);
    let remaining = s > 0 ? orthogonaliseRow(ws, ut, j) : 0;
    // A direction lost in rounding (a null vector of M): any unit vector orthogonal to the others
    // will do. Some coordinate vector keeps at least 1/sqrt(n) of its length after projection, so
    // scan them from the first for each such row, and take the first that keeps a safe part.
    for (let k = 0; !(remaining > 1e-3) && k < n; k++) {
      const heap = ws.heap;
      heap.fill(0, ut.offset + j * ut.stride, ut.offset + j * ut.stride + n);
      heap[ut.offset + j * ut.stride + k] = 1;
      remaining = orthogonaliseRow(ws, ut, j);
    }
    scaleRow(ws, ut, j, 1 / remaining);
  }
  // P = U V^T = ut^T v^T
  gemm(ws, ut, v, out, { transA: true, transB: true });
  return singularValues;
}
