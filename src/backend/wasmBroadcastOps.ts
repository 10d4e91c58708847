import * as tf from '@tensorflow/tfjs-core';
import { passJobs, runClaimedJobs } from './heapClaimedJobs.js';
import { heapOffset, type WasmHeapBackend } from './heapKernels.js';
import { binaryOpOverrides } from './wasmRowVectorOps.js';

/** x seen as [outer, middle, inner] with v as [outer, 1, inner]. */
export interface MiddleBroadcast {
  outer: number;
  middle: number;
  inner: number;
}

/**
 * How `v` broadcasts into `x`'s shape over middle axes: v's axes (aligned at the end) equal x's on a
 * leading run and a trailing run and are 1 in between, where x's are not ([128, 1, 1, C] into
 * [128, H, W, C]; [128, 1] into [128, C]). Undefined for any other pattern, and for those with a
 * single outer index or no middle (a plain row vector, or no broadcast at all), which other kernels take.
 */
export function middleBroadcast(xShape: readonly number[], vShape: readonly number[]): MiddleBroadcast | undefined {
  if (vShape.length > xShape.length) return undefined;
  const v = [...xShape.slice(0, xShape.length - vShape.length).map(() => 1), ...vShape];
  // Each axis of x: 's' shared with v, 'b' broadcast from v's 1, or none (x's extent is 1)
  const kinds = xShape.map((n, i) => (n === 1 ? (v[i] === 1 ? '' : 'x') : v[i] === n ? 's' : v[i] === 1 ? 'b' : 'x'));
  if (kinds.includes('x')) return undefined;
  const pattern = kinds.join('');
  const match = /^(s*)(b+)(s*)$/.exec(pattern);
  if (!match) return undefined;
  const size = (kind: string, from: number, to: number) => xShape.reduce((p, n, i) => (kinds[i] === kind && i >= from && i < to ? p * n : p), 1);
  const firstB = kinds.indexOf('b');
  const lastB = kinds.lastIndexOf('b');
  const shape = { outer: size('s', 0, firstB), middle: size('b', 0, xShape.length), inner: size('s', lastB + 1, xShape.length) };
  return shape.outer > 1 ? shape : undefined;
}

/**
 * out = x op v for float32 x and v broadcast over x's middle axes (`shape`), on the heap threads
 * (heapKernels' broadcastMiddleOp, outer indices shared out by a counter); `op` is one of the codes
 * binaryOpOverrides (wasmRowVectorOps.ts) hands out. `jobs` (tests) fixes the job count.
 */
export function broadcastMiddleOp(backend: WasmHeapBackend, x: tf.TensorInfo, v: tf.TensorInfo, shape: MiddleBroadcast, op: number, jobs?: number): tf.TensorInfo {
  const out = backend.makeOutput(x.shape, 'float32');
  const { outer, middle, inner } = shape;
  const size = outer * middle * inner;
  if (size === 0) return out;
  // claims of a few thousand floats or more
  const chunk = Math.max(1, Math.ceil(4096 / (middle * inner)));
  runClaimedJobs(
    backend,
    'broadcastMiddleOp',
    (counter) => [heapOffset(backend, x), heapOffset(backend, v), heapOffset(backend, out), outer, middle, inner, op, chunk, counter],
    passJobs(backend, size, jobs),
  );
  return out;
}

/**
 * Add, Sub and Multiply for the 'wasm' backend when one float32 operand broadcasts into the other
 * over middle axes (middleBroadcast): the gradient of a mean over H and W ([128, 1, 1, C] times
 * [128, H, W, C]) and per-row scalars ([128, 1] with [128, 10]). The backend's kernels broadcast in
 * a generic loop, one element at a time. Other cases go to the kernels registered before these.
 */
export function wasmBroadcastOpConfigs(): tf.KernelConfig[] {
  return binaryOpOverrides(({ a, b }, { right, left }, backend) => {
    if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
    const onRight = middleBroadcast(a.shape, b.shape);
    if (onRight) return broadcastMiddleOp(backend, a, b, onRight, right);
    const onLeft = middleBroadcast(b.shape, a.shape);
    return onLeft ? broadcastMiddleOp(backend, b, a, onLeft, left) : undefined;
  });
}
