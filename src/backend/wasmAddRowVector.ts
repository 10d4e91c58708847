import * as tf from '@tensorflow/tfjs-core';
import { heapKernels, heapOffset, type WasmHeapBackend } from './heapKernels.js';

/**
 * Add for the 'wasm' backend when one float32 operand is a vector over the other's last axis (a bias
 * added to every row or pixel): one SIMD pass (heapKernels.wat). The backend's kernel broadcasts in
 * a generic loop, ~0.3 ms for [128, 512] + [512]. Other additions go to the backend's kernel.
 */
export function wasmAddRowVectorConfig(): tf.KernelConfig | undefined {
  const original = tf.getKernel('Add', 'wasm');
  if (!original) return undefined;
  return {
    kernelName: 'Add',
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const isRowVector = (v: tf.TensorInfo, x: tf.TensorInfo) =>
        x.shape.length >= 1 && v.shape.length <= x.shape.length && v.shape.at(-1) === x.shape.at(-1) && tf.util.sizeFromShape(v.shape) === v.shape.at(-1);
      const [x, v] = isRowVector(b, a) ? [a, b] : isRowVector(a, b) ? [b, a] : [];
      if (!x || !v || a.dtype !== 'float32' || b.dtype !== 'float32' || tf.util.sizeFromShape(x.shape) === 0) return original.kernelFunc(args);
      const backend = args.backend as unknown as WasmHeapBackend;
      const out = backend.makeOutput(x.shape, 'float32');
      const columns = x.shape.at(-1)!;
      heapKernels(backend).addRowVector(heapOffset(backend, x), heapOffset(backend, v), heapOffset(backend, out), tf.util.sizeFromShape(x.shape) / columns, columns);
      return out;
    },
  };
}
