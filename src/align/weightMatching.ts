import * as tf from '@tensorflow/tfjs-core';
import { maximumAssignment } from '../linalg/dense.js';
import { disposeParams } from '../nn/init.js';
import { featureSpaces, validateParams, type FeatureSpace, type ModelSpec, type ParamMap, type SpaceMember } from '../nn/spec.js';
import { shuffledIndices, subSeed } from '../util/random.js';
import { applyTransforms, permutationTransform, type Transforms } from './transform.js';

/**
 * Weight matching (Git Re-Basin, Ainsworth et al., ICLR 2023, https://arxiv.org/abs/2209.04836,
 * Algorithm 1, and MergeMany from its appendix): permutations of feature spaces found from the weights
 * alone, no data. The objective is the summed inner product of A's trained parameters with B's
 * permuted ones, i.e. minus half their squared Euclidean distance plus a constant. It is a sum over
 * parameters of terms that each involve the permutations of up to two spaces, so it is maximised by
 * coordinate descent: one space at a time, the others held fixed, is a linear assignment problem.
 *
 * Which parameters count: the trained ones (`trainable !== false`). BatchNorm running statistics
 * follow their space when the permutations are applied, but they are estimates of activations, not
 * weights, and enter neither the objective nor the distances (as in the paper's code, where they live
 * outside the parameters).
 */

export interface WeightMatchingOptions {
  /** Seed of the order in which the spaces (and, for many models, the models) are visited. */
  seed: number;
  /** The most passes over all spaces; for many models also the most rounds over all models. */
  maxIterations: number;
}

export interface WeightMatchingResult {
  /** A permutation transform for every feature space (identities where nothing moved): B -> A. */
  transforms: Transforms;
  /** Passes over all spaces run; the last one improved no space unless the cap was reached. */
  iterations: number;
  /** Squared Euclidean distance between A's and B's trained parameters, before and after permuting B. */
  distanceBefore: number;
  distanceAfter: number;
}

export interface WeightMatchingManyResult {
  /**
   * One transform set per model, in input order, bringing every model into one common frame: model
   * 0's, so model 0's permutations are identities. The merge is the plain average of the permuted
   * models (MergeMany's frame differs from model 0's by one permutation common to all models, which
   * changes neither the average's function nor any distance).
   */
  transforms: Transforms[];
  /** Rounds over all models run; the last one changed no model unless the cap was reached. */
  rounds: number;
  /** Sum over models of the squared distance of its trained parameters to their mean, before and after. */
  spreadBefore: number;
  spreadAfter: number;
}

/** The current permutation of every space: new unit i is old unit permutation[i]. */
type Permutations = Map<string, Int32Array>;

/** The parameters the objective counts: the trained ones. */
function matchedParams(spec: ModelSpec): string[] {
  return Object.entries(spec.params)
    .filter(([, p]) => p.trainable !== false)
    .map(([name]) => name);
}

const identity = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

/** `value` (parameter `name` of B) with the current permutation gathered along each labelled axis but `exceptAxis`. */
function permuteAxes(spec: ModelSpec, name: string, value: tf.Tensor, permutations: Permutations, exceptAxis?: number): tf.Tensor {
  let result = value;
  spec.params[name]!.axes.forEach((label, axis) => {
    const permutation = label && axis !== exceptAxis ? permutations.get(label.space) : undefined;
    if (permutation) result = tf.gather(result, tf.tensor1d(permutation, 'int32'), axis);
  });
  return result;
}

/**
 * A member's parameter as a matrix with the member axis as rows ([units, rest], `unitsFirst`) or as
 * columns ([rest, units]); the first and last axes need no transpose.
 */
function unitMatrix(value: tf.Tensor, axis: number): { matrix: tf.Tensor2D; unitsFirst: boolean } {
  const units = value.shape[axis]!;
  if (axis === 0) return { matrix: tf.reshape(value, [units, -1]), unitsFirst: true };
  if (axis === value.rank - 1) return { matrix: tf.reshape(value, [-1, units]), unitsFirst: false };
  const order = [axis, ...value.shape.map((_, i) => i).filter((i) => i !== axis)];
  return { matrix: tf.reshape(tf.transpose(value, order), [units, -1]), unitsFirst: true };
}

