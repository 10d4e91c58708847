/**
 * Eigenpairs of small symmetric tridiagonal matrices: eigenvalues by the implicit QL method (no
 * vectors, O(n^2)), eigenvectors by inverse iteration (LAPACK dstein). These are the leaves of the
 * divide and conquer in tridiagonalDivideConquer.ts.
 */

const EPS = 2 ** -52;
const SAFE_MIN = 2 ** -1022;
const BIG = 1 / SAFE_MIN;
/**
 * Eigenvalues closer than this (times the block's 1-norm) have their vectors re-orthogonalised
 * against each other (LAPACK's choice). That costs O(cluster^2 n), so inverse iteration is only used
 * on small blocks (the leaves of the divide and conquer in tridiagonalDivideConquer.ts).
 */
const CLUSTER_GAP = 1e-3;
const MAX_ITERATIONS = 5;
const EXTRA_ITERATIONS = 2;

/**
 * Eigenvalues of the unreduced tridiagonal block d, e (e[i] couples i and i+1; e has d.length - 1
 * entries), by implicit QL with Wilkinson shifts (tqli / EISPACK tql1). Returns them ascending.
 */
export function tridiagonalEigenvalues(d: Float64Array, e: Float64Array): Float64Array {
  const n = d.length;
  const dd = Float64Array.from(d);
  const ee = new Float64Array(n);
  ee.set(e.subarray(0, n - 1));
  for (let l = 0; l < n; l++) {
    let iterations = 0;
    for (;;) {
      let m = l;
      for (; m < n - 1; m++) {
        if (Math.abs(ee[m]!) <= EPS * (Math.abs(dd[m]!) + Math.abs(dd[m + 1]!))) break;
      }
      if (m === l) break;
      if (++iterations > 60) throw new Error('tridiagonal eigenvalues: QL did not converge');
      let g = (dd[l + 1]! - dd[l]!) / (2 * ee[l]!);
      let r = Math.hypot(g, 1);
      g = dd[m]! - dd[l]! + ee[l]! / (g + (g >= 0 ? r : -r));
      let s = 1;
      let c = 1;
      let p = 0;
      let i = m - 1;
      let underflow = false;
      for (; i >= l; i--) {
        const f = s * ee[i]!;
        const b = c * ee[i]!;
        r = Math.hypot(f, g);
        ee[i + 1] = r;
        if (r === 0) {
          dd[i + 1] = dd[i + 1]! - p;
          ee[m] = 0;
          underflow = true;
          break;
        }
        s = f / r;
        c = g / r;
        g = dd[i + 1]! - p;
        r = (dd[i]! - g) * s + 2 * c * b;
        p = s * r;
        dd[i + 1] = g + p;
        g = c * r - b;
      }
      if (underflow) continue;
      dd[l] = dd[l]! - p;
      ee[l] = g;
      ee[m] = 0;
    }
  }
  return dd.sort();
}

/** Deterministic uniform(-1, 1) numbers (xorshift32) for inverse iteration's start vectors. */
function startVectorSource(seed: number): () => number {
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 31 - 1;
  };
}

/**
 * LU factorisation with partial pivoting of T - lambda I (LAPACK dlagtf), for {@link solveShifted}.
 * On return `a` is U's diagonal, `b` its first and `d2` its second superdiagonal, `c` the
 * multipliers, `swapped[k]` whether rows k and k+1 were interchanged.
 */
interface ShiftedLu {
  a: Float64Array;
  b: Float64Array;
  c: Float64Array;
  d2: Float64Array;
  swapped: Uint8Array;
  tolerance: number;
}

function factorShifted(d: Float64Array, e: Float64Array, lambda: number, lu: ShiftedLu): void {
  const n = d.length;
  const { a, b, c, d2, swapped } = lu;
  for (let i = 0; i < n; i++) a[i] = d[i]! - lambda;
  b.set(e.subarray(0, n - 1));
  c.set(e.subarray(0, n - 1));
  let scale1 = Math.abs(a[0]!) + (n > 1 ? Math.abs(b[0]!) : 0);
  for (let k = 0; k < n - 1; k++) {
    let scale2 = Math.abs(c[k]!) + Math.abs(a[k + 1]!);
    if (k < n - 2) scale2 += Math.abs(b[k + 1]!);
    const piv1 = a[k] === 0 ? 0 : Math.abs(a[k]!) / scale1;
    if (c[k] === 0) {
      swapped[k] = 0;
      scale1 = scale2;
      if (k < n - 2) d2[k] = 0;
    } else {
      const piv2 = Math.abs(c[k]!) / scale2;
      if (piv2 <= piv1) {
        swapped[k] = 0;
        scale1 = scale2;
        c[k] = c[k]! / a[k]!;
        a[k + 1] = a[k + 1]! - c[k]! * b[k]!;
        if (k < n - 2) d2[k] = 0;
      } else {
        swapped[k] = 1;
        const multiplier = a[k]! / c[k]!;
        a[k] = c[k]!;
        const temp = a[k + 1]!;
        a[k + 1] = b[k]! - multiplier * temp;
        if (k < n - 2) {
          d2[k] = b[k + 1]!;
          b[k + 1] = -multiplier * d2[k]!;
        }
        b[k] = temp;
        c[k] = multiplier;
      }
    }
  }
  // Perturbation size for (near-)zero pivots in the solve (dlagts with tol <= 0).
  let tolerance = Math.abs(a[0]!);
  if (n > 1) tolerance = Math.max(tolerance, Math.abs(a[1]!), Math.abs(b[0]!));
  for (let k = 2; k < n; k++) tolerance = Math.max(tolerance, Math.abs(a[k]!), Math.abs(b[k - 1]!), Math.abs(d2[k - 2]!));
  lu.tolerance = tolerance * EPS || EPS;
}

