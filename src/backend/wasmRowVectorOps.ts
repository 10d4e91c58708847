import * as tf from '@tensorflow/tfjs-core';
import { heapKernels, heapOffset, type WasmHeapBackend } from './heapKernels.js';
import { wasmKernelOverride } from './wasmKernelOverride.js';

/** The binary kernels the heap kernels take, with their op codes for x op v and for v op x (rowVectorOp, broadcastMiddleOp). */
const OPS = { Add: [0, 0], Sub: [1, 2], Multiply: [3, 3] } as const;

/**
 * A 'wasm' override of each of Add, Sub and Multiply that runs `fastPath` with the inputs and the
 * heap kernels' op codes for x op v (`right`) and v op x (`left`); calls it declines go on to the
 * kernel registered before.
 */
export function binaryOpOverrides(
  fastPath: (inputs: { a: tf.TensorInfo; b: tf.TensorInfo }, codes: { right: number; left: number }, backend: WasmHeapBackend) => tf.TensorInfo | undefined,
): tf.KernelConfig[] {
  return (Object.keys(OPS) as (keyof typeof OPS)[]).flatMap((kernelName) => {
    const [right, left] = OPS[kernelName];
    return wasmKernelOverride(kernelName, (args, backend) => fastPath(args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo }, { right, left }, backend)) ?? [];
  });
}

/**
 * Add, Sub and Multiply for the 'wasm' backend when one float32 operand is a vector over the other's
 * last axis (a bias, a BatchNorm shift or scale per channel): one SIMD pass (heapKernels.wat). The
 * backend's kernels broadcast in a generic loop: ~0.3 ms for [128, 512] + [512], and in a small
 * ResNet step the per-channel Multiply and Sub took ~40 of ~260 ms. Other cases go to the backend's kernels.
 */
export function wasmRowVectorOpConfigs(): tf.KernelConfig[] {
  return binaryOpOverrides(({ a, b }, { right, left }, backend) => {
    const isRowVector = (v: tf.TensorInfo, x: tf.TensorInfo) =>
      x.shape.length >= 1 && v.shape.length <= x.shape.length && v.shape.at(-1) === x.shape.at(-1) && tf.util.sizeFromShape(v.shape) === v.shape.at(-1);
    const [x, v, op] = isRowVector(b, a) ? [a, b, right] : isRowVector(a, b) ? [b, a, left] : [];
    if (!x || !v || op === undefined || a.dtype !== 'float32' || b.dtype !== 'float32' || tf.util.sizeFromShape(x.shape) === 0) return undefined;
    const out = backend.makeOutput(x.shape, 'float32');
    const columns = x.shape.at(-1)!;
    heapKernels(backend).rowVectorOp(heapOffset(backend, x), heapOffset(backend, v), heapOffset(backend, out), tf.util.sizeFromShape(x.shape) / columns, columns, op);
    return out;
  });
}
