import { gemm } from './gemm.js';
import { subMatrix, type Float64Workspace, type MatrixView } from './workspace.js';

/**
 * Householder reduction of a symmetric matrix to tridiagonal form, A = Q T Q^T, and the product of
 * Q with a block of vectors. This is LAPACK's dsytrd/dlatrd (lower) and dormtr, transliterated to
 * row-major storage of the upper triangle (LAPACK's column i below the diagonal is our row i right
 * of it, so every vector the algorithm touches is a contiguous row).
 *
 * Blocked as in LAPACK: each panel of PANEL reflectors is built with matrix-vector products
 * (the symmetric one, y = A v on the trailing matrix, is the SIMD `symvUpper` kernel and accounts for
 * half the flops), then the trailing matrix gets one rank-2*PANEL update through {@link gemm}.
 */
export interface Tridiagonal {
  /** Diagonal, n entries. */
  diagonal: Float64Array;
  /** Off-diagonal T[i][i+1], n - 1 entries. */
  offDiagonal: Float64Array;
  /**
   * Q = H_0 H_1 ... H_{n-2} with H_i = I - tau_i v_i v_i^T; v_i is 0 before position i+1, 1 at it,
   * and stored after it in row i of the reduced matrix.
   */
  tau: Float64Array;
  /** The reduced matrix, holding the reflectors. */
  reflectors: MatrixView;
}

const PANEL = 32;
const BACK_TRANSFORM_BLOCK = 128;

/**
 * Householder reflector (LAPACK dlarfg) for the `length` doubles at heap[start...]: returns tau and
 * beta such that (I - tau v v^T) [alpha; x] = [beta; 0] with v = [1; x'], overwriting x with x'.
 */
function householder(ws: Float64Workspace, alphaIndex: number, start: number, length: number): { tau: number; beta: number } {
  const heap = ws.heap;
  const alpha = heap[alphaIndex]!;
  if (length <= 0) return { tau: 0, beta: alpha };
  const xnorm = Math.sqrt(ws.kernels.dot(start * 8, start * 8, length));
  if (xnorm === 0) return { tau: 0, beta: alpha };
  const beta = -Math.sign(alpha || 1) * Math.hypot(alpha, xnorm);
  const tau = (beta - alpha) / beta;
  const scale = 1 / (alpha - beta);
  for (let i = start; i < start + length; i++) heap[i] = heap[i]! * scale;
  return { tau, beta };
}

/**
 * Reduces the symmetric matrix `a` (only its upper triangle is read; it is overwritten with the
 * reflectors) to tridiagonal form.
 */
export function tridiagonalize(ws: Float64Workspace, a: MatrixView): Tridiagonal {
  const n = a.rows;
  if (a.cols !== n) throw new Error(`tridiagonalize: expected a square matrix, got ${n}x${a.cols}`);
  const diagonal = new Float64Array(n);
  const offDiagonal = new Float64Array(Math.max(0, n - 1));
  const tau = new Float64Array(Math.max(0, n - 1));
  const mark = ws.mark();
  // W of the current panel (PANEL rows of n), the [V; W] and [W; V] operands of the rank-2k
  // update, and two scratch vectors for the panel's small matrix-vector products.
  const w = ws.matrix(PANEL, n);
  const vw = ws.matrix(2 * PANEL, n);
  const wv = ws.matrix(2 * PANEL, n);
  const t1 = ws.allocate(PANEL);
  const t2 = ws.allocate(PANEL);
  const { symvUpper, dot, axpy } = ws.kernels;
  const lda = a.stride;
  const rowStart = (row: number, col: number): number => a.offset + row * lda + col;

  for (let p = 0; p < n - 1; p += PANEL) {
    const nb = Math.min(PANEL, n - 1 - p);
    for (let t = 0; t < nb; t++) {
      const i = p + t; // global index of the column being reduced
      const heap = ws.heap;
      const wRow = (k: number): number => w.offset + k * w.stride; // W row k, indexed by global column
      // Bring row i up to date with this panel's earlier reflectors (A -= V W^T + W V^T, row i).
      for (let k = 0; k < t; k++) {
        axpy(-heap[wRow(k) + i]!, rowStart(p + k, i) * 8, rowStart(i, i) * 8, n - i);
        axpy(-heap[rowStart(p + k, i)]!, (wRow(k) + i) * 8, rowStart(i, i) * 8, n - i);
      }
      const { tau: tauI, beta } = householder(ws, rowStart(i, i + 1), rowStart(i, i + 2), n - i - 2);
      tau[i] = tauI;
      offDiagonal[i] = beta;
      heap[rowStart(i, i + 1)] = 1;
      const m = n - i - 1;
      const v = rowStart(i, i + 1) * 8;
      const wi = (wRow(t) + i + 1) * 8;
      // w = A22 v on the trailing matrix as it was before this panel, then the panel's corrections.
      symvUpper(rowStart(i + 1, i + 1) * 8, lda, m, v, wi);
      for (let k = 0; k < t; k++) {
        heap[t1 + k] = dot((wRow(k) + i + 1) * 8, v, m);
        heap[t2 + k] = dot(rowStart(p + k, i + 1) * 8, v, m);
      }
      for (let k = 0; k < t; k++) {
        axpy(-heap[t1 + k]!, rowStart(p + k, i + 1) * 8, wi, m);
        axpy(-heap[t2 + k]!, (wRow(k) + i + 1) * 8, wi, m);
      }
      const wStart = wRow(t) + i + 1;
      for (let j = 0; j < m; j++) heap[wStart + j] = heap[wStart + j]! * tauI;
      const alpha = -0.5 * tauI * dot(wi, v, m);
      axpy(alpha, v, wi, m);
    }
    // Trailing update A22 -= V^T W + W^T V as one product [V; W]^T [W; V] (upper triangle only).
    const start = p + nb;
    const rest = n - start;
    if (rest > 0) {
      const heap = ws.heap;
      for (let k = 0; k < nb; k++) {
        const vSrc = heap.subarray(rowStart(p + k, start), rowStart(p + k, start) + rest);
        const wSrc = heap.subarray(w.offset + k * w.stride + start, w.offset + k * w.stride + start + rest);
        heap.set(vSrc, vw.offset + k * vw.stride);
        heap.set(wSrc, vw.offset + (nb + k) * vw.stride);
        heap.set(wSrc, wv.offset + k * wv.stride);
        heap.set(vSrc, wv.offset + (nb + k) * wv.stride);
      }
      gemm(ws, subMatrix(vw, 0, 0, 2 * nb, rest), subMatrix(wv, 0, 0, 2 * nb, rest), subMatrix(a, start, start, rest, rest), {
        transA: true,
        alpha: -1,
        beta: 1,
        upperOnly: true,
      });
    }
    const heap = ws.heap;
    for (let i = p; i < p + nb; i++) heap[rowStart(i, i + 1)] = offDiagonal[i]!;
  }
  const heap = ws.heap;
  for (let i = 0; i < n; i++) diagonal[i] = heap[rowStart(i, i)]!;
  ws.release(mark);
  return { diagonal, offDiagonal, tau, reflectors: a };
}