/** Solves (T - lambda I) x = y in place from a {@link factorShifted}, perturbing tiny pivots (dlagts, job -1). */
function solveShifted(lu: ShiftedLu, y: Float64Array): void {
  const { a, b, c, d2, swapped, tolerance } = lu;
  const n = a.length;
  for (let k = 1; k < n; k++) {
    if (!swapped[k - 1]) y[k] = y[k]! - c[k - 1]! * y[k - 1]!;
    else {
      const temp = y[k - 1]!;
      y[k - 1] = y[k]!;
      y[k] = temp - c[k - 1]! * y[k]!;
    }
  }
  for (let k = n - 1; k >= 0; k--) {
    let temp = y[k]!;
    if (k <= n - 3) temp -= b[k]! * y[k + 1]! + d2[k]! * y[k + 2]!;
    else if (k === n - 2) temp -= b[k]! * y[k + 1]!;
    let ak = a[k]!;
    let perturbation = ak >= 0 ? tolerance : -tolerance;
    for (;;) {
      const absAk = Math.abs(ak);
      if (absAk < 1) {
        if (absAk < SAFE_MIN) {
          if (absAk === 0 || Math.abs(temp) * SAFE_MIN > absAk) {
            ak += perturbation;
            perturbation *= 2;
            continue;
          }
          temp *= BIG;
          ak *= BIG;
        } else if (Math.abs(temp) > absAk * BIG) {
          ak += perturbation;
          perturbation *= 2;
          continue;
        }
      }
      break;
    }
    y[k] = temp / ak;
  }
}

/**
 * Eigenvectors of the unreduced tridiagonal block d, e for its eigenvalues `values` (ascending),
 * by inverse iteration (LAPACK dstein). Calls `store(j, x)` with the unit eigenvector x of values[j]
 * (x is reused between calls).
 */
export function tridiagonalEigenvectors(
  d: Float64Array,
  e: Float64Array,
  values: Float64Array,
  store: (j: number, x: Float64Array) => void,
  seed = 1,
): void {
  const n = d.length;
  if (n === 1) {
    store(0, Float64Array.of(1));
    return;
  }
  let norm = Math.max(Math.abs(d[0]!) + Math.abs(e[0]!), Math.abs(d[n - 1]!) + Math.abs(e[n - 2]!));
  for (let i = 1; i < n - 1; i++) norm = Math.max(norm, Math.abs(d[i]!) + Math.abs(e[i - 1]!) + Math.abs(e[i]!));
  const clusterGap = CLUSTER_GAP * norm;
  // dstein's stopping criterion: the iterate has grown enough from its scaled start.
  const grownEnough = Math.sqrt(0.1 / n);
  const lu: ShiftedLu = {
    a: new Float64Array(n),
    b: new Float64Array(n - 1),
    c: new Float64Array(n - 1),
    d2: new Float64Array(Math.max(0, n - 2)),
    swapped: new Uint8Array(n - 1),
    tolerance: 0,
  };
  const random = startVectorSource(seed);
  const x = new Float64Array(n);
  // Vectors of the current cluster (for Gram-Schmidt), as copies.
  let cluster: Float64Array[] = [];
  let previousShift = -Infinity;
  for (let j = 0; j < values.length; j++) {
    let shift = values[j]!;
    // Equal shifts would give equal vectors: separate them slightly, as dstein does.
    if (j > 0 && shift - previousShift < 10 * EPS * Math.abs(shift)) shift = previousShift + 10 * EPS * Math.abs(shift);
    if (j === 0 || Math.abs(shift - previousShift) > clusterGap) cluster = [];
    for (let i = 0; i < n; i++) x[i] = random();
    factorShifted(d, e, shift, lu);
    let grownChecks = 0;
    for (let iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
      let maxAbs = 0;
      for (let i = 0; i < n; i++) maxAbs = Math.max(maxAbs, Math.abs(x[i]!));
      const scale = (n * norm * Math.max(EPS, Math.abs(lu.a[n - 1]!))) / maxAbs;
      for (let i = 0; i < n; i++) x[i] = x[i]! * scale;
      solveShifted(lu, x);
      for (const other of cluster) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += x[i]! * other[i]!;
        for (let i = 0; i < n; i++) x[i] = x[i]! - dot * other[i]!;
      }
      maxAbs = 0;
      for (let i = 0; i < n; i++) maxAbs = Math.max(maxAbs, Math.abs(x[i]!));
      if (maxAbs >= grownEnough && ++grownChecks > EXTRA_ITERATIONS) break;
    }
    let sumSquares = 0;
    let largest = 0;
    for (let i = 0; i < n; i++) {
      sumSquares += x[i]! * x[i]!;
      if (Math.abs(x[i]!) > Math.abs(largest)) largest = x[i]!;
    }
    // Sign convention of dstein: the largest component is positive.
    const normalise = (largest < 0 ? -1 : 1) / Math.sqrt(sumSquares);
    for (let i = 0; i < n; i++) x[i] = x[i]! * normalise;
    cluster.push(Float64Array.from(x));
    previousShift = shift;
    store(j, x);
  }
}
