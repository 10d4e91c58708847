/** Test helpers: statistics computed the plain way, to check the report's own implementations against. */

/** A deterministic pseudo-random sequence in [0, 1). */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Pearson's r by the textbook sums formula, in float64: an independent check of the centred computation. */
export function sumsPearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = x.length;
  let [sx, sy, sxx, syy, sxy] = [0, 0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    sx += x[i]!;
    sy += y[i]!;
    sxx += x[i]! * x[i]!;
    syy += y[i]! * y[i]!;
    sxy += x[i]! * y[i]!;
  }
  return (n * sxy - sx * sy) / Math.sqrt((n * sxx - sx * sx) * (n * syy - sy * sy));
}

/** Mid-ranks by counting, O(n²): rank = 1 + (values below) + (other values equal) / 2. */
export function countingRanks(values: ArrayLike<number>): number[] {
  return Array.from(values, (v) => {
    let below = 0;
    let equal = 0;
    for (let j = 0; j < values.length; j++) {
      if (values[j]! < v) below++;
      else if (values[j] === v) equal++;
    }
    return below + (equal + 1) / 2;
  });
}
