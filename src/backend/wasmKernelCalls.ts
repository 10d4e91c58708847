import * as tf from '@tensorflow/tfjs-core';

/**
 * Calls registered 'wasm' kernels directly on TensorInfos from inside another kernel (tf ops must not
 * be used there: they would go through the engine and be recorded on the gradient tape). Every
 * TensorInfo a call returns is an intermediate the caller owns and must `free` (or return).
 */
export interface WasmKernelCalls {
  call(kernelName: string, inputs: tf.NamedTensorInfoMap, attrs?: Record<string, unknown>): tf.TensorInfo;
  /** The Reshape kernel: a new view of the same data (its reference count goes up, so `free` it too). */
  reshape(x: tf.TensorInfo, shape: number[]): tf.TensorInfo;
  free(x: tf.TensorInfo): void;
}

/** Looks up the 'wasm' kernels once; `undefined` when one of `needed` is not registered. */
export function wasmKernelCalls(needed: readonly string[]): ((backend: object) => WasmKernelCalls) | undefined {
  const funcs = new Map<string, tf.KernelFunc>();
  for (const name of new Set([...needed, 'Reshape'])) {
    const config = tf.getKernel(name, 'wasm');
    if (!config) return undefined;
    funcs.set(name, config.kernelFunc);
  }
  return (backend) => {
    const kernels = backend as tf.KernelBackend;
    const call = (kernelName: string, inputs: tf.NamedTensorInfoMap, attrs: Record<string, unknown> = {}): tf.TensorInfo => {
      const func = funcs.get(kernelName);
      if (!func) throw new Error(`wasm kernel ${kernelName} was not looked up`);
      const out = func({ inputs, backend, attrs: attrs as tf.NamedAttrMap });
      if (Array.isArray(out)) throw new Error(`wasm kernel ${kernelName} returned several outputs`);
      return out;
    };
    return {
      call,
      reshape: (x, shape) => call('Reshape', { x }, { shape }),
      free: (x) => {
        kernels.disposeData(x.dataId);
      },
    };
  };
}
