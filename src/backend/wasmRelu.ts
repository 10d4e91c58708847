import * as tf from '@tensorflow/tfjs-core';
import { heapKernels, heapOffset } from './heapKernels.js';
import { wasmKernelOverride } from './wasmKernelOverride.js';

/**
 * Relu for the 'wasm' backend on float32 tensors, one SIMD pass (heapKernels.wat). The backend's
 * kernel runs through XNNPACK's thread pool, whose threads then spin for a while (~0.3 ms of CPU
 * measured) on the core that merge-train's heap workers need next (heapWorkers.ts). Other dtypes
 * keep the backend's kernel.
 */
export function wasmReluConfig(): tf.KernelConfig | undefined {
  return wasmKernelOverride('Relu', (args, backend) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    if (x.dtype !== 'float32') return undefined;
    const out = backend.makeOutput(x.shape, 'float32');
    heapKernels(backend).relu(heapOffset(backend, x), heapOffset(backend, out), tf.util.sizeFromShape(x.shape));
    return out;
  });
}
