import * as tf from '@tensorflow/tfjs-core';
import { gemmWorkFloats } from './heapGemm.js';
import { heapKernels, heapOffset, type WasmHeapBackend } from './heapKernels.js';
import { heapThreads, runHeapJobs } from './heapWorkers.js';
import { checkNhwcFloat32, conv2DGradientInfo, heapConvDescriptor, type Conv2DGradientAttrs } from './wasmConv2DGradient.js';

type Conv2DBackpropFilterAttrs = Conv2DGradientAttrs & { filterShape: [number, number, number, number] };

/** Position ranges summed separately, then added in order: fixed, so results do not depend on the thread count. */
const PARTS = 8;

/**
 * Conv2DBackpropFilter for the 'wasm' backend, which (tfjs 4.22) has none, so no conv net could be
 * trained there. dW[i, j, ci, co] = sum over positions (n, oh, ow) of x[n, oh s + i - top,
 * ow s + j - left, ci] dy[n, oh, ow, co] is a matrix product, patches^T dy, of KH KW Cin rows by
 * N OH OW steps by Cout columns: heapKernels.wat's convFilterGrad gathers the patches straight from
 * x into the gemm's packed blocks (no im2col matrix), on all the heap threads, each summing whole
 * ranges of positions.
 *
 * Measured in a small-ResNet step (batch 128, 28x28, 12-48 channels; per-kernel profile, 2
 * threads): 9 calls took 102 ms as merge-train's earlier form, a convolution of x by dy through
 * XNNPACK (which packs dy, a huge filter, anew every call), and 40 ms as this product.
 * Only NHWC is supported (as by the wasm Conv2D itself).
 */
export function wasmConv2DBackpropFilterConfig(): tf.KernelConfig {
  return {
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend: kernelBackend, attrs }) => {
      const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const convAttrs = attrs as unknown as Conv2DBackpropFilterAttrs;
      checkNhwcFloat32('Conv2DBackpropFilter', convAttrs.dataFormat, [x, dy]);
      const info = conv2DGradientInfo('Conv2DBackpropFilter', convAttrs, x.shape as [number, number, number, number], convAttrs.filterShape, dy);
      const { batchSize, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } = info;
      const backend = kernelBackend as unknown as WasmHeapBackend;
      const rows = filterHeight * filterWidth * inChannels;
      const dw = backend.makeOutput(convAttrs.filterShape, 'float32');
      const positions = batchSize * outHeight * outWidth;
      if (positions === 0 || rows * outChannels === 0) {
        (backend.typedArrayFromHeap(dw) as Float32Array).fill(0);
        return dw;
      }
      const parts = Math.min(PARTS, positions);
      const threads = Math.min(heapThreads(backend), parts);
      const { desc, counter } = heapConvDescriptor(backend, info);
      const partials = backend.makeOutput([parts, rows * outChannels], 'float32');
      // A thread's scratch: one block of 384 positions of the patches, and of dy's columns in panels of 8.
      const work = Array.from({ length: threads }, () => backend.makeOutput([gemmWorkFloats(rows, 384, 8 * Math.ceil(outChannels / 8))], 'float32'));
      const at = (t: tf.TensorInfo) => heapOffset(backend, t);
      try {
        runHeapJobs(backend, 'convFilterGrad', work.map((w) => [at(x), at(dy), at(partials), at(desc), parts, counter, at(w)]));
        // dw = partial 0 + partial 1 + ..., in that order
        const size = rows * outChannels;
        const sums = backend.typedArrayFromHeap(partials) as Float32Array;
        (backend.typedArrayFromHeap(dw) as Float32Array).set(sums.subarray(0, size));
        for (let q = 1; q < parts; q++) heapKernels(backend).rowVectorOp(at(dw), at(partials) + 4 * q * size, at(dw), 1, size, 0);
      } finally {
        for (const t of [desc, partials, ...work]) (kernelBackend as tf.KernelBackend).disposeData(t.dataId);
      }
      return dw;
    },
  };
}
