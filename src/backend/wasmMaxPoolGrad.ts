import * as tf from '@tensorflow/tfjs-core';
import { heapKernels, heapOffset } from './heapKernels.js';
import { wasmKernelOverride } from './wasmKernelOverride.js';

/**
 * MaxPoolGrad for the 'wasm' backend, in one pass over the pooled windows (heapKernels.wat): each
 * output's gradient goes to the first maximum of its window, as the cpu backend assigns it; 2x2
 * windows of stride 2 (VGG's pools) four channels at a time. The backend's own kernel took ~20 ms
 * for a [128, 28, 28, 16] input, a quarter of a small VGG's training step.
 */
export function wasmMaxPoolGradConfig(): tf.KernelConfig | undefined {
  return wasmKernelOverride('MaxPoolGrad', (args, backend) => {
    const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as {
      filterSize: [number, number] | number;
      strides: [number, number] | number;
      pad: 'valid' | 'same' | number;
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
    };
    if (input.dtype !== 'float32' || dy.dtype !== 'float32') return undefined;
    const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
    const dx = backend.makeOutput(input.shape, 'float32');
    const at = (t: tf.TensorInfo) => heapOffset(backend, t);
    const kernels = heapKernels(backend);
    const tiled =
      [info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth].every((n) => n === 2) &&
      info.padInfo.top === 0 &&
      info.padInfo.left === 0 &&
      2 * info.outHeight <= info.inHeight &&
      2 * info.outWidth <= info.inWidth &&
      info.inChannels % 4 === 0;
    if (tiled) {
      kernels.maxPoolGrad2x2(at(input), at(dy), at(dx), info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth);
      return dx;
    }
    kernels.maxPoolGrad(
      at(input), at(dy), at(dx),
      info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth,
      info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left,
    );
    return dx;
  });
}
