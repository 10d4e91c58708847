import * as tf from '@tensorflow/tfjs-core';
import { heapKernels, heapOffset } from './heapKernels.js';
import { wasmKernelOverride } from './wasmKernelOverride.js';

/**
 * Sum or Mean for the 'wasm' backend over every axis but the last of a float32 tensor: column sums
 * of the tensor seen as [rows, channels], in one SIMD pass (heapKernels.wat), divided by the row
 * count for a mean. That is every bias gradient (dense and convolutional) and BatchNorm's batch
 * statistics and shift gradient; the backend's kernels transpose the tensor first (a [128, 512]
 * gradient: 130 us; BatchNorm's means over [128, 28, 28, 16]: ~3 ms each). Other reductions go to
 * the backend's kernels.
 */
export function wasmSumColumnsConfig(kernelName: 'Sum' | 'Mean'): tf.KernelConfig | undefined {
  return wasmKernelOverride(kernelName, (args, backend) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[] | null; keepDims: boolean };
    const rank = x.shape.length;
    // null means every axis; negative axes count from the end
    const axes = new Set(axis === null || axis === undefined ? x.shape.map((_, i) => i) : tf.util.parseAxisParam(axis, x.shape));
    const leading = rank >= 2 && axes.size === rank - 1 && !axes.has(rank - 1);
    if (!leading || x.dtype !== 'float32') return undefined;
    const columns = x.shape[rank - 1]!;
    const rows = tf.util.sizeFromShape(x.shape.slice(0, -1));
    const out = backend.makeOutput(keepDims ? [...x.shape.slice(0, -1).map(() => 1), columns] : [columns], 'float32');
    const divisor = kernelName === 'Mean' ? rows : 1;
    heapKernels(backend).sumColumns(heapOffset(backend, x), heapOffset(backend, out), rows, columns, divisor);
    return out;
  });
}
