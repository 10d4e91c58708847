/**
 * Shared fixtures for the numeric tests: seeded synthetic data, float64 reference statistics and
 * comparison helpers. No mocks: everything here is plain arithmetic the tests check the product against.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Matrix } from 'ml-matrix';
import type { SpaceMoments } from '../../src/align/moments.js';
import type { LabelledSet } from '../../src/data/dataset.js';
import { initParams } from '../../src/nn/init.js';
import type { ModelSpec, ParamMap } from '../../src/nn/spec.js';
import { createRng } from '../../src/util/random.js';

/** A seeded standard normal generator (Box-Muller on Mulberry32). */
export function normalRng(seed: number): () => number {
  const uniform = createRng(seed);
  return () => {
    const u = 1 - uniform(); // (0, 1]
    const v = uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

/** `count` examples of `width` standard normal values (plus `offset`). */
export function normalInputs(count: number, width: number, seed: number, offset = 0): Float32Array {
  const next = normalRng(seed);
  return Float32Array.from({ length: count * width }, () => next() + offset);
}

/**
 * A linearly separable problem: x standard normal (from `seed`), y = argmax of a random linear map of
 * x fixed by `ruleSeed`, so sets with different `seed` and the same `ruleSeed` share one labelling.
 */
export function separableSet(count: number, inputShape: number[], numClasses: number, seed: number, ruleSeed = 0): LabelledSet {
  const width = inputShape.reduce((a, b) => a * b, 1);
  const x = normalInputs(count, width, seed);
  const next = normalRng(1_000_003 + ruleSeed);
  const w = Array.from({ length: numClasses * width }, () => next());
  const y = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    let best = -Infinity;
    for (let c = 0; c < numClasses; c++) {
      let score = 0;
      for (let k = 0; k < width; k++) score += w[c * width + k]! * x[i * width + k]!;
      if (score > best) [best, y[i]] = [score, c];
    }
  }
  return { x, y, count };
}

/** Random inputs with random labels. */
export function randomSet(count: number, inputShape: number[], numClasses: number, seed: number): LabelledSet {
  const width = inputShape.reduce((a, b) => a * b, 1);
  const uniform = createRng(seed + 7);
  return {
    x: normalInputs(count, width, seed),
    y: Int32Array.from({ length: count }, () => Math.floor(uniform() * numClasses)),
    count,
  };
}

/** A random permutation of 0..n-1 that moves every element (a derangement), for unambiguous checks. */
export function derangement(n: number, seed: number): Int32Array {
  const uniform = createRng(seed);
  for (;;) {
    const p = Int32Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(uniform() * (i + 1));
      [p[i], p[j]] = [p[j]!, p[i]!];
    }
    if (p.every((v, i) => v !== i)) return p;
  }
}

/** Reads every parameter back to the host. */
export function readParams(params: ParamMap): Record<string, Float32Array> {
  return Object.fromEntries(Object.entries(params).map(([name, t]) => [name, t.dataSync() as Float32Array]));
}

/** ||a - b||_F / ||b||_F. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i]! - b[i]!) ** 2;
    norm += b[i]! ** 2;
  }
  return Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-300);
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** A row-major [rows, cols] array as an ml-matrix Matrix (float64). */
export function toMatrix(data: ArrayLike<number>, rows: number, cols: number): Matrix {
  const m = new Matrix(rows, cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) m.set(i, j, data[i * cols + j]!);
  return m;
}

/** Row-major float64 copy of a Matrix. */
export function flat(m: Matrix): Float64Array {
  return Float64Array.from(m.to1DArray());
}

/** Column means of a [samples, units] matrix, in float64. */
export function columnMeans(x: Matrix): Float64Array {
  const means = new Float64Array(x.columns);
  for (let i = 0; i < x.rows; i++) for (let j = 0; j < x.columns; j++) means[j] = means[j]! + x.get(i, j);
  return means.map((s) => s / x.rows);
}

/** Unbiased cross-covariance (divides by n - 1) of X [n, p] (rows) and Y [n, q] (columns), in float64. */
export function crossCovariance(x: Matrix, y: Matrix): Float64Array {
  const n = x.rows;
  const mx = columnMeans(x);
  const my = columnMeans(y);
  const out = new Float64Array(x.columns * y.columns);
  for (let k = 0; k < n; k++) {
    for (let i = 0; i < x.columns; i++) {
      const xi = x.get(k, i) - mx[i]!;
      for (let j = 0; j < y.columns; j++) out[i * y.columns + j] = out[i * y.columns + j]! + xi * (y.get(k, j) - my[j]!);
    }
  }
  return out.map((s) => s / (n - 1));
}

/** SpaceMoments of two activation samples [n, size], computed directly in float64. */
export function momentsOf(space: string, a: Matrix, b: Matrix): SpaceMoments {
  return {
    space,
    count: a.rows,
    size: a.columns,
    meanA: columnMeans(a),
    meanB: columnMeans(b),
    covAA: crossCovariance(a, a),
    covBB: crossCovariance(b, b),
    covAB: crossCovariance(a, b),
  };
}

/** Number of tensors alive on the current backend. */
export function liveTensors(): number {
  return tf.memory().numTensors;
}

/** Parameters whose BatchNorm vectors are far from their identity init, so a wrong permutation shows. */
export function randomParams(spec: ModelSpec, seed: number): ParamMap {
  const params = initParams(spec, seed);
  const next = normalRng(seed + 100);
  for (const [name, p] of Object.entries(spec.params)) {
    if (p.shape.length !== 1) continue;
    const values = Float32Array.from({ length: p.shape[0]! }, () => next());
    const positive = name.endsWith('running_var') || name.endsWith('.weight');
    params[name]!.dispose();
    params[name] = tf.tensor1d(positive ? values.map((v) => 0.5 + Math.abs(v)) : values);
  }
  return params;
}
