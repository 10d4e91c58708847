import * as tf from '@tensorflow/tfjs-core';
import { MOMENTUM_KERNEL } from '../train/momentumOptimizer.js';
import { heapKernels, heapOffset, type WasmHeapBackend } from './heapKernels.js';

/**
 * The 'wasm' registration of MOMENTUM_KERNEL: inputs value, accumulation, gradient; attrs momentum,
 * learningRate; outputs [value', accumulation'] in one SIMD pass (heapKernels.wat), where tf ops take
 * four kernels and four passes over the variable.
 */
export function wasmMomentumConfig(): tf.KernelConfig {
  return {
    kernelName: MOMENTUM_KERNEL,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { value, accumulation, gradient } = args.inputs as Record<'value' | 'accumulation' | 'gradient', tf.TensorInfo>;
      const { momentum, learningRate } = args.attrs as unknown as { momentum: number; learningRate: number };
      const backend = args.backend as unknown as WasmHeapBackend;
      const size = tf.util.sizeFromShape(value.shape);
      const outValue = backend.makeOutput(value.shape, 'float32');
      const outAccumulation = backend.makeOutput(value.shape, 'float32');
      const at = (info: tf.TensorInfo) => heapOffset(backend, info);
      heapKernels(backend).momentum(at(value), at(accumulation), at(gradient), at(outValue), at(outAccumulation), size, momentum, -learningRate);
      return [outValue, outAccumulation];
    },
  };
}
