import * as tf from '@tensorflow/tfjs-core';
import { passJobs, runClaimedJobs } from './heapClaimedJobs.js';
import { heapKernels, heapOffset, type WasmHeapBackend } from './heapKernels.js';
import { wasmKernelOverride } from './wasmKernelOverride.js';

/** Row ranges summed separately, then added in order: fixed, so results do not depend on the thread count. */
const PARTS = 8;
/** Below this many floats the columns are summed in one part on the calling thread. */
const PARTS_MIN_FLOATS = 1 << 15;

/**
 * Column sums of float32 `x` seen as [rows, columns] (columns its last axis), divided by `divisor`,
 * into a new tensor of shape `outShape`: a large matrix in PARTS ranges of rows summed on the heap
 * threads (heapKernels' sumColumnParts) and the parts then added in order; a small one in one pass.
 * `jobs` (tests) fixes the job count.
 */
export function sumColumns(backend: WasmHeapBackend, x: tf.TensorInfo, outShape: number[], divisor: number, jobs?: number): tf.TensorInfo {
  const columns = x.shape[x.shape.length - 1]!;
  const size = tf.util.sizeFromShape(x.shape);
  const rows = columns === 0 ? 0 : size / columns;
  const out = backend.makeOutput(outShape, 'float32');
  const at = (t: tf.TensorInfo) => heapOffset(backend, t);
  if (size < PARTS_MIN_FLOATS || rows < PARTS) {
    heapKernels(backend).sumColumns(at(x), at(out), rows, columns, divisor);
    return out;
  }
  const partials = backend.makeOutput([PARTS, columns], 'float32');
  try {
    runClaimedJobs(backend, 'sumColumnParts', (counter) => [at(x), at(partials), rows, columns, PARTS, counter], passJobs(backend, size, jobs));
    heapKernels(backend).sumColumns(at(partials), at(out), PARTS, columns, divisor);
  } finally {
    (backend as unknown as tf.KernelBackend).disposeData(partials.dataId);
  }
  return out;
}

/**
 * Column sums of each of `outer` consecutive [rows, columns] blocks of float32 `x` (a sum over middle
 * axes, as global average pooling takes it), divided by `divisor`, into a new [outer, columns] tensor
 * of shape `outShape`; one pass over each block on the calling thread (these are small).
 */
export function sumBlockColumns(backend: WasmHeapBackend, x: tf.TensorInfo, outer: number, outShape: number[], divisor: number): tf.TensorInfo {
  const columns = x.shape[x.shape.length - 1]!;
  const rows = outer * columns === 0 ? 0 : tf.util.sizeFromShape(x.shape) / (outer * columns);
  const out = backend.makeOutput(outShape, 'float32');
  const [from, to] = [heapOffset(backend, x), heapOffset(backend, out)];
  const kernels = heapKernels(backend);
  for (let b = 0; b < outer; b++) kernels.sumColumns(from + 4 * b * rows * columns, to + 4 * b * columns, rows, columns, divisor);
  return out;
}

/**
 * Sum or Mean for the 'wasm' backend of a float32 tensor over a run of axes that ends just before
 * the last one: over every axis but the last (every bias gradient, dense and convolutional, and
 * BatchNorm's batch statistics and shift gradient when not fused) as column sums of the tensor seen
 * as [rows, channels] (sumColumns); over middle axes (global average pooling: [N, H, W, C] to
 * [N, C]) as column sums of each leading index's block (sumBlockColumns). A mean divides by the rows
 * summed. The backend's kernels transpose the tensor first. Other reductions go to the backend's kernels.
 */
export function wasmSumColumnsConfig(kernelName: 'Sum' | 'Mean'): tf.KernelConfig | undefined {
  return wasmKernelOverride(kernelName, (args, backend) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[] | null; keepDims: boolean };
    const rank = x.shape.length;
    if (rank < 2 || x.dtype !== 'float32') return undefined;
    // null means every axis; negative axes count from the end
    const axes = new Set(axis === null || axis === undefined ? x.shape.map((_, i) => i) : tf.util.parseAxisParam(axis, x.shape));
    // the run is axes first, ..., rank - 2
    const first = rank - 1 - axes.size;
    const run = axes.size > 0 && first >= 0 && [...axes].every((a) => a >= first && a <= rank - 2);
    if (!run) return undefined;
    const columns = x.shape[rank - 1]!;
    const rows = tf.util.sizeFromShape(x.shape.slice(first, -1));
    const outShape = keepDims ? x.shape.map((n, i) => (axes.has(i) ? 1 : n)) : [...x.shape.slice(0, first), columns];
    const divisor = kernelName === 'Mean' ? rows : 1;
    if (first === 0) return sumColumns(backend, x, outShape, divisor);
    return sumBlockColumns(backend, x, tf.util.sizeFromShape(x.shape.slice(0, first)), outShape, divisor);
  });
}
