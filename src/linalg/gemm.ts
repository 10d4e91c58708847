import { KC, MC, NC, TILE } from './gemmBlocks.js';
import type { Float64Workspace, MatrixView } from './workspace.js';

/** Options of {@link gemm}: C = alpha op(A) op(B) + beta C. */
export interface GemmOptions {
  /** op(A) = A^T. */
  transA?: boolean;
  /** op(B) = B^T. */
  transB?: boolean;
  /** Default 1. */
  alpha?: number;
  /** Default 0 (C's old contents are ignored, NaN included). */
  beta?: number;
  /** op(A) is lower or upper triangular: blocks known to be zero are skipped (they must hold zeros). */
  aTriangle?: 'lower' | 'upper';
  /** op(B) is lower or upper triangular, as for aTriangle. */
  bTriangle?: 'lower' | 'upper';
  /**
   * Only C's upper triangle (j >= i) is wanted, as for a symmetric product: blocks below the
   * diagonal are skipped, and the strictly lower part of C is unspecified afterwards.
   */
  upperOnly?: boolean;
}


function buffersOf(ws: Float64Workspace): { a: number; b: number; tile: number } {
  const a = ws.gemmScratch;
  return { a, b: a + MC * KC, tile: a + MC * KC + KC * NC };
}

/**
 * Packs rows [i0, i1) and columns [p0, p0 + kc) of op(A), times alpha, into micro-panels of 4 rows
 * (each kc steps of 4 doubles), zero-padding the last panel.
 */
function packA(heap: Float64Array, dest: number, a: MatrixView, trans: boolean, i0: number, i1: number, p0: number, kc: number, alpha: number): void {
  const { offset, stride } = a;
  let q = dest;
  for (let i = i0; i < i1; i += TILE) {
    const rows = Math.min(TILE, i1 - i);
    if (!trans) {
      const r0 = offset + i * stride + p0;
      if (rows === TILE) {
        const r1 = r0 + stride;
        const r2 = r1 + stride;
        const r3 = r2 + stride;
        for (let k = 0; k < kc; k++) {
          heap[q] = alpha * heap[r0 + k]!;
          heap[q + 1] = alpha * heap[r1 + k]!;
          heap[q + 2] = alpha * heap[r2 + k]!;
          heap[q + 3] = alpha * heap[r3 + k]!;
          q += 4;
        }
      } else {
        for (let k = 0; k < kc; k++) {
          for (let r = 0; r < TILE; r++) heap[q + r] = r < rows ? alpha * heap[r0 + r * stride + k]! : 0;
          q += 4;
        }
      }
    } else {
      // op(A)[i][p] = A[p][i]: four consecutive i of one stored row.
      let src = offset + p0 * stride + i;
      if (rows === TILE) {
        for (let k = 0; k < kc; k++) {
          heap[q] = alpha * heap[src]!;
          heap[q + 1] = alpha * heap[src + 1]!;
          heap[q + 2] = alpha * heap[src + 2]!;
          heap[q + 3] = alpha * heap[src + 3]!;
          q += 4;
          src += stride;
        }
      } else {
        for (let k = 0; k < kc; k++) {
          for (let r = 0; r < TILE; r++) heap[q + r] = r < rows ? alpha * heap[src + r]! : 0;
          q += 4;
          src += stride;
        }
      }
    }
  }
}

/**
 * Packs rows [p0, p0 + kc) and columns [j0, j1) of op(B) into micro-panels of 4 columns: column j of
 * op(B) is row j of op(B)^T, which is B with the other `trans`, so these are packA's panels of that.
 */
function packB(heap: Float64Array, dest: number, b: MatrixView, trans: boolean, p0: number, kc: number, j0: number, j1: number): void {
  packA(heap, dest, b, !trans, j0, j1, p0, kc, 1);
}

function scaleOutput(heap: Float64Array, c: MatrixView, beta: number, upperOnly: boolean): void {
  for (let i = 0; i < c.rows; i++) {
    const row = c.offset + i * c.stride;
    const from = upperOnly ? Math.min(i, c.cols) : 0;
    if (beta === 0) heap.fill(0, row + from, row + c.cols);
    else if (beta !== 1) for (let j = from; j < c.cols; j++) heap[row + j] = heap[row + j]! * beta;
  }
}

/**
 * General matrix product C = alpha op(A) op(B) + beta C on workspace matrices, blocked for the
 * caches and run by the SIMD kernel (GotoBLAS layout: B packed per KC x NC block, A per MC x KC
 * block, 4x4 register tiles). C must not overlap A or B.
 */
export function gemm(ws: Float64Workspace, a: MatrixView, b: MatrixView, c: MatrixView, options: GemmOptions = {}): void {
  const { transA = false, transB = false, alpha = 1, beta = 0, aTriangle, bTriangle, upperOnly = false } = options;
  const m = transA ? a.cols : a.rows;
  const k = transA ? a.rows : a.cols;
  const n = transB ? b.rows : b.cols;
  const kB = transB ? b.cols : b.rows;
  if (k !== kB || c.rows !== m || c.cols !== n) {
    throw new Error(`gemm: op(A) ${m}x${k} times op(B) ${kB}x${n} into C ${c.rows}x${c.cols}`);
  }
  const buffers = buffersOf(ws);
  const heap = ws.heap;
  scaleOutput(heap, c, beta, upperOnly);
  if (alpha === 0 || m === 0 || n === 0 || k === 0) return;
  const { gemm: kernel } = ws.kernels;
  for (let jc = 0; jc < n; jc += NC) {
    const jcEnd = Math.min(n, jc + NC);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      // Columns of op(B) that are not known to be zero in rows [pc, pc + kc).
      let j0 = jc;
      let j1 = jcEnd;
      if (bTriangle === 'lower') j1 = Math.min(j1, pc + kc);
      if (bTriangle === 'upper') j0 = Math.max(j0, pc);
      if (j0 >= j1) continue;
      packB(heap, buffers.b, b, transB, pc, kc, j0, j1);
      for (let ic = 0; ic < m; ic += MC) {
        let i0 = ic;
        let i1 = Math.min(m, ic + MC);
        // Rows of op(A) that are not known to be zero in columns [pc, pc + kc).
        if (aTriangle === 'lower') i0 = Math.max(i0, pc);
        if (aTriangle === 'upper') i1 = Math.min(i1, pc + kc);
        if (i0 >= i1) continue;
        // Columns of C wanted for these rows; start on a packed micro-panel boundary.
        let jStart = j0;
        if (upperOnly && i0 > j0) jStart = j0 + Math.floor((i0 - j0) / TILE) * TILE;
        if (jStart >= j1) continue;
        packA(heap, buffers.a, a, transA, i0, i1, pc, kc, alpha);
        kernel(
          buffers.a * 8,
          (buffers.b + (jStart - j0) * kc) * 8,
          (c.offset + i0 * c.stride + jStart) * 8,
          c.stride,
          i1 - i0,
          j1 - jStart,
          kc,
          buffers.tile * 8,
        );
      }
    }
  }
}
