import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { heapOffset, type WasmHeapBackend } from './heapKernels.js';
import { heapThreads, runHeapJobs } from './heapWorkers.js';
import { heapConvDescriptor } from './wasmConv2DGradient.js';
import { wasmKernelOverride } from './wasmKernelOverride.js';

/** Conv2D's attributes (and FusedConv2D's, which adds the activation). */
interface Conv2DAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  activation?: string;
}

/** Positions a thread claims at a time: a multiple of 4 whose packed patches stay in L2. */
const CHUNK = 64;
/** K blocks of the convolution hold whole taps, about this many steps (convForward.wat). */
const BLOCK_STEPS = 384;

/** Scratch floats of one thread of convForward.wat: packed w, packed patches of a chunk by a K block, a 4 x 8 tile, C zeros. */
function convForwardWorkFloats(taps: number, channels: number, outChannels: number): number {
  const tapsPerBlock = Math.max(Math.floor(BLOCK_STEPS / channels), 1);
  return taps * channels * 8 * Math.ceil(outChannels / 8) + CHUNK * tapsPerBlock * channels + 32 + channels;
}

/**
 * Conv2D, and FusedConv2D with a bias and a linear or ReLU activation, for the 'wasm' backend as
 * merge-train's own implicit gemm (heapKernels/convForward.wat): the patches of x are gathered into the
 * gemm's packed blocks, multiplied on its register tile on all the heap threads, and the bias
 * and ReLU applied as each chunk of positions is finished. The backend's XNNPACK convolution runs on a
 * thread pool of its own, which competes with the heap workers for the cores, and repacks the filter
 * (new weights every training step) on every call. Each output is summed by one thread in a fixed
 * order, so results do not depend on the thread count. Input channels must be a multiple of 4 (whole
 * SIMD vectors of channels): a first layer's 1 or 3 channels keep XNNPACK, faster there, and so does
 * a dilated convolution. NHWC, float32.
 * @param jobs how many threads to use (default: all); tests compare 1 and 2.
 */
export function wasmConv2D(
  backend: WasmHeapBackend,
  x: tf.TensorInfo,
  filter: tf.TensorInfo,
  attrs: Conv2DAttrs,
  bias?: tf.TensorInfo,
  relu = false,
  jobs = heapThreads(backend),
): tf.TensorInfo | undefined {
  const dilated = [attrs.dilations].flat().some((d) => d !== 1);
  if (attrs.dataFormat !== 'NHWC' || dilated || x.dtype !== 'float32' || filter.dtype !== 'float32' || (bias && bias.dtype !== 'float32')) return undefined;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filter.shape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
  const { batchSize, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } = info;
  // (a numeric pad that does not fit the stride gives fractional output sizes: the backend's business)
  if (inChannels % 4 !== 0 || !Number.isInteger(outHeight) || !Number.isInteger(outWidth) || (bias && bias.shape.join() !== String(outChannels))) return undefined;
  const y = backend.makeOutput([batchSize, outHeight, outWidth, outChannels], 'float32');
  const positions = batchSize * outHeight * outWidth;
  if (positions * outChannels === 0) return y;
  const threads = Math.min(jobs, heapThreads(backend), Math.ceil(positions / CHUNK));
  const { desc, counter } = heapConvDescriptor(backend, info);
  const work = Array.from({ length: threads }, () =>
    backend.makeOutput([convForwardWorkFloats(filterHeight * filterWidth, inChannels, outChannels)], 'float32'),
  );
  const at = (t: tf.TensorInfo) => heapOffset(backend, t);
  try {
    runHeapJobs(
      backend,
      'convForward',
      work.map((w) => [at(x), at(filter), bias ? at(bias) : 0, at(y), at(desc), relu ? 1 : 0, CHUNK, counter, at(w)]),
    );
  } catch (error) {
    (backend as unknown as tf.KernelBackend).disposeData(y.dataId);
    throw error;
  } finally {
    for (const t of [desc, ...work]) (backend as unknown as tf.KernelBackend).disposeData(t.dataId);
  }
  return y;
}

/** The Conv2D and FusedConv2D registrations (calls they decline go to the backend's kernels). */
export function wasmConv2DConfigs(): (tf.KernelConfig | undefined)[] {
  return [
    wasmKernelOverride('Conv2D', ({ inputs, attrs }, backend) => {
      const { x, filter } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
      return wasmConv2D(backend, x, filter, attrs as unknown as Conv2DAttrs);
    }),
    wasmKernelOverride('FusedConv2D', ({ inputs, attrs }, backend) => {
      const { x, filter, bias, preluActivationWeights } = inputs as Record<string, tf.TensorInfo | undefined>;
      const convAttrs = attrs as unknown as Conv2DAttrs;
      const activation = convAttrs.activation ?? 'linear';
      if (preluActivationWeights || (activation !== 'linear' && activation !== 'relu')) return undefined;
      return wasmConv2D(backend, x!, filter!, convAttrs, bias, activation === 'relu');
    }),
  ];
}
