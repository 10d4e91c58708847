import * as tf from '@tensorflow/tfjs-core';
import type { WasmHeapBackend } from './heapKernels.js';

/** An override's work on one kernel call: its output, or undefined to leave the call to the backend's kernel. */
export type FastPath = (args: Parameters<tf.KernelFunc>[0], backend: WasmHeapBackend) => tf.TensorInfo | tf.TensorInfo[] | undefined;

/**
 * A 'wasm' registration of `kernelName` that runs `fastPath` and hands every call it declines to
 * the backend's own kernel of that name; undefined when the backend has no such kernel.
 */
export function wasmKernelOverride(kernelName: string, fastPath: FastPath): tf.KernelConfig | undefined {
  const original = tf.getKernel(kernelName, 'wasm');
  if (!original) return undefined;
  return {
    kernelName,
    backendName: 'wasm',
    kernelFunc: (args) => fastPath(args, args.backend as unknown as WasmHeapBackend) ?? original.kernelFunc(args),
  };
}
