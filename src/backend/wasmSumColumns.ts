import * as tf from '@tensorflow/tfjs-core';
import { heapKernels, heapOffset, type WasmHeapBackend } from './heapKernels.js';

/**
 * Sum for the 'wasm' backend over every axis but the last of a float32 tensor: column sums of the
 * tensor seen as [rows, channels], in one SIMD pass (heapKernels.wat). That is every bias gradient
 * (dense and convolutional) and BatchNorm's shift gradient; the backend's kernel transposes the
 * tensor first (a [128, 512] gradient: 130 us). Other reductions go to the backend's kernel.
 */
export function wasmSumColumnsConfig(): tf.KernelConfig | undefined {
  const original = tf.getKernel('Sum', 'wasm');
  if (!original) return undefined;
  return {
    kernelName: 'Sum',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { x } = args.inputs as { x: tf.TensorInfo };
      const { axis, keepDims } = args.attrs as unknown as { axis: number | number[] | null; keepDims: boolean };
      const rank = x.shape.length;
      // null means every axis; negative axes count from the end
      const axes = new Set(axis === null || axis === undefined ? x.shape.map((_, i) => i) : tf.util.parseAxisParam(axis, x.shape));
      const leading = rank >= 2 && axes.size === rank - 1 && !axes.has(rank - 1);
      if (!leading || x.dtype !== 'float32') return original.kernelFunc(args);
      const columns = x.shape[rank - 1]!;
      const backend = args.backend as unknown as WasmHeapBackend;
      const out = backend.makeOutput(keepDims ? [...x.shape.slice(0, -1).map(() => 1), columns] : [columns], 'float32');
      heapKernels(backend).sumColumns(heapOffset(backend, x), heapOffset(backend, out), x.shape.slice(0, -1).reduce((a, b) => a * b, 1), columns);
      return out;
    },
  };
}