/**
 * C = Q C for the Q of a {@link tridiagonalize} (LAPACK dormtr, left, no transpose): the reflectors
 * are applied in blocks, last block first, each as I - V T V^T (compact WY) with two products.
 */
export function applyTridiagonalQ(ws: Float64Workspace, tri: Tridiagonal, c: MatrixView): void {
  const n = tri.reflectors.rows;
  if (c.rows !== n) throw new Error(`applyTridiagonalQ: Q is ${n}x${n}, C has ${c.rows} rows`);
  const reflectorCount = n - 1;
  const cols = c.cols;
  const { reflectors: a, tau } = tri;
  const blockStarts: number[] = [];
  for (let g = 0; g < reflectorCount; g += BACK_TRANSFORM_BLOCK) blockStarts.push(g);
  for (const g of blockStarts.reverse()) {
    const nb = Math.min(BACK_TRANSFORM_BLOCK, reflectorCount - g);
    // Rows g+1 .. n-1 are the only ones these reflectors touch.
    const m = n - g - 1;
    const mark = ws.mark();
    const v = ws.matrix(nb, m);
    const gram = ws.matrix(nb, nb);
    const tFactor = ws.matrix(nb, nb);
    const y = ws.matrix(nb, cols);
    const ty = ws.matrix(nb, cols);
    let heap = ws.heap;
    for (let k = 0; k < nb; k++) {
      // v_{g+k}: zeros, then 1 at global row g+k+1 (local k), then the stored entries.
      const dest = v.offset + k * m;
      heap[dest + k] = 1;
      const src = a.offset + (g + k) * a.stride + g + k + 2;
      heap.set(heap.subarray(src, src + m - k - 1), dest + k + 1);
    }
    // T of the compact WY form (LAPACK dlarft, forward, columnwise) from the Gram matrix V V^T.
    gemm(ws, v, v, gram, { transB: true });
    heap = ws.heap;
    for (let i = 0; i < nb; i++) {
      const tauI = tau[g + i]!;
      heap[tFactor.offset + i * nb + i] = tauI;
      // T[0:i, i] = -tau_i T[0:i, 0:i] (V[:, 0:i]^T v_i)
      for (let r = 0; r < i; r++) {
        let sum = 0;
        for (let s = r; s < i; s++) sum += heap[tFactor.offset + r * nb + s]! * heap[gram.offset + s * nb + i]!;
        heap[tFactor.offset + r * nb + i] = -tauI * sum;
      }
    }
    const target = subMatrix(c, g + 1, 0, m, cols);
    gemm(ws, v, target, y);
    gemm(ws, tFactor, y, ty, { aTriangle: 'upper' });
    gemm(ws, v, ty, target, { transA: true, alpha: -1, beta: 1 });
    ws.release(mark);
  }
}
