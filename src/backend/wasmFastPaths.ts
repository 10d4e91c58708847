import * as tf from '@tensorflow/tfjs-core';

let installed = false;

/**
 * The WASM backend's BatchMatMul is >10x slower when an operand is transposed (measured: 128x784 by
 * 784x512 takes ~5 ms plain, ~55-120 ms with a transposed operand), and every matMul gradient asks for
 * transposed operands. This wraps the wasm kernel so that a transposed operand is materialised first
 * with the (fast) Transpose kernel and the product runs untransposed. Only the 'wasm' registration is
 * touched; other backends keep their kernels.
 */
export function installWasmFastPaths(): void {
  if (installed) return;
  const original = tf.getKernel('BatchMatMul', 'wasm');
  const transpose = tf.getKernel('Transpose', 'wasm');
  if (!original || !transpose) return;
  installed = true;
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
