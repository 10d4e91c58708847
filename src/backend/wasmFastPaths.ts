import * as tf from '@tensorflow/tfjs-core';
import { wasmConv2DBackpropFilterConfig } from './wasmConv2DBackpropFilter.js';
import { wasmConv2DBackpropInputConfig } from './wasmConv2DBackpropInput.js';
import { wasmGatherRowsConfig } from './wasmGatherRows.js';
import { wasmKernelCalls } from './wasmKernelCalls.js';

let installed = false;

/**
 * Installs merge-train's own 'wasm' kernels (the tfjs 4.22 wasm backend lacks one that training needs
 * and has slow ones): BatchMatMul without slow transposed operands, Conv2DBackpropFilter (missing:
 * no conv net could be trained) and Conv2DBackpropInput (present but ~10x slower than Conv2D). Each
 * is composed from fast wasm kernels; GatherV2 of whole rows (slow: one index per element) copies rows on the heap. Only the 'wasm' registrations are touched; tfjs-node and cpu
 * keep their kernels. Idempotent.
 */
export function installWasmFastPaths(): void {
  if (installed) return;
  installed = true;
  installFastBatchMatMul();
  replaceKernel(wasmConv2DBackpropFilterConfig());
  replaceKernel(wasmConv2DBackpropInputConfig());
  replaceKernel(wasmGatherRowsConfig());
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
 * transposed operands. This wraps the wasm kernel so that the product always runs untransposed, with
 * the (fast) Transpose kernel moving the fewest elements: either the transposed operands themselves,
 * or, using A B = (B^T A^T)^T, the other operand and the result. (dY W^T for a 512x512 weight and a
 * batch of 128 moves 2 x 65k elements instead of 262k, and a power-of-two square transpose is the
 * wasm kernel's slowest case: 2.2 ms for 512x512 against 0.33 ms for 784x512.) Only the 'wasm'
 * registration is touched; other backends keep their kernels.
 */
function installFastBatchMatMul(): void {
  const original = tf.getKernel('BatchMatMul', 'wasm');
  const kernels = wasmKernelCalls(['Transpose']);
  if (!original || !kernels) return;
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      const plainProduct = (x: tf.TensorInfo, y: tf.TensorInfo): tf.TensorInfo =>
        original.kernelFunc({ inputs: { a: x, b: y }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } }) as tf.TensorInfo;
      if (!transposeA && !transposeB) return plainProduct(a, b);
      const calls = kernels(backend);
      const swapLastTwo = (x: tf.TensorInfo): tf.TensorInfo => {
        const perm = x.shape.map((_, i) => i);
        const last = perm.length - 1;
        [perm[last - 1], perm[last]] = [perm[last]!, perm[last - 1]!];
        return calls.call('Transpose', { x }, { perm });
      };
      const matrixSize = (x: tf.TensorInfo): number => x.shape[x.shape.length - 1]! * x.shape[x.shape.length - 2]!;
      const [m, n] = [a.shape[a.shape.length - (transposeA ? 1 : 2)]!, b.shape[b.shape.length - (transposeB ? 2 : 1)]!];
      // Elements moved by each plan, per batch entry: transpose what is stored transposed, or
      // transpose the operand stored plainly plus the m x n result.
      const direct = (transposeA ? matrixSize(a) : 0) + (transposeB ? matrixSize(b) : 0);
      const swapped = (transposeA ? 0 : matrixSize(a)) + (transposeB ? 0 : matrixSize(b)) + m * n;
      const temporaries: tf.TensorInfo[] = [];
      const plain = (x: tf.TensorInfo, isTransposed: boolean, wantTransposed: boolean): tf.TensorInfo => {
        if (isTransposed === wantTransposed) return x;
        const out = swapLastTwo(x);
        temporaries.push(out);
        return out;
      };
      let result: tf.TensorInfo;
      if (direct <= swapped) {
        result = plainProduct(plain(a, transposeA, false), plain(b, transposeB, false));
      } else {
        // (A B)^T = B^T A^T: multiply the operands as stored transposed, then transpose the result.
        const resultT = plainProduct(plain(b, transposeB, true), plain(a, transposeA, true));
        result = swapLastTwo(resultT);
        temporaries.push(resultT);
      }
      for (const t of temporaries) calls.free(t);
      return result;
    },
  });
}
