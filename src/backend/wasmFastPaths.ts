import * as tf from '@tensorflow/tfjs-core';
import { wasmConv2DBackpropFilterConfig } from './wasmConv2DBackpropFilter.js';
import { wasmConv2DBackpropInputConfig } from './wasmConv2DBackpropInput.js';
import { wasmGatherRowsConfig } from './wasmGatherRows.js';
import { wasmKernelCalls } from './wasmKernelCalls.js';
import { wasmMaxPoolGradConfig } from './wasmMaxPoolGrad.js';
import { wasmMomentumConfig } from './wasmMomentum.js';
import { wasmSumColumnsConfig } from './wasmSumColumns.js';
import { wasmTransposeConfig } from './wasmTranspose.js';

let installed = false;

/**
 * Installs merge-train's own 'wasm' kernels (the tfjs 4.22 wasm backend lacks one that training needs
 * and has slow ones): BatchMatMul without slow transposed operands, Conv2DBackpropFilter (missing:
 * no conv net could be trained) and Conv2DBackpropInput (present but ~10x slower than Conv2D), each
 * composed from fast wasm kernels; GatherV2 of whole rows (slow: one index per element) as row
 * copies on the heap; and, as kernels in the backend's own memory (heapKernels.wat), Transpose of
 * the last two axes, Sum and Mean over leading axes, the max-pool gradient, and the SGD momentum
 * step. Only the 'wasm' registrations are touched; tfjs-node and cpu keep their kernels. Idempotent.
 */
export function installWasmFastPaths(): void {
  if (installed) return;
  installed = true;
  installFastBatchMatMul();
  replaceKernel(wasmConv2DBackpropFilterConfig());
  replaceKernel(wasmConv2DBackpropInputConfig());
  replaceKernel(wasmGatherRowsConfig());
  replaceKernel(wasmTransposeConfig());
  replaceKernel(wasmSumColumnsConfig('Sum'));
  replaceKernel(wasmSumColumnsConfig('Mean'));
  replaceKernel(wasmMaxPoolGradConfig());
  replaceKernel(wasmMomentumConfig());
}

/** Registers `config`, in place of the backend's own kernel of that name if there is one. */
function replaceKernel(config: tf.KernelConfig | undefined): void {
  if (!config) return; // a kernel it is composed from is missing: keep what the backend has
  if (tf.getKernel(config.kernelName, config.backendName)) tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}

/** Relative costs per element, measured on the wasm backend (2 threads, float32). */
const cost = {
  /**
   * XNNPACK packs a product's right-hand operand before multiplying, ~5-12 ns per element, and
   * tfjs-backend-wasm keeps the packed copy only while that tensor lives: weights that change at
   * every training step are packed anew each time (128x784 by 784x512: 7.7 ms, against 2.5 ms when
   * the same right-hand tensor comes back).
   */
  pack: 10,
  /** wasmTranspose: ~0.3-0.6 ns per element (512x512: 0.15 ms). */
  transpose: 1,
};

const transposeCost = (rows: number, cols: number): number => rows * cols * cost.transpose;

/**
 * BatchMatMul for the 'wasm' backend. Its own kernel is >10x slower when an operand is transposed
 * (128x784 by 784x512: ~5 ms plain, 55-120 ms with a transposed operand), and every matMul gradient
 * asks for transposed operands; and it packs its right-hand operand anew for every new tensor.
 * This kernel always runs the backend's product untransposed, choosing the cheaper of two plans by
 * the costs above: A B as stored (transposing what is stored transposed, packing B), or
 * (B^T A^T)^T (transposing what is stored plainly and the result, packing A^T: cheaper when A is
 * the smaller matrix, as a batch of 128 is against a layer's weights). A right-hand tensor already
 * packed costs nothing to pack again. Only the 'wasm' registration is touched.
 */
function installFastBatchMatMul(): void {
  const original = tf.getKernel('BatchMatMul', 'wasm');
  const kernels = wasmKernelCalls(['Transpose']);
  if (!original || !kernels) return;
  // Right-hand operands the backend has packed (and keeps packed while they live).
  const packed = new WeakSet<object>();
  tf.unregisterKernel('BatchMatMul', 'wasm');
  tf.registerKernel({
    kernelName: 'BatchMatMul',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      const plainProduct = (x: tf.TensorInfo, y: tf.TensorInfo): tf.TensorInfo =>
        original.kernelFunc({ inputs: { a: x, b: y }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } }) as tf.TensorInfo;
      const last = (x: tf.TensorInfo, i: number) => x.shape[x.shape.length - i]!;
      const [m, k, n] = [transposeA ? last(a, 1) : last(a, 2), transposeA ? last(a, 2) : last(a, 1), transposeB ? last(b, 2) : last(b, 1)];
      const direct =
        (transposeA ? transposeCost(k, m) : 0) + (transposeB ? transposeCost(n, k) : 0) + (!transposeB && packed.has(b.dataId) ? 0 : cost.pack * k * n);
      const swapped = (transposeA ? 0 : transposeCost(m, k)) + (transposeB ? 0 : transposeCost(k, n)) + transposeCost(n, m) + cost.pack * k * m;
      if (!transposeA && !transposeB && direct <= swapped) {
        packed.add(b.dataId);
        return plainProduct(a, b);
      }
      const calls = kernels(backend);
      const swapLastTwo = (x: tf.TensorInfo): tf.TensorInfo => {
        const perm = x.shape.map((_, i) => i);
        const end = perm.length - 1;
        [perm[end - 1], perm[end]] = [perm[end]!, perm[end - 1]!];
        return calls.call('Transpose', { x }, { perm });
      };
      const temporaries: tf.TensorInfo[] = [];
      const plain = (x: tf.TensorInfo, isTransposed: boolean, wantTransposed: boolean): tf.TensorInfo => {
        if (isTransposed === wantTransposed) return x;
        const out = swapLastTwo(x);
        temporaries.push(out);
        return out;
      };
      let result: tf.TensorInfo;
      if (direct <= swapped) {
        const right = plain(b, transposeB, false);
        if (right === b) packed.add(b.dataId);
        result = plainProduct(plain(a, transposeA, false), right);
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
