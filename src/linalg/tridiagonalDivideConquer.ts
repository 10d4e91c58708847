import { gemm } from './gemm.js';
import { tridiagonalEigenvalues, tridiagonalEigenvectors } from './tridiagonalEigen.js';
import { subMatrix, type Float64Workspace, type MatrixView } from './workspace.js';

/**
 * All eigenpairs of a symmetric tridiagonal matrix by Cuppen's divide and conquer, as LAPACK's
 * dstedc/dlaed0-3: tear the matrix in two by a rank-one correction, solve the halves, and merge
 * their eigenpairs through the secular equation of diag + rho z z^T. Close eigenvalues are deflated
 * rather than iterated, and the merged vectors come from Loewner's formula (Gu-Eisenstat), so they
 * are orthogonal to working precision whatever the clustering; the merge's vector update is one
 * matrix product, which carries nearly all the O(n^3) work. Leaves (at most LEAF_SIZE) use QL +
 * inverse iteration.
 */

const EPS = 2 ** -52;
const LEAF_SIZE = 32;
const MAX_SECULAR_ITERATIONS = 200;

/** Eigenpairs of one unreduced block, written into the block's square of `z` (ascending values). */
type BlockSolver = (start: number, size: number) => Float64Array;

/** Solves a leaf with QL (values) and inverse iteration (vectors). */
function solveLeaf(ws: Float64Workspace, d: Float64Array, e: Float64Array, z: MatrixView, start: number, size: number): Float64Array {
  const values = tridiagonalEigenvalues(d.subarray(start, start + size), e.subarray(start, start + size - 1));
  tridiagonalEigenvectors(d.subarray(start, start + size), e.subarray(start, start + size - 1), values, (j, x) => {
    const heap = ws.heap;
    for (let i = 0; i < size; i++) heap[z.offset + (start + i) * z.stride + start + j] = x[i]!;
  });
  return values;
}

/**
 * The j-th root of the secular equation 1 + rho sum_i w_i^2 / (dl_i - lambda) = 0 (rho > 0, dl
 * strictly increasing): lambda_j lies in (dl_j, dl_{j+1}), or above dl_{K-1} for the last one.
 * Writes, for accuracy (as LAPACK's dlaed4), the differences delta_i = dl_i - lambda_j computed as
 * (dl_i - dl_origin) - tau, with the origin the nearer end of the interval.
 *
 * Iterates dlaed4's "middle way": the sums over poles left and right of the root are each modelled
 * by one pole at the interval's end plus a constant, matching value and slope, and the model's root
 * is the next iterate (quadratic convergence, a few steps); a bracket guards it with bisection.
 */
