import { maximumAssignment } from '../linalg/dense.js';
import type { SpaceMoments } from './moments.js';
import { permutationTransform, type SpaceTransform } from './transform.js';

/**
 * Activation matching (Git Re-Basin, Ainsworth et al., ICLR 2023, https://arxiv.org/abs/2209.04836;
 * Li et al. 2015): pairs each of A's units with one of B's so that the summed Pearson correlation of
 * paired activations is maximal, solved as a linear assignment problem.
 */
export function activationMatching(moments: SpaceMoments): SpaceTransform {
  const n = moments.size;
  // A unit that never varies (a dead ReLU) correlates with nothing; a floor keeps its scores finite (0).
  const std = (cov: Float64Array) => Float64Array.from({ length: n }, (_, i) => Math.sqrt(Math.max(cov[i * n + i]!, 1e-12)));
  const stdA = std(moments.covAA);
  const stdB = std(moments.covBB);
  const correlation = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) correlation[i * n + j] = moments.covAB[i * n + j]! / (stdA[i]! * stdB[j]!);
  }
  // assignment[i] = B's unit that plays A's unit i: exactly "new unit i is old unit assignment[i]".
  return permutationTransform(maximumAssignment({ rows: n, cols: n, data: correlation }));
}
