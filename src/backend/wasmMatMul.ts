import * as tf from '@tensorflow/tfjs-core';
import { heapGemm } from './heapGemm.js';
import { heapOffset, type WasmHeapBackend } from './heapKernels.js';
import { wasmKernelOverride } from './wasmKernelOverride.js';

/**
 * tf.env() flag: BatchMatMul and _FusedMatMul on 'wasm' run merge-train's gemm (default true); false
 * restores the backend's own XNNPACK kernels, for comparison (`npm run bench` measures both ceilings).
 */
export const WASM_GEMM_FLAG = 'MERGE_TRAIN_WASM_GEMM';

let flagRegistered = false;

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
  activation?: string;
}

/**
 * BatchMatMul and _FusedMatMul for 'wasm' through heapGemm, in place of the backend's XNNPACK
 * kernels, which training finds slow in two ways: XNNPACK packs the right-hand operand anew for
 * every new tensor (in training, every step), and tfjs-backend-wasm runs a product with a transposed
 * operand >10x slower (every matMul gradient has one). The gemm reads transposed operands through
 * their strides while packing, and packs cache-sized blocks as it goes. Measured single-threaded,
 * 128x784 by a new 784x512: 3.2 ms against XNNPACK's 7.5 ms. Every product goes one way, whatever
 * was multiplied before, so results never depend on history (a run resumed from a checkpoint
 * computes what the uninterrupted run did, bit for bit). Float32 only; other dtypes, batch shapes
 * that broadcast beyond one side being 1, and fused activations other than ReLU keep the backend's
 * kernel. Returns nothing when the backend lacks a kernel to fall back on.
 */
export function wasmMatMulConfigs(): tf.KernelConfig[] {
  const env = tf.env();
  if (!flagRegistered) env.registerFlag(WASM_GEMM_FLAG, () => true);
  flagRegistered = true;
  return (['BatchMatMul', '_FusedMatMul'] as const).flatMap(
    (kernelName) =>
      wasmKernelOverride(kernelName, (args, backend) => {
        const { a, b, bias, preluActivationWeights } = args.inputs as Record<'a' | 'b' | 'bias' | 'preluActivationWeights', tf.TensorInfo | undefined>;
        const attrs = args.attrs as unknown as MatMulAttrs;
        const activation = attrs.activation ?? 'linear';
        const plan = planProduct(a!, b!, attrs);
        const supported =
          env.getBool(WASM_GEMM_FLAG) &&
          plan !== undefined &&
          a!.dtype === 'float32' &&
          b!.dtype === 'float32' &&
          (activation === 'linear' || activation === 'relu') &&
          !preluActivationWeights &&
          (!bias || (bias.dtype === 'float32' && tf.util.sizeFromShape(bias.shape) === plan.N && bias.shape.length <= 2));
        return supported ? multiply(backend, a!, b!, plan, bias, activation === 'relu') : undefined;
      }) ?? [],
  );
}

interface ProductPlan {
  M: number;
  K: number;
  N: number;
  transposeA: boolean;
  transposeB: boolean;
  /** Matrices in A and in B (one of them 1, or both equal), and in the output. */
  batchA: number;
  batchB: number;
  outShape: number[];
}

/** Sizes of a batched product, or undefined when its batch dimensions broadcast other than one side being 1, or a size is 0. */
function planProduct(a: tf.TensorInfo, b: tf.TensorInfo, { transposeA, transposeB }: MatMulAttrs): ProductPlan | undefined {
  const [ra, rb] = [a.shape.length, b.shape.length];
  const [M, K] = transposeA ? [a.shape[ra - 1]!, a.shape[ra - 2]!] : [a.shape[ra - 2]!, a.shape[ra - 1]!];
  const N = transposeB ? b.shape[rb - 2]! : b.shape[rb - 1]!;
  const [leadA, leadB] = [a.shape.slice(0, -2), b.shape.slice(0, -2)];
  const [batchA, batchB] = [tf.util.sizeFromShape(leadA), tf.util.sizeFromShape(leadB)];
  if (M * K * N === 0 || (batchA > 1 && batchB > 1 && !tf.util.arraysEqual(leadA, leadB))) return undefined;
  const lead = tf.backend_util.assertAndGetBroadcastShape(leadA, leadB);
  return { M, K, N, transposeA, transposeB, batchA, batchB, outShape: [...lead, M, N] };
}

/** The product, matrix by matrix, into a new output tensor. */
function multiply(backend: WasmHeapBackend, a: tf.TensorInfo, b: tf.TensorInfo, plan: ProductPlan, bias: tf.TensorInfo | undefined, relu: boolean): tf.TensorInfo {
  const { M, K, N, transposeA, transposeB, batchA, batchB, outShape } = plan;
  const out = backend.makeOutput(outShape, 'float32');
  const [aAt, bAt, cAt, biasAt] = [heapOffset(backend, a), heapOffset(backend, b), heapOffset(backend, out), bias ? heapOffset(backend, bias) : 0];
  const [rsA, csA] = transposeA ? [1, M] : [K, 1];
  const [rsB, csB] = transposeB ? [1, K] : [N, 1];
  const batch = Math.max(batchA, batchB);
  for (let i = 0; i < batch; i++) {
    heapGemm(backend, {
      a: aAt + (batchA === 1 ? 0 : 4 * i * M * K),
      rsA,
      csA,
      b: bAt + (batchB === 1 ? 0 : 4 * i * K * N),
      rsB,
      csB,
      c: cAt + 4 * i * M * N,
      M,
      K,
      N,
      bias: biasAt,
      relu,
    });
  }
  return out;
}