function secularRoot(dl: Float64Array, w2: Float64Array, rho: number, j: number, delta: Float64Array): number {
  const k = dl.length;
  const last = j === k - 1;
  let origin: number;
  let lo: number;
  let hi: number;
  if (last) {
    let sum = 0;
    for (let i = 0; i < k; i++) sum += w2[i]!;
    origin = j;
    lo = 0;
    hi = rho * sum;
  } else {
    const half = (dl[j + 1]! - dl[j]!) / 2;
    // f at the midpoint decides which end the root is nearer to.
    let f = 1;
    for (let i = 0; i < k; i++) f += (rho * w2[i]!) / (dl[i]! - dl[j]! - half);
    if (f >= 0) {
      origin = j;
      lo = 0;
      hi = half;
    } else {
      origin = j + 1;
      lo = -half;
      hi = 0;
    }
  }
  const base = dl[origin]!;
  for (let i = 0; i < k; i++) delta[i] = dl[i]! - base;
  const leftPole = delta[j]!;
  const rightPole = last ? 0 : delta[j + 1]!;
  let tau = (lo + hi) / 2;
  for (let iteration = 0; iteration < MAX_SECULAR_ITERATIONS; iteration++) {
    // psi: poles at or left of the interval (i <= j); phi: right of it.
    let psi = 0;
    let psiSlope = 0;
    let phi = 0;
    let phiSlope = 0;
    let magnitude = 1;
    for (let i = 0; i <= j; i++) {
      const inverse = 1 / (delta[i]! - tau);
      const term = rho * w2[i]! * inverse;
      psi += term;
      psiSlope += term * inverse;
      magnitude -= term;
    }
    for (let i = j + 1; i < k; i++) {
      const inverse = 1 / (delta[i]! - tau);
      const term = rho * w2[i]! * inverse;
      phi += term;
      phiSlope += term * inverse;
      magnitude += term;
    }
    const f = 1 + psi + phi;
    // Converged to the rounding level of f's terms (dlaed4's test), or the bracket is exhausted.
    if (Math.abs(f) <= 8 * EPS * k * magnitude) break;
    if (f > 0) hi = tau;
    else lo = tau;
    if (hi - lo <= 2 * EPS * Math.max(Math.abs(lo), Math.abs(hi))) break;
    const gapLeft = leftPole - tau; // < 0
    let next: number;
    if (last) {
      // One pole: 1 + a + b / (gapLeft - eta) = 0.
      const b = psiSlope * gapLeft * gapLeft;
      const c = 1 + psi - psiSlope * gapLeft + phi;
      next = tau + gapLeft + b / c;
    } else {
      const gapRight = rightPole - tau; // > 0
      const b1 = psiSlope * gapLeft * gapLeft;
      const b2 = phiSlope * gapRight * gapRight;
      const c = f - psiSlope * gapLeft - phiSlope * gapRight;
      // c (gapLeft - eta)(gapRight - eta) + b1 (gapRight - eta) + b2 (gapLeft - eta) = 0; its constant
      // term is gapLeft gapRight f, and the wanted root is the one of smaller magnitude.
      const qa = c;
      const qb = c * (gapLeft + gapRight) + b1 + b2;
      const qc = gapLeft * gapRight * f;
      const discriminant = Math.max(0, qb * qb - 4 * qa * qc);
      const eta = qb === 0 && qc === 0 ? 0 : (2 * qc) / (qb + Math.sign(qb || 1) * Math.sqrt(discriminant));
      next = tau + eta;
    }
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    tau = next;
  }
  for (let i = 0; i < k; i++) delta[i] = delta[i]! - tau;
  return base + tau;
}

/**
 * Merges the solved halves [start, start + left) and [start + left, start + size) of a block torn
 * at off-diagonal `rho` (both halves' values ascending, vectors in their squares of z). Writes the
 * block's eigenpairs, ascending, in place.
 */
