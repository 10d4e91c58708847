import * as tf from '@tensorflow/tfjs-core';
import { BATCH_NORM_GRAD_KERNEL, BATCH_NORM_KERNEL } from '../nn/batchNormKernels.js';
import { heapOffset, type WasmHeapBackend } from './heapKernels.js';
import { heapThreads, runHeapJobs } from './heapWorkers.js';

/** Row ranges summed separately, then added in order: fixed, so results do not depend on the thread count. */
const PARTS = 16;
/** Below this many elements a pass stays on the calling thread: waking a worker costs more than it saves. */
const THREADED_SIZE = 32768;

/** Attributes of both kernels: ReLU fused, and (tests) the number of threads to use. */
interface BatchNormAttrs {
  relu: boolean;
  jobs?: number;
}

/**
 * The 'wasm' registrations of BATCH_NORM_KERNEL and BATCH_NORM_GRAD_KERNEL (src/nn/batchNormKernels.ts):
 * training-mode BatchNorm (and an optional ReLU) over x seen as [rows, C], each pass SIMD over the
 * channels and split by rows across the heap threads (heapKernels/batchNorm.wat). Forward: column
 * means and squared deviations from them (each block of rows read twice while in cache: no
 * cancellation, one read of x from memory), then y. Backward:
 * sums of dy and dy (x - mean), then dx. Statistics are float64 per fixed row part, joined in part order.
 * The tf ops they replace take ~8 single-threaded passes each way (and three more for the ReLU).
 */
export function wasmBatchNormConfigs(): tf.KernelConfig[] {
  return [
    { kernelName: BATCH_NORM_KERNEL, backendName: 'wasm', kernelFunc: batchNormForward },
    { kernelName: BATCH_NORM_GRAD_KERNEL, backendName: 'wasm', kernelFunc: batchNormBackward },
  ];
}

/** x's rows and channels, after checking that every input is float32 and the vectors have C entries. */
function shapeOf(kernel: string, x: tf.TensorInfo, tensors: Record<string, tf.TensorInfo>, vectors: string[]): { rows: number; cols: number } {
  for (const [name, t] of Object.entries(tensors)) if (t.dtype !== 'float32') throw new Error(`${kernel}: ${name} must be float32, got ${t.dtype}`);
  const cols = x.shape[x.shape.length - 1] ?? 1;
  const size = tf.util.sizeFromShape(x.shape);
  if (x.shape.length === 0 || cols === 0 || size === 0) throw new Error(`${kernel}: x must have channels and rows, got shape [${x.shape.join(', ')}]`);
  for (const name of vectors) {
    const length = tf.util.sizeFromShape(tensors[name]!.shape);
    if (length !== cols) throw new Error(`${kernel}: ${name} has ${length} entries for ${cols} channels`);
  }
  return { rows: size / cols, cols };
}

/** Heap scratch of one kernel call, disposed together. */
class Scratch {
  private readonly made: tf.TensorInfo[] = [];
  constructor(private readonly backend: WasmHeapBackend) {}
  floats(length: number): tf.TensorInfo {
    return this.make([length], 'float32');
  }
  /** `count` i32 claim counters, zeroed. */
  counters(count: number): tf.TensorInfo {
    const counters = this.make([count], 'int32');
    (this.backend.typedArrayFromHeap(counters) as Int32Array).fill(0);
    return counters;
  }
  dispose(): void {
    for (const t of this.made) (this.backend as unknown as tf.KernelBackend).disposeData(t.dataId);
  }
  private make(shape: number[], dtype: tf.DataType): tf.TensorInfo {
    const t = this.backend.makeOutput(shape, dtype);
    this.made.push(t);
    return t;
  }
}

/** Threads for one call: `requested` if given (capped by what there is), else all of them unless the tensor is small. */
function jobCount(backend: WasmHeapBackend, requested: number | undefined, size: number, parts: number): number {
  const available = Math.min(heapThreads(backend), parts);
  if (requested !== undefined) return Math.max(1, Math.min(Math.floor(requested), available));
  return size < THREADED_SIZE ? 1 : available;
}

