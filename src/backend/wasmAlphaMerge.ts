import * as tf from '@tensorflow/tfjs-core';
import { SIGMOID_MERGE_GRAD_KERNEL, WEIGHTED_ADD_KERNEL } from '../merge/mergeParams.js';
import { heapKernels, heapOffset, type WasmHeapBackend } from './heapKernels.js';

/** Float32 inputs of one shape, or a one-line error naming the kernel. */
function checkInputs(kernel: string, inputs: tf.TensorInfo[]): number[] {
  const shape = inputs[0]!.shape;
  for (const input of inputs) {
    if (input.dtype !== 'float32') throw new Error(`${kernel}: expected float32 tensors, got ${input.dtype}`);
    if (!tf.util.arraysEqual(input.shape, shape)) throw new Error(`${kernel}: shapes differ: [${input.shape.join(',')}] and [${shape.join(',')}]`);
  }
  return shape;
}

/**
 * The 'wasm' registrations of learned alpha's merge kernels (see mergeParams.ts), each one SIMD pass
 * over the backend's heap (heapKernels/alphaMerge.wat) where tf ops take two or four:
 * WEIGHTED_ADD_KERNEL (inputs a, w, d: a + w * d) and SIGMOID_MERGE_GRAD_KERNEL (inputs dy, d, s:
 * (dy * d) * (s * (1 - s))).
 */
export function wasmAlphaMergeConfigs(): tf.KernelConfig[] {
  const elementwise = (kernelName: string, names: [string, string, string], run: (kernels: ReturnType<typeof heapKernels>, p: number[], n: number) => void): tf.KernelConfig => ({
    kernelName,
    backendName: 'wasm',
    kernelFunc: (args) => {
      const inputs = names.map((name) => (args.inputs as Record<string, tf.TensorInfo>)[name]!);
      const backend = args.backend as unknown as WasmHeapBackend;
      const shape = checkInputs(kernelName, inputs);
      const out = backend.makeOutput(shape, 'float32');
      run(heapKernels(backend), [...inputs, out].map((info) => heapOffset(backend, info)), tf.util.sizeFromShape(shape));
      return out;
    },
  });
  return [
    elementwise(WEIGHTED_ADD_KERNEL, ['a', 'w', 'd'], (k, [a, w, d, out], n) => k.weightedAdd(a!, w!, d!, out!, n)),
    elementwise(SIGMOID_MERGE_GRAD_KERNEL, ['dy', 'd', 's'], (k, [dy, d, s, out], n) => k.sigmoidMergeGrad(dy!, d!, s!, out!, n)),
  ];
}