function merge(
  ws: Float64Workspace,
  z: MatrixView,
  start: number,
  size: number,
  left: number,
  valuesLeft: Float64Array,
  valuesRight: Float64Array,
  rho: number,
): Float64Array {
  const block = subMatrix(z, start, start, size, size);
  let heap = ws.heap;
  const column = (c: number, row: number): number => block.offset + row * block.stride + c;
  // T = Q (D + |rho| v v^T) Q^T with v = [last row of Q1, sign(rho) first row of Q2]; scaled to |v| = 1.
  const d = new Float64Array(size);
  const w = new Float64Array(size);
  d.set(valuesLeft, 0);
  d.set(valuesRight, left);
  for (let c = 0; c < left; c++) w[c] = heap[column(c, left - 1)]! / Math.SQRT2;
  for (let c = left; c < size; c++) w[c] = (Math.sign(rho) * heap[column(c, left)]!) / Math.SQRT2;
  const rhoScaled = 2 * Math.abs(rho);
  const order = Array.from({ length: size }, (_, i) => i).sort((p, q) => d[p]! - d[q]!);
  let maxD = 0;
  let maxW = 0;
  for (let i = 0; i < size; i++) {
    maxD = Math.max(maxD, Math.abs(d[i]!));
    maxW = Math.max(maxW, Math.abs(w[i]!));
  }
  const tolerance = 8 * EPS * Math.max(maxD, maxW);
  // Deflation (dlaed2): a negligible w_j leaves (d_j, q_j) an eigenpair; two close d's are rotated
  // so that one w vanishes. Survivors, in ascending order, go to the secular equation.
  const deflated: number[] = [];
  const kept: number[] = [];
  // Which rows a column can be nonzero in: 1 the left half's, 3 the right's, 2 both (rotated
  // together by deflation). Grouping the kept columns by type lets the vector update skip the zeros.
  const columnType = Uint8Array.from({ length: size }, (_, c) => (c < left ? 1 : 3));
  let previous = -1;
  for (const j of order) {
    if (rhoScaled * Math.abs(w[j]!) <= tolerance) {
      deflated.push(j);
      continue;
    }
    if (previous < 0) {
      previous = j;
      continue;
    }
    const s0 = w[previous]!;
    const c0 = w[j]!;
    const tau = Math.hypot(c0, s0);
    const c = c0 / tau;
    const s = -s0 / tau;
    const t = d[j]! - d[previous]!;
    if (Math.abs(t * c * s) <= tolerance) {
      w[j] = tau;
      w[previous] = 0;
      if (columnType[j] !== columnType[previous]) columnType[j] = 2;
      heap = ws.heap;
      for (let row = 0; row < size; row++) {
        const x = heap[column(previous, row)]!;
        const y = heap[column(j, row)]!;
        heap[column(previous, row)] = c * x + s * y;
        heap[column(j, row)] = c * y - s * x;
      }
      const dPrevious = d[previous]! * c * c + d[j]! * s * s;
      d[j] = d[previous]! * s * s + d[j]! * c * c;
      d[previous] = dPrevious;
      deflated.push(previous);
    } else {
      kept.push(previous);
    }
    previous = j;
  }
  if (previous >= 0) kept.push(previous);
  kept.sort((p, q) => d[p]! - d[q]!);

  const k = kept.length;
  const values = new Float64Array(size);
  const mark = ws.mark();
  // New vectors, column c of `updated` for value c: products for the secular roots, copies for deflated.
  const updated = ws.matrix(size, size);
  if (k > 0) {
    const dl = Float64Array.from(kept, (c) => d[c]!);
    const w2 = Float64Array.from(kept, (c) => w[c]! * w[c]!);
    // Row j of deltas: dl_i - lambda_j for all i.
    const deltas = new Float64Array(k * k);
    for (let j = 0; j < k; j++) values[j] = secularRoot(dl, w2, rhoScaled, j, deltas.subarray(j * k, (j + 1) * k));
    // Loewner: the w for which the computed roots are exact, so the vectors below are orthogonal.
    const product = new Float64Array(k);
    for (let i = 0; i < k; i++) product[i] = deltas[i * k + i]!;
    for (let j = 0; j < k; j++) {
      const row = j * k;
      const dlj = dl[j]!;
      for (let i = 0; i < k; i++) if (i !== j) product[i] = product[i]! * (deltas[row + i]! / (dl[i]! - dlj));
    }
    const wHat = Float64Array.from(product, (p, i) => Math.sign(w[kept[i]!]!) * Math.sqrt(Math.max(0, -p)));
    // Row j: the unit eigenvector of diag(dl) + rho w w^T for lambda_j.
    // Columns of both (the kept vectors and the rank-one vectors' entries) in column-type order.
    const typeOrder = Array.from({ length: k }, (_, i) => i).sort((p, q) => columnType[kept[p]!]! - columnType[kept[q]!]! || p - q);
    const position = new Int32Array(k);
    typeOrder.forEach((i, p) => (position[i] = p));
    const leftTypes = typeOrder.filter((i) => columnType[kept[i]!] !== 3).length;
    const firstRightType = typeOrder.filter((i) => columnType[kept[i]!] === 1).length;
    const rankOne = ws.matrix(k, k);
    const gathered = ws.matrix(size, k);
    heap = ws.heap;
    for (let j = 0; j < k; j++) {
      const row = j * k;
      const out = rankOne.offset + row;
      let sumSquares = 0;
      for (let i = 0; i < k; i++) {
        const value = wHat[i]! / deltas[row + i]!;
        heap[out + position[i]!] = value;
        sumSquares += value * value;
      }
      const scale = 1 / Math.sqrt(sumSquares);
      for (let i = 0; i < k; i++) heap[out + i] = heap[out + i]! * scale;
    }
    for (let row = 0; row < size; row++) {
      const source = block.offset + row * block.stride;
      const target = gathered.offset + row * k;
      for (let p = 0; p < k; p++) heap[target + p] = heap[source + kept[typeOrder[p]!]!]!;
    }
    // Left-half rows see only types 1 and 2, right-half rows only types 2 and 3.
    gemm(ws, subMatrix(gathered, 0, 0, left, leftTypes), subMatrix(rankOne, 0, 0, k, leftTypes), subMatrix(updated, 0, 0, left, k), { transB: true });
    gemm(ws, subMatrix(gathered, left, firstRightType, size - left, k - firstRightType), subMatrix(rankOne, 0, firstRightType, k, k - firstRightType), subMatrix(updated, left, 0, size - left, k), { transB: true });
  }
  heap = ws.heap;
  deflated.forEach((c, t) => {
    values[k + t] = d[c]!;
    for (let row = 0; row < size; row++) heap[updated.offset + row * size + k + t] = heap[column(c, row)]!;
  });
  // Ascending order for the next merge up.
  const sorted = Array.from({ length: size }, (_, i) => i).sort((p, q) => values[p]! - values[q]!);
  const result = Float64Array.from(sorted, (c) => values[c]!);
  for (let row = 0; row < size; row++) {
    const source = updated.offset + row * size;
    const target = block.offset + row * block.stride;
    for (let c = 0; c < size; c++) heap[target + c] = heap[source + sorted[c]!]!;
  }
  ws.release(mark);
  return result;
}

