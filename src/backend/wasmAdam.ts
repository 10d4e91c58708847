import * as tf from '@tensorflow/tfjs-core';
import { ADAM_KERNEL, type AdamConstants } from '../train/adam.js';
import { heapKernels, heapOffset, type WasmHeapBackend } from './heapKernels.js';

/**
 * The 'wasm' registration of ADAM_KERNEL: inputs value, m, v, gradient; attrs beta1, beta2, rate,
 * epsilon; outputs [value', m', v'] in one SIMD pass (heapKernels/adam.wat), where tf ops take
 * twelve kernels and as many passes over the variable, with the same float32 results.
 */
export function wasmAdamConfig(): tf.KernelConfig {
  return {
    kernelName: ADAM_KERNEL,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const { value, m, v, gradient } = args.inputs as Record<'value' | 'm' | 'v' | 'gradient', tf.TensorInfo>;
      const { beta1, beta2, rate, epsilon } = args.attrs as unknown as AdamConstants;
      const backend = args.backend as unknown as WasmHeapBackend;
      for (const input of [value, m, v, gradient]) {
        if (input.dtype !== 'float32') throw new Error(`${ADAM_KERNEL}: expected float32 tensors, got ${input.dtype}`);
        if (!tf.util.arraysEqual(input.shape, value.shape)) throw new Error(`${ADAM_KERNEL}: shapes differ: [${input.shape.join(',')}] and [${value.shape.join(',')}]`);
      }
      const size = tf.util.sizeFromShape(value.shape);
      const outputs = [value, m, v].map(() => backend.makeOutput(value.shape, 'float32'));
      const at = (info: tf.TensorInfo) => heapOffset(backend, info);
      // The constants as tf's scalar operands would hold them: 1 - beta computed in float64, then
      // rounded to float32 on the way into the kernel, like every other attribute.
      heapKernels(backend).adam(
        at(value), at(m), at(v), at(gradient), at(outputs[0]!), at(outputs[1]!), at(outputs[2]!), size,
        beta1, 1 - beta1, beta2, 1 - beta2, rate, epsilon,
      );
      return outputs;
    },
  };
}