/**
 * One member's term of its space's similarity, A's slices dotted with B's: [size, size]. The term
 * changes only when the permutation of a space on the parameter's other axes does, so it is cached
 * under the versions of those permutations (for a first layer, it never changes).
 */
interface MemberTerm {
  member: SpaceMember;
  /** A's side, fixed for the whole descent, laid out once. */
  matrixA: tf.Tensor2D;
  unitsFirst: boolean;
  /** The spaces labelling the parameter's other axes. */
  dependsOn: string[];
  cached?: { key: string; term: tf.Tensor2D };
}

/** Which version of each space's permutation is current: bumped whenever the permutation changes. */
type Versions = Map<string, number>;

const termKey = (term: MemberTerm, versions: Versions) => term.dependsOn.map((space) => versions.get(space)).join(',');

function memberTerms(spec: ModelSpec, space: FeatureSpace, matched: ReadonlySet<string>, paramsA: ParamMap): MemberTerm[] {
  return space.members
    .filter((member) => matched.has(member.param))
    .map((member) => {
      const { matrix, unitsFirst } = tf.tidy(() => unitMatrix(paramsA[member.param]!, member.axis));
      const dependsOn = spec.params[member.param]!.axes.flatMap((label, axis) => (label && axis !== member.axis ? [label.space] : []));
      return { member, matrixA: tf.keep(matrix), unitsFirst, dependsOn };
    });
}

/**
 * C[i, j] = sum over the space's members of <A's slice i, B's slice j> along the member axis, with
 * B's other axes in their current permutations: the objective's dependence on this space is
 * sum_i C[i, perm[i]]. [size, size], row-major, float64 for the assignment.
 */
function spaceSimilarity(spec: ModelSpec, terms: readonly MemberTerm[], paramsB: ParamMap, permutations: Permutations, versions: Versions): Float64Array {
  for (const term of terms) {
    const key = termKey(term, versions);
    if (term.cached?.key === key) continue;
    const { member, matrixA, unitsFirst } = term;
    const value = tf.tidy(() => {
      const b = unitMatrix(permuteAxes(spec, member.param, paramsB[member.param]!, permutations, member.axis), member.axis).matrix;
      // [units, rest] x [units, rest]^T, or [rest, units]^T x [rest, units]
      return unitsFirst ? tf.matMul(matrixA, b, false, true) : tf.matMul(matrixA, b, true, false);
    }) as tf.Tensor2D;
    term.cached?.term.dispose();
    term.cached = { key, term: value };
  }
  const cachedTerms = terms.map((term) => term.cached!.term);
  if (cachedTerms.length === 1) return Float64Array.from(cachedTerms[0]!.dataSync());
  const similarity = tf.tidy(() => tf.addN(cachedTerms));
  try {
    return Float64Array.from(similarity.dataSync());
  } finally {
    similarity.dispose();
  }
}

/** sum_i C[i, permutation[i]] and sum_i |C[i, permutation[i]]| (the scale a gain is judged against). */
function assignmentScore(similarity: Float64Array, permutation: Int32Array): { score: number; scale: number } {
  const n = permutation.length;
  let score = 0;
  let scale = 0;
  permutation.forEach((j, i) => {
    score += similarity[i * n + j]!;
    scale += Math.abs(similarity[i * n + j]!);
  });
  return { score, scale };
}

/**
 * Algorithm 1: coordinate descent over spaces from the identity, each pass in a seeded random order,
 * until a pass improves no space or `maxIterations` passes. `paramsA` needs only the matched params.
 */