/**
 * All eigenvalues (descending) and unit eigenvectors of the symmetric tridiagonal matrix with
 * diagonal d and off-diagonal e; `vectors` (n x n) receives the eigenvectors as columns, in the
 * order of the values. The matrix is first split into unreduced blocks where an off-diagonal is
 * below eps times its norm (a perturbation no larger than rounding).
 */
export function symmetricTridiagonalEigen(ws: Float64Workspace, diagonal: Float64Array, offDiagonal: Float64Array, vectors: MatrixView): Float64Array {
  const n = diagonal.length;
  const d = Float64Array.from(diagonal);
  const e = Float64Array.from(offDiagonal);
  const mark = ws.mark();
  const z = ws.matrix(n, n);
  let norm = 0;
  for (let i = 0; i < n; i++) norm = Math.max(norm, Math.abs(d[i]!) + (i > 0 ? Math.abs(e[i - 1]!) : 0) + (i < n - 1 ? Math.abs(e[i]!) : 0));
  const solveBlock: BlockSolver = (start, size) => {
    if (size <= LEAF_SIZE) return solveLeaf(ws, d, e, z, start, size);
    const left = size >> 1;
    const rho = e[start + left - 1]!;
    // Tear: T = diag(T1 - |rho| e_last e_last^T, T2 - |rho| e_1 e_1^T) + |rho| v v^T.
    d[start + left - 1] = d[start + left - 1]! - Math.abs(rho);
    d[start + left] = d[start + left]! - Math.abs(rho);
    const valuesLeft = solveBlock(start, left);
    const valuesRight = solveBlock(start + left, size - left);
    return merge(ws, z, start, size, left, valuesLeft, valuesRight, rho);
  };
  const found: { value: number; column: number }[] = [];
  let start = 0;
  for (let i = 0; i < n; i++) {
    if (i === n - 1 || Math.abs(e[i]!) <= EPS * norm) {
      const values = solveBlock(start, i + 1 - start);
      values.forEach((value, j) => found.push({ value, column: start + j }));
      start = i + 1;
    }
  }
  found.sort((p, q) => q.value - p.value);
  const heap = ws.heap;
  for (let row = 0; row < n; row++) {
    const source = z.offset + row * z.stride;
    const target = vectors.offset + row * vectors.stride;
    for (let c = 0; c < n; c++) heap[target + c] = heap[source + found[c]!.column]!;
  }
  ws.release(mark);
  return Float64Array.from(found, ({ value }) => value);
}