/** float64 partials of `parts` parts, `width` each, read from the heap. */
function readPartials(backend: WasmHeapBackend, partials: tf.TensorInfo, parts: number, width: number): Float64Array[] {
  const floats = backend.typedArrayFromHeap(partials) as Float32Array;
  const view = new DataView(floats.buffer, floats.byteOffset, floats.byteLength);
  return Array.from({ length: parts }, (_, q) => Float64Array.from({ length: width }, (_, j) => view.getFloat64(8 * (q * width + j), true)));
}

/** Column sums of `parts` float64 partials of `width` each, added in part order. */
function addParts(backend: WasmHeapBackend, partials: tf.TensorInfo, parts: number, width: number): Float64Array {
  const sums = new Float64Array(width);
  for (const part of readPartials(backend, partials, parts, width)) for (let j = 0; j < width; j++) sums[j]! += part[j]!;
  return sums;
}

/**
 * The column means and sums of squared deviations of all rows from those of the parts (each [means,
 * squares] over its rows, as batchNormStats splits them), joined in part order by Chan et al.'s update.
 */
function joinParts(backend: WasmHeapBackend, partials: tf.TensorInfo, rows: number, parts: number, cols: number): { means: Float64Array; squares: Float64Array } {
  const means = new Float64Array(cols);
  const squares = new Float64Array(cols);
  const start = (q: number) => Math.floor((q * rows) / parts);
  readPartials(backend, partials, parts, 2 * cols).forEach((part, q) => {
    const before = start(q);
    const count = start(q + 1) - before;
    const total = before + count;
    for (let j = 0; j < cols; j++) {
      const delta = part[j]! - means[j]!;
      means[j]! += (delta * count) / total;
      squares[j]! += part[cols + j]! + (delta * delta * before * count) / total;
    }
  });
  return { means, squares };
}

/** scale = gamma inverseStd in float32, as both passes compute it (the ReLU mask must match bit for bit). */
function scaleOf(gamma: ArrayLike<number>, inverseStd: ArrayLike<number>, into: Float32Array): void {
  for (let j = 0; j < into.length; j++) into[j] = Math.fround(gamma[j]! * inverseStd[j]!);
}

const batchNormForward: tf.KernelFunc = ({ inputs, backend: kernelBackend, attrs }) => {
  const { x, gamma, beta } = inputs as Record<'x' | 'gamma' | 'beta', tf.TensorInfo>;
  const { epsilon, relu, jobs: requested } = attrs as unknown as BatchNormAttrs & { epsilon: number };
  const backend = kernelBackend as unknown as WasmHeapBackend;
  const { rows, cols } = shapeOf(BATCH_NORM_KERNEL, x, { x, gamma, beta }, ['gamma', 'beta']);
  const parts = Math.min(PARTS, rows);
  const jobs = jobCount(backend, requested, rows * cols, parts);
  const y = backend.makeOutput(x.shape, 'float32');
  const mean = backend.makeOutput([cols], 'float32');
  const variance = backend.makeOutput([cols], 'float32');
  const inverseStd = backend.makeOutput([cols], 'float32');
  const scratch = new Scratch(backend);
  try {
    const scale = scratch.floats(cols);
    const partials = scratch.floats(4 * parts * cols); // parts x 2 cols float64
    const counters = scratch.counters(2);
    const work = Array.from({ length: jobs }, () => scratch.floats(3 * cols));
    const at = (t: tf.TensorInfo) => heapOffset(backend, t);
    // Blocks of rows stay in cache between their two reads; more rows a block, fewer float64 updates.
    const blockRows = Math.max(16, Math.min(64, Math.floor(4096 / cols)));
    runHeapJobs(backend, 'batchNormStats', work.map((w) => [at(x), rows, cols, blockRows, parts, at(counters), at(partials), at(w)]));
    const { means, squares } = joinParts(backend, partials, rows, parts, cols);
    const meanValues = backend.typedArrayFromHeap(mean) as Float32Array;
    const varianceValues = backend.typedArrayFromHeap(variance) as Float32Array;
    const inverseStdValues = backend.typedArrayFromHeap(inverseStd) as Float32Array;
    for (let j = 0; j < cols; j++) {
      meanValues[j] = means[j]!;
      varianceValues[j] = squares[j]! / rows;
      inverseStdValues[j] = 1 / Math.sqrt(Math.fround(varianceValues[j]! + epsilon));
    }
    scaleOf(backend.typedArrayFromHeap(gamma) as Float32Array, inverseStdValues, backend.typedArrayFromHeap(scale) as Float32Array);
    const apply = [at(x), at(mean), at(scale), at(beta), at(y), rows, cols, relu ? 1 : 0, parts, at(counters) + 4];
    runHeapJobs(backend, 'batchNormApply', work.map(() => apply));
  } finally {
    scratch.dispose();
  }
  return [y, mean, variance, inverseStd];
};

