import * as tf from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { heapOffset, type WasmHeapBackend } from './heapKernels.js';

/** The attributes the Conv2D gradient kernels (Conv2DBackpropFilter, Conv2DBackpropInput) share. */
export interface Conv2DGradientAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * Refuses what the wasm Conv2D gradient kernels do not support: a dataFormat other than 'NHWC' (the
 * wasm Conv2D itself only supports channelsLast) and tensors other than float32.
 * @param tensors the kernel's two inputs, in the order the error names their dtypes.
 */
export function checkNhwcFloat32(kernelName: string, dataFormat: string, tensors: readonly [tf.TensorInfo, tf.TensorInfo]): void {
  if (dataFormat !== 'NHWC') {
    throw new Error(`${kernelName} on the wasm backend supports only dataFormat 'NHWC', got '${dataFormat}'`);
  }
  const [a, b] = tensors;
  if (a.dtype !== 'float32' || b.dtype !== 'float32') {
    throw new Error(`${kernelName} on the wasm backend needs float32 tensors, got ${a.dtype} and ${b.dtype}`);
  }
}

/** The forward (NHWC) convolution's info, after checking that `dy` has its output shape. */
export function conv2DGradientInfo(
  kernelName: string,
  attrs: Conv2DGradientAttrs,
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  dy: tf.TensorInfo,
): backend_util.Conv2DInfo {
  const info = backend_util.computeConv2DInfo(xShape, filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const { batchSize, outHeight, outWidth, outChannels } = info;
  if (dy.shape.join() !== [batchSize, outHeight, outWidth, outChannels].join()) {
    throw new Error(`${kernelName}: dy has shape [${dy.shape}], expected [${[batchSize, outHeight, outWidth, outChannels]}]`);
  }
  return info;
}

/**
 * The descriptor heapKernels' convolution kernels (convForward, convFilterGrad) read, 16 i32 on the
 * heap: N, H, W, C, OH, OW, KH, KW, SH, SW, PT, PL, Cout of `info`, then three spare zeros, the first
 * of which is the counter their threads claim work from (`counter`, a heap offset). The caller frees `desc`.
 */
export function heapConvDescriptor(backend: WasmHeapBackend, info: backend_util.Conv2DInfo): { desc: tf.TensorInfo; counter: number } {
  const desc = backend.makeOutput([16], 'int32');
  (backend.typedArrayFromHeap(desc) as Int32Array).set([
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.filterHeight, info.filterWidth,
    info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left, info.outChannels, 0, 0, 0,
  ]);
  return { desc, counter: heapOffset(backend, desc) + 4 * 13 };
}
