import * as tf from '@tensorflow/tfjs-core';
import { passJobs, runClaimedJobs } from './heapClaimedJobs.js';
import { heapOffset, type WasmHeapBackend } from './heapKernels.js';
import { heapThreads, runHeapJobs } from './heapWorkers.js';
import { wasmKernelOverride } from './wasmKernelOverride.js';
import { isTiled2x2, poolInfo, rowsPerClaim, type PoolAttrs } from './wasmMaxPool.js';

/**
 * The max-pool gradient dx of float32 NHWC `input` given `dy`, on the heap threads: each output's
 * gradient goes to the first maximum of its window, as the cpu backend assigns it. 2x2 windows of
 * stride 2 (isTiled2x2) four channels at a time, output rows shared out by a counter; other pools
 * (windows may overlap) by whole images, each summed in the same order by one thread. Either way
 * the result does not depend on the thread count; `jobs` (tests) fixes the job count.
 */
export function maxPoolGradient(backend: WasmHeapBackend, dy: tf.TensorInfo, input: tf.TensorInfo, info: tf.backend_util.Conv2DInfo, jobs?: number): tf.TensorInfo {
  const dx = backend.makeOutput(input.shape, 'float32');
  const at = (t: tf.TensorInfo) => heapOffset(backend, t);
  const size = tf.util.sizeFromShape(input.shape);
  if (size === 0) return dx;
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth } = info;
  if (isTiled2x2(info)) {
    const units = batchSize * outHeight;
    if (units * outWidth === 0) {
      (backend.typedArrayFromHeap(dx) as Float32Array).fill(0);
      return dx;
    }
    runClaimedJobs(
      backend,
      'maxPoolGrad2x2',
      (counter) => [at(input), at(dy), at(dx), inHeight, inWidth, inChannels, outHeight, outWidth, units, rowsPerClaim(info), counter],
      passJobs(backend, size, jobs),
    );
    return dx;
  }
  const threads = Math.min(passJobs(backend, size, jobs), heapThreads(backend), batchSize);
  const imageBytes = 4 * inHeight * inWidth * inChannels;
  const gradientBytes = 4 * outHeight * outWidth * inChannels;
  const images = (j: number) => Math.floor((j * batchSize) / threads);
  runHeapJobs(
    backend,
    'maxPoolGrad',
    Array.from({ length: threads }, (_, j) => [
      at(input) + images(j) * imageBytes, at(dy) + images(j) * gradientBytes, at(dx) + images(j) * imageBytes,
      images(j + 1) - images(j), inHeight, inWidth, inChannels, outHeight, outWidth,
      info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left,
    ]),
  );
  return dx;
}

/**
 * MaxPoolGrad for the 'wasm' backend, in one pass over the pooled windows on the heap threads
 * (maxPoolGradient); the backend's own kernel is a slow generic loop.
 */
export function wasmMaxPoolGradConfig(): tf.KernelConfig | undefined {
  return wasmKernelOverride('MaxPoolGrad', (args, backend) => {
    const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    if (input.dtype !== 'float32' || dy.dtype !== 'float32') return undefined;
    return maxPoolGradient(backend, dy, input, poolInfo(input.shape, args.attrs as unknown as PoolAttrs));
  });
}
