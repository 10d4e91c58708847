import * as tf from '@tensorflow/tfjs-core';
import { heapKernels, heapOffset } from './heapKernels.js';
import { wasmKernelOverride } from './wasmKernelOverride.js';

/**
 * Transpose for the 'wasm' backend when it swaps the last two axes of 4-byte elements (matrix
 * transposes, as in the alignment transforms and Conv2DBackpropInput): SIMD 4x4 tiles in cache-sized
 * blocks (heapKernels.wat). The backend's kernel walks its input with the output's stride, which is
 * slow for every large matrix and worst when both sides are multiples of 512 (columns 2 KB apart
 * collide in the cache). Every other permutation goes to the backend's kernel.
 */
export function wasmTransposeConfig(): tf.KernelConfig | undefined {
  return wasmKernelOverride('Transpose', (args, backend) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { perm } = args.attrs as unknown as { perm: number[] };
    const rank = x.shape.length;
    const swapsLastTwo = rank >= 2 && perm[rank - 2] === rank - 1 && perm[rank - 1] === rank - 2 && perm.slice(0, -2).every((p, i) => p === i);
    const [rows, cols] = [x.shape[rank - 2]!, x.shape[rank - 1]!];
    if (!swapsLastTwo || rows === 1 || cols === 1 || (x.dtype !== 'float32' && x.dtype !== 'int32')) return undefined;
    const out = backend.makeOutput([...x.shape.slice(0, -2), cols, rows], x.dtype);
    const kernels = heapKernels(backend);
    const [source, target] = [heapOffset(backend, x), heapOffset(backend, out)];
    const bytes = 4 * rows * cols;
    const batch = tf.util.sizeFromShape(x.shape.slice(0, -2));
    for (let b = 0; b < batch; b++) kernels.transpose(source + b * bytes, target + b * bytes, rows, cols);
    return out;
  });
}
