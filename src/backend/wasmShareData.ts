import type * as tf from '@tensorflow/tfjs-core';
import { wasmKernelOverride } from './wasmKernelOverride.js';

/**
 * Identity, and Cast to the dtype a tensor already has, for the 'wasm' backend as a new reference to
 * the same data (as the cpu backend does), where the backend's kernels copy it. Tensors are immutable
 * (a variable's assign takes new data), so sharing is safe. The gradient tape clones every tensor a
 * gradient saves (a 128x28x28x16 activation: ~0.5 ms a copy) and ReLU's gradient casts float32 to
 * float32. Strings keep the backend's kernels.
 */
export function wasmShareDataConfigs(): (tf.KernelConfig | undefined)[] {
  const share: Parameters<typeof wasmKernelOverride>[1] = (args, backend) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const dtype = (args.attrs as { dtype?: tf.DataType } | undefined)?.dtype;
    if (x.dtype === 'string' || (dtype !== undefined && dtype !== x.dtype)) return undefined;
    (backend as unknown as { incRef(dataId: tf.DataId): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  return [wasmKernelOverride('Identity', share), wasmKernelOverride('Cast', share)];
}
