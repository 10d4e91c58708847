import { gemm } from './gemm.js';
import { subMatrix, type Float64Workspace, type MatrixView } from './workspace.js';

/** Rows per block: the diagonal-block substitution runs row by row with the SIMD axpy kernel. */
const BLOCK = 128;

/**
 * Solves L X = B (or L^T X = B with `transpose`) in place (B becomes X), for a lower-triangular,
 * non-singular L stored as a full matrix (only its lower triangle is read). Blocked and
 * right-looking: each solved block of rows updates all the rows still to solve in one
 * {@link gemm} (rank BLOCK), so nothing bigger than a BLOCK-wide panel of L is packed twice.
 */
export function solveLowerInPlace(ws: Float64Workspace, l: MatrixView, b: MatrixView, transpose = false): void {
  const n = l.rows;
  if (l.cols !== n || b.rows !== n) throw new Error(`triangular solve: L ${l.rows}x${l.cols}, B ${b.rows}x${b.cols}`);
  const m = b.cols;
  const { axpy } = ws.kernels;
  const blockStarts: number[] = [];
  for (let ib = 0; ib < n; ib += BLOCK) blockStarts.push(ib);
  // L X = B runs forward (top block first); L^T X = B backward.
  if (transpose) blockStarts.reverse();
  for (const ib of blockStarts) {
    const nb = Math.min(BLOCK, n - ib);
    const heap = ws.heap;
    for (let t = 0; t < nb; t++) {
      const i = transpose ? ib + nb - 1 - t : ib + t;
      const rowI = b.offset + i * b.stride;
      // Subtract the rows of this block already solved, then divide by the diagonal.
      if (!transpose) {
        for (let p = ib; p < i; p++) {
          const lip = heap[l.offset + i * l.stride + p]!;
          if (lip !== 0) axpy(-lip, (b.offset + p * b.stride) * 8, rowI * 8, m);
        }
      } else {
        for (let p = i + 1; p < ib + nb; p++) {
          const lpi = heap[l.offset + p * l.stride + i]!;
          if (lpi !== 0) axpy(-lpi, (b.offset + p * b.stride) * 8, rowI * 8, m);
        }
      }
      const inverseDiagonal = 1 / heap[l.offset + i * l.stride + i]!;
      for (let j = 0; j < m; j++) heap[rowI + j] = heap[rowI + j]! * inverseDiagonal;
    }
    const solved = subMatrix(b, ib, 0, nb, m);
    if (!transpose && ib + nb < n) {
      const rest = n - ib - nb;
      gemm(ws, subMatrix(l, ib + nb, ib, rest, nb), solved, subMatrix(b, ib + nb, 0, rest, m), { alpha: -1, beta: 1 });
    }
    if (transpose && ib > 0) {
      // (L^T)[above, block] = L[block, above]^T
      gemm(ws, subMatrix(l, ib, 0, nb, ib), solved, subMatrix(b, 0, 0, ib, m), { transA: true, alpha: -1, beta: 1 });
    }
  }
}

/** Writes A^T into `out` (which must not overlap A). */
export function transposeInto(ws: Float64Workspace, a: MatrixView, out: MatrixView): void {
  if (out.rows !== a.cols || out.cols !== a.rows) throw new Error(`transpose: ${a.rows}x${a.cols} into ${out.rows}x${out.cols}`);
  const heap = ws.heap;
  // Tiles keep both the reads and the writes within a few cache lines.
  const tile = 32;
  for (let i0 = 0; i0 < a.rows; i0 += tile) {
    for (let j0 = 0; j0 < a.cols; j0 += tile) {
      const i1 = Math.min(a.rows, i0 + tile);
      const j1 = Math.min(a.cols, j0 + tile);
      for (let i = i0; i < i1; i++) {
        const src = a.offset + i * a.stride;
        for (let j = j0; j < j1; j++) heap[out.offset + j * out.stride + i] = heap[src + j]!;
      }
    }
  }
}