function matchPermutations(
  spec: ModelSpec,
  spaces: readonly FeatureSpace[],
  paramsA: ParamMap,
  paramsB: ParamMap,
  options: WeightMatchingOptions,
): { permutations: Permutations; iterations: number; changed: boolean } {
  const matched = new Set(matchedParams(spec));
  const permutations: Permutations = new Map(spaces.map((s) => [s.name, identity(s.size)]));
  const versions: Versions = new Map(spaces.map((s) => [s.name, 0]));
  const termsOf = new Map(spaces.map((space) => [space.name, memberTerms(spec, space, matched, paramsA)]));
  // The key of each space's similarity when its assignment was last solved: solving the same
  // similarity again cannot improve it, so that step is skipped (the descent is unchanged by this).
  const solvedAt = new Map<string, string>();
  try {
    let iterations = 0;
    let changed = false;
    while (iterations < options.maxIterations) {
      const order = shuffledIndices(spaces.length, subSeed(options.seed, `weight-matching-pass/${iterations}`));
      iterations++;
      let improved = false;
      for (const index of order) {
        const space = spaces[index]!;
        const terms = termsOf.get(space.name)!;
        const key = terms.map((term) => termKey(term, versions)).join('|');
        if (terms.length === 0 || solvedAt.get(space.name) === key) continue;
        const similarity = spaceSimilarity(spec, terms, paramsB, permutations, versions);
        solvedAt.set(space.name, key);
        const current = assignmentScore(similarity, permutations.get(space.name)!);
        const proposal = maximumAssignment({ rows: space.size, cols: space.size, data: similarity });
        // Only a gain above round-off counts, so ties cannot make the descent cycle.
        if (assignmentScore(similarity, proposal).score - current.score > 1e-9 * current.scale) {
          permutations.set(space.name, proposal);
          versions.set(space.name, versions.get(space.name)! + 1);
          improved = true;
        }
      }
      if (!improved) break;
      changed = true;
    }
    return { permutations, iterations, changed };
  } finally {
    for (const terms of termsOf.values()) {
      for (const term of terms) {
        term.matrixA.dispose();
        term.cached?.term.dispose();
      }
    }
  }
}

/** Squared Euclidean distance between A's and permuted B's matched parameters, summed in float64. */
function squaredDistance(spec: ModelSpec, paramsA: ParamMap, paramsB: ParamMap, permutations: Permutations): number {
  const names = matchedParams(spec);
  const perParam = tf.tidy(() =>
    tf.stack(names.map((name) => tf.sum(tf.squaredDifference(paramsA[name]!, permuteAxes(spec, name, paramsB[name]!, permutations))))),
  );
  try {
    return Array.from(perParam.dataSync()).reduce((a, b) => a + b, 0);
  } finally {
    perParam.dispose();
  }
}

const transformsOf = (permutations: Permutations): Transforms =>
  Object.fromEntries([...permutations].map(([space, permutation]) => [space, permutationTransform(permutation)]));

function checkOptions(options: WeightMatchingOptions): void {
  if (!Number.isInteger(options.maxIterations) || options.maxIterations < 1) {
    throw new Error(`weight matching: maxIterations must be a positive integer, got ${options.maxIterations}`);
  }
}

/**
 * Weight matching of model B to model A (Git Re-Basin, https://arxiv.org/abs/2209.04836,
 * Algorithm 1): a permutation of every feature space of B that brings B's trained parameters close
 * to A's in squared Euclidean distance, by coordinate descent over spaces (a local optimum: each
 * space's permutation is optimal given the others'). B permuted by the result computes exactly B's
 * function. Needs no data. Tensors are read, not kept.
 *
 * @example
 * const { transforms } = weightMatching(spec, paramsA, paramsB, { seed: 0, maxIterations: 100 });
 * const alignedB = applyTransforms(spec, paramsB, transforms);
 */
export function weightMatching(spec: ModelSpec, paramsA: ParamMap, paramsB: ParamMap, options: WeightMatchingOptions): WeightMatchingResult {
  checkOptions(options);
  validateParams(spec, paramsA, 'weight matching, model A');
  validateParams(spec, paramsB, 'weight matching, model B');
  const spaces = featureSpaces(spec);
  const distanceBefore = squaredDistance(spec, paramsA, paramsB, new Map());
  const { permutations, iterations } = matchPermutations(spec, spaces, paramsA, paramsB, options);
  return { transforms: transformsOf(permutations), iterations, distanceBefore, distanceAfter: squaredDistance(spec, paramsA, paramsB, permutations) };
}

