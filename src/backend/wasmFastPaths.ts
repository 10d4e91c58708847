import * as tf from '@tensorflow/tfjs-core';
import { wasmConv2DBackpropFilterConfig } from './wasmConv2DBackpropFilter.js';
import { wasmConv2DBackpropInputConfig } from './wasmConv2DBackpropInput.js';

let installed = false;

/**
 * Installs merge-train's own 'wasm' kernels (the tfjs 4.22 wasm backend lacks one that training needs
 * and has slow ones): BatchMatMul without slow transposed operands, Conv2DBackpropFilter (missing:
 * no conv net could be trained) and Conv2DBackpropInput (present but ~10x slower than Conv2D). Each
 * is composed from fast wasm kernels. Only the 'wasm' registrations are touched; tfjs-node and cpu
 * keep their kernels. Idempotent.
 */
export function installWasmFastPaths(): void {
  if (installed) return;
  installed = true;
  installFastBatchMatMul();
  replaceKernel(wasmConv2DBackpropFilterConfig());
  replaceKernel(wasmConv2DBackpropInputConfig());
}

/** Registers `config`, in place of the backend's own kernel of that name if there is one. */
function replaceKernel(config: tf.KernelConfig | undefined): void {
  if (!config) return; // a kernel it is composed from is missing: keep what the backend has
  if (tf.getKernel(config.kernelName, config.backendName)) tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}

/**
 * The WASM backend's BatchMatMul is >10x slower when an operand is transposed (measured: 128x784 by
 * 784x512 takes ~5 ms plain, ~55-120 ms with a transposed operand), and every matMul gradient asks for
 * transposed operands. This wraps the wasm kernel so that a transposed operand is materialised first
 * with the (fast) Transpose kernel and the product runs untransposed. Only the 'wasm' registration is
 * touched; other backends keep their kernels.
 */
function installFastBatchMatMul(): void {
  const original = tf.getKernel('BatchMatMul', 'wasm');
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (!original || !transpose) return;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      const wasm = backend as tf.KernelBackend;
      const swapLastTwo = (x: tf.TensorInfo): tf.TensorInfo => {
        const perm = x.shape.map((_, i) => i);
        const last = perm.length - 1;
        [perm[last - 1], perm[last]] = [perm[last]!, perm[last - 1]!];
        return transpose.kernelFunc({ inputs: { x }, backend, attrs: { perm } }) as tf.TensorInfo;
      };
      const aPlain = transposeA ? swapLastTwo(a) : a;
      const bPlain = transposeB ? swapLastTwo(b) : b;
      const result = original.kernelFunc({
        inputs: { a: aPlain, b: bPlain },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      }) as tf.TensorInfo;
      if (transposeA) wasm.disposeData(aPlain.dataId);
      if (transposeB) wasm.disposeData(bPlain.dataId);
      return result;
    },
  });
}