const batchNormBackward: tf.KernelFunc = ({ inputs, backend: kernelBackend, attrs }) => {
  const { x, dy, mean, inverseStd, gamma, beta } = inputs as Record<'x' | 'dy' | 'mean' | 'inverseStd' | 'gamma' | 'beta', tf.TensorInfo>;
  const { relu, jobs: requested } = attrs as unknown as BatchNormAttrs;
  const backend = kernelBackend as unknown as WasmHeapBackend;
  const { rows, cols } = shapeOf(BATCH_NORM_GRAD_KERNEL, x, { x, dy, mean, inverseStd, gamma, beta }, ['mean', 'inverseStd', 'gamma', 'beta']);
  if (!tf.util.arraysEqual(dy.shape, x.shape)) throw new Error(`${BATCH_NORM_GRAD_KERNEL}: dy has shape [${dy.shape.join(', ')}], x [${x.shape.join(', ')}]`);
  const parts = Math.min(PARTS, rows);
  const jobs = jobCount(backend, requested, rows * cols, parts);
  const dx = backend.makeOutput(x.shape, 'float32');
  const dgamma = backend.makeOutput(gamma.shape, 'float32');
  const dbeta = backend.makeOutput(beta.shape, 'float32');
  const scratch = new Scratch(backend);
  try {
    const vectors = scratch.floats(3 * cols); // scale, a, b
    const partials = scratch.floats(4 * parts * cols); // parts x 2 cols float64
    const counters = scratch.counters(2);
    const work = Array.from({ length: jobs }, () => scratch.floats(2 * cols));
    const at = (t: tf.TensorInfo) => heapOffset(backend, t);
    const [scale, a, b] = [0, 1, 2].map((k) => at(vectors) + 4 * k * cols) as [number, number, number];
    const inverseStdValues = backend.typedArrayFromHeap(inverseStd) as Float32Array;
    const vectorValues = backend.typedArrayFromHeap(vectors) as Float32Array;
    scaleOf(backend.typedArrayFromHeap(gamma) as Float32Array, inverseStdValues, vectorValues.subarray(0, cols));
    const relu01 = relu ? 1 : 0;
    const sumsJob = [at(x), at(dy), at(mean), scale, at(beta), relu01, rows, cols, parts, at(counters)];
    runHeapJobs(backend, 'batchNormGradSums', work.map((w) => [...sumsJob, at(partials), at(w)]));
    const sums = addParts(backend, partials, parts, 2 * cols);
    const dgammaValues = backend.typedArrayFromHeap(dgamma) as Float32Array;
    const dbetaValues = backend.typedArrayFromHeap(dbeta) as Float32Array;
    for (let j = 0; j < cols; j++) {
      const inverse = inverseStdValues[j]!;
      dbetaValues[j] = sums[j]!;
      dgammaValues[j] = sums[cols + j]! * inverse;
      // dx = scale (g - dbeta / n - x^ dgamma / n) with x^ = (x - mean) inverseStd
      vectorValues[cols + j] = sums[j]! / rows;
      vectorValues[2 * cols + j] = (sums[cols + j]! * inverse * inverse) / rows;
    }
    const apply = [at(x), at(dy), at(mean), scale, at(beta), relu01, a, b, at(dx), rows, cols, parts, at(counters) + 4];
    runHeapJobs(backend, 'batchNormGradApply', work.map(() => apply));
  } finally {
    scratch.dispose();
  }
  return [dx, dgamma, dbeta];
};