/** Sum over models of the squared distance of their matched parameters to the models' mean. */
function spreadAroundMean(spec: ModelSpec, models: readonly ParamMap[]): number {
  const names = matchedParams(spec);
  const perParam = tf.tidy(() =>
    tf.stack(
      names.map((name) => {
        const values = models.map((params) => params[name]!);
        const mean = tf.div(tf.addN(values), values.length);
        return tf.addN(values.map((value) => tf.sum(tf.squaredDifference(value, mean))));
      }),
    ),
  );
  try {
    return Array.from(perParam.dataSync()).reduce((a, b) => a + b, 0);
  } finally {
    perParam.dispose();
  }
}

/** The mean of the matched parameters of every model but `except` (new tensors the caller owns). */
function meanOfOthers(spec: ModelSpec, models: readonly ParamMap[], except: number): ParamMap {
  const others = models.filter((_, i) => i !== except);
  return tf.tidy(() => Object.fromEntries(matchedParams(spec).map((name) => [name, tf.div(tf.addN(others.map((p) => p[name]!)), others.length)])));
}

/**
 * MergeMany (Git Re-Basin, https://arxiv.org/abs/2209.04836, appendix): weight matching of many
 * models into one frame. Each round visits the models in a seeded random order and matches each one,
 * by {@link weightMatching}, to the mean of the others in their current permutations; rounds repeat
 * until one changes no model, or `maxIterations` rounds. Merge by averaging the permuted models.
 * Every model keeps its function. Tensors are read, not kept.
 *
 * @example
 * const { transforms } = weightMatchingMany(spec, [p0, p1, p2], { seed: 0, maxIterations: 100 });
 * const permuted = [p0, p1, p2].map((p, i) => applyTransforms(spec, p, transforms[i]!));
 */
export function weightMatchingMany(spec: ModelSpec, paramsList: readonly ParamMap[], options: WeightMatchingOptions): WeightMatchingManyResult {
  checkOptions(options);
  if (paramsList.length === 0) throw new Error('weight matching of many models: no models given');
  paramsList.forEach((params, i) => validateParams(spec, params, `weight matching, model ${i}`));
  const spaces = featureSpaces(spec);
  // Each model's permutation of the original, composed over rounds: new unit k is original unit total[k].
  const totals: Permutations[] = paramsList.map(() => new Map(spaces.map((s) => [s.name, identity(s.size)])));
  const current = [...paramsList];
  const owned = paramsList.map(() => false);
  const spreadBefore = spreadAroundMean(spec, paramsList);
  let rounds = 0;
  try {
    while (paramsList.length > 1 && rounds < options.maxIterations) {
      const order = shuffledIndices(paramsList.length, subSeed(options.seed, `weight-matching-round/${rounds}`));
      let changed = false;
      for (const i of order) {
        const target = meanOfOthers(spec, current, i);
        let step: ReturnType<typeof matchPermutations>;
        try {
          step = matchPermutations(spec, spaces, target, current[i]!, { ...options, seed: subSeed(options.seed, `weight-matching-round/${rounds}/model/${i}`) });
        } finally {
          disposeParams(target);
        }
        if (!step.changed) continue;
        changed = true;
        const moved = applyTransforms(spec, current[i]!, transformsOf(step.permutations));
        if (owned[i]) disposeParams(current[i]!);
        [current[i], owned[i]] = [moved, true];
        for (const [space, relative] of step.permutations) {
          const total = totals[i]!.get(space)!;
          totals[i]!.set(space, relative.map((source) => total[source]!));
        }
      }
      rounds++;
      if (!changed) break;
    }
    const spreadAfter = spreadAroundMean(spec, current);
    // Into model 0's frame: undo model 0's permutation in every model, new unit k = total[inverse0[k]].
    const transforms = totals.map((total) =>
      transformsOf(
        new Map(
          spaces.map(({ name, size }) => {
            const inverse0 = new Int32Array(size);
            totals[0]!.get(name)!.forEach((source, k) => (inverse0[source] = k));
            return [name, inverse0.map((k) => total.get(name)![k]!)];
          }),
        ),
      ),
    );
    return { transforms, rounds, spreadBefore, spreadAfter };
  } finally {
    current.forEach((params, i) => {
      if (owned[i]) disposeParams(params);
    });
  }
}
