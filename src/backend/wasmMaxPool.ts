import * as tf from '@tensorflow/tfjs-core';
import { passJobs, runClaimedJobs } from './heapClaimedJobs.js';
import { heapOffset, type WasmHeapBackend } from './heapKernels.js';
import { wasmKernelOverride } from './wasmKernelOverride.js';

/** MaxPool's and MaxPoolGrad's attributes. */
export interface PoolAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** The pool's geometry for an NHWC input of shape `shape`. */
export function poolInfo(shape: number[], attrs: PoolAttrs): tf.backend_util.Conv2DInfo {
  const { filterSize, strides, pad, dimRoundingMode } = attrs;
  return tf.backend_util.computePool2DInfo(shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
}

/** Whether the pool has 2x2 windows of stride 2 wholly inside the input and channels in fours (the heap kernels' SIMD case). */
export function isTiled2x2(info: tf.backend_util.Conv2DInfo): boolean {
  return (
    [info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth].every((n) => n === 2) &&
    info.dilationHeight === 1 &&
    info.dilationWidth === 1 &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0 &&
    2 * info.outHeight <= info.inHeight &&
    2 * info.outWidth <= info.inWidth &&
    info.inChannels % 4 === 0
  );
}

/** Output rows a thread claims at a time: a few hundred floats of output or more, so claims stay rare. */
export function rowsPerClaim(info: tf.backend_util.Conv2DInfo): number {
  return Math.max(1, Math.ceil(512 / (info.outWidth * info.inChannels)));
}

/**
 * The max pool of float32 `x` (NHWC) over 2x2 windows of stride 2 (isTiled2x2(info)) on the heap
 * threads: output rows shared out by a counter (heapKernels' maxPool2x2). The maximum is taken as
 * the cpu backend takes it (a NaN never replaces a value). `jobs` (tests) fixes the job count.
 */
export function maxPool2x2(backend: WasmHeapBackend, x: tf.TensorInfo, info: tf.backend_util.Conv2DInfo, jobs?: number): tf.TensorInfo {
  const y = backend.makeOutput(info.outShape, 'float32');
  const units = info.batchSize * info.outHeight;
  if (units * info.outWidth * info.inChannels === 0) return y;
  runClaimedJobs(
    backend,
    'maxPool2x2',
    (counter) => [heapOffset(backend, x), heapOffset(backend, y), info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, units, rowsPerClaim(info), counter],
    passJobs(backend, tf.util.sizeFromShape(x.shape), jobs),
  );
  return y;
}

/**
 * MaxPool for the 'wasm' backend: 2x2 windows of stride 2 with channels in fours (VGG's pools) as
 * maxPool2x2 on the heap threads; other pools go to the backend's XNNPACK kernel, whose own thread
 * pool competes with the heap workers for the cores.
 */
export function wasmMaxPoolConfig(): tf.KernelConfig | undefined {
  return wasmKernelOverride('MaxPool', (args, backend) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype !== 'float32' || x.shape.length !== 4) return undefined;
    const info = poolInfo(x.shape, args.attrs as unknown as PoolAttrs);
    return isTiled2x2(info) ? maxPool2x2(backend, x, info) : undefined;
  });
}
