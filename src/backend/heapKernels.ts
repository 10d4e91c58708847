import * as tf from '@tensorflow/tfjs-core';
import v8 from 'node:v8';
import { wasmApi, type WasmMemory, type WasmModule } from '../linalg/wasmApi.js';
import {
  HEAP_KERNELS_BASE64,
  HEAP_KERNELS_RELAXED_BASE64,
  HEAP_KERNELS_SHARED_BASE64,
  HEAP_KERNELS_SHARED_RELAXED_BASE64,
} from './heapKernelsBinary.js';

/**
 * merge-train's float32 kernels that run inside tfjs-backend-wasm's own memory, on its tensors'
 * bytes, with 128-bit SIMD where it pays (heapKernels/*.wat, assembled by `npm run assemble-kernels`).
 * The backend's C++ kernels for these operations are generic loops (or, for products, XNNPACK
 * repacking its operands); these replace them in the kernels that use them (the wasm*.ts files that
 * wasmFastPaths.ts installs). Pointers are byte offsets into the heap.
 */
export interface HeapKernels {
  /** dst = src^T for a row-major rows x cols matrix of 4-byte elements. */
  transpose(src: number, dst: number, rows: number, cols: number): void;
  /** dst[j] = (sum over i of src[i][j]) / divisor, for a row-major rows x cols float32 matrix. */
  sumColumns(src: number, dst: number, rows: number, cols: number, divisor: number): void;
  /** Column sums of `parts` fixed ranges of rows into partials [parts, cols], parts claimed from the i32 at `counter`: see wasmSumColumns.ts. */
  sumColumnParts(src: number, partials: number, rows: number, cols: number, parts: number, counter: number): void;
  /** Max-pool gradient over NHWC float32 tensors x, dy into dx (see heapKernels.wat). */
  maxPoolGrad(
    x: number, dy: number, dx: number, batch: number, inH: number, inW: number, channels: number, outH: number, outW: number,
    filterH: number, filterW: number, strideH: number, strideW: number, padTop: number, padLeft: number,
  ): void;
  /** The same for 2x2 windows of stride 2 wholly inside the input, channels a multiple of 4 (SIMD); output rows (units = batch outH) claimed `chunk` at a time from the i32 at `counter`. */
  maxPoolGrad2x2(x: number, dy: number, dx: number, inH: number, inW: number, channels: number, outH: number, outW: number, units: number, chunk: number, counter: number): void;
  /** Max pool over 2x2 windows of stride 2 wholly inside the input, channels a multiple of 4 (SIMD); output rows claimed as in maxPoolGrad2x2. */
  maxPool2x2(x: number, y: number, inH: number, inW: number, channels: number, outH: number, outW: number, units: number, chunk: number, counter: number): void;
  /** out[b, m, c] = x[b, m, c] op v[b, c] (op as in rowVectorOp), outer indices b claimed `chunk` at a time from the i32 at `counter`. */
  broadcastMiddleOp(x: number, v: number, out: number, outer: number, middle: number, inner: number, op: number, chunk: number, counter: number): void;
  /** Writes the phases of a strided convolution's input gradient into dx, rows claimed from the i32 at `counter`: see wasmConv2DBackpropInput.ts. */
  interleavePhases(dx: number, desc: number, counter: number): void;
  /** acc' = momentum * acc + grad; value' = value + negRate * acc', elementwise over n floats. */
  momentum(value: number, acc: number, grad: number, outValue: number, outAcc: number, n: number, momentum: number, negRate: number): void;
  /** One Adam step over n floats: m', v' and value' from value, m, v, grad, as src/train/adam.ts's tf ops compute them. */
  adam(
    value: number, m: number, v: number, grad: number, outValue: number, outM: number, outV: number, n: number,
    beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number, rate: number, epsilon: number,
  ): void;
  /** out = a + w * d over n floats (learned alpha's merge). */
  weightedAdd(a: number, w: number, d: number, out: number, n: number): void;
  /** out = (dy * d) * (s * (1 - s)) over n floats (the gradient of a sigmoid-weighted merge's logit). */
  sigmoidMergeGrad(dy: number, d: number, s: number, out: number, n: number): void;
  /** out = max(x, 0) over n floats. */
  relu(x: number, out: number, n: number): void;
  /** out = x op v, v broadcast over the rows of a row-major rows x cols float32 matrix x; op 0: x + v, 1: x - v, 2: v - x, 3: x * v. */
  rowVectorOp(x: number, v: number, out: number, rows: number, cols: number, op: number): void;
  /** C = A B (+ bias, ReLU), columns claimed `chunk` at a time from the i32 at `counter`: see heapGemm.ts. */
  gemm(
    a: number, rsA: number, csA: number, b: number, rsB: number, csB: number, c: number, ldc: number, M: number, K: number,
    N: number, chunk: number, counter: number, bias: number, relu: number, work: number,
  ): void;
  /** Per row part q, float64 partials[q] = [column means, column sums of squared deviations] of x: see wasmBatchNorm.ts. */
  batchNormStats(x: number, rows: number, cols: number, blockRows: number, parts: number, counter: number, partials: number, work: number): void;
  /** Per row part q, float64 partials[q] = [column sums of g, of g (x - mean)], g = dy (ReLU-masked when relu): see wasmBatchNorm.ts. */
  batchNormGradSums(
    x: number, dy: number, mean: number, scale: number, beta: number, relu: number, rows: number, cols: number, parts: number, counter: number,
    partials: number, work: number,
  ): void;
  /** y = (x - mean) scale + beta per column (then ReLU when relu), over the row parts claimed: see wasmBatchNorm.ts. */
  batchNormApply(x: number, mean: number, scale: number, beta: number, y: number, rows: number, cols: number, relu: number, parts: number, counter: number): void;
  /** dx = scale (g - a - (x - mean) b) per column, g as in batchNormGradSums, over the row parts claimed: see wasmBatchNorm.ts. */
  batchNormGradApply(
    x: number, dy: number, mean: number, scale: number, beta: number, relu: number, a: number, b: number, dx: number, rows: number, cols: number,
    parts: number, counter: number,
  ): void;
  /** Parts of the convolution filter gradient as a GEMM, claimed from the i32 at `counter`: see wasmConv2DBackpropFilter.ts. */
  convFilterGrad(x: number, dy: number, partials: number, desc: number, parts: number, counter: number, work: number): void;
  /** A convolution (+ bias, ReLU) as an implicit gemm, positions claimed `chunk` at a time from the i32 at `counter`: see wasmConv2D.ts. */
  convForward(x: number, w: number, bias: number, y: number, desc: number, relu: number, chunk: number, counter: number, work: number): void;
}

/** The parts of BackendWasm these kernels use (public members of the backend and its module). */
export interface WasmHeapBackend {
  readSync(dataId: tf.DataId): ArrayLike<number>;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } | undefined };
  wasm: { wasmMemory?: WasmMemory; asm?: { memory?: WasmMemory } };
}

const compiled = new Map<boolean, WasmModule>();
const instances = new WeakMap<object, HeapKernels>();

/** Set to 0 to run the kernels without relaxed SIMD where the engine has it (to compare the two). */
export const RELAXED_SIMD_VARIABLE = 'MERGE_TRAIN_RELAXED_SIMD';

let relaxed: boolean | undefined;

/**
 * Whether the kernels use relaxed SIMD's fused multiply-add (the GEMM's inner tile), decided once:
 * where the engine validates the relaxed variant, after switching on the flag Node 20's V8 keeps it
 * behind (newer engines have it by default), unless {@link RELAXED_SIMD_VARIABLE} is 0.
 */
export function heapKernelsRelaxed(): boolean {
  if (relaxed === undefined) {
    const bytes = Buffer.from(HEAP_KERNELS_RELAXED_BASE64, 'base64');
    const wanted = process.env[RELAXED_SIMD_VARIABLE] !== '0';
    if (wanted && !wasmApi.validate(bytes)) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
    relaxed = wanted && wasmApi.validate(bytes);
  }
  return relaxed;
}

/** The kernels' compiled module, importing a shared memory or not (relaxed SIMD where {@link heapKernelsRelaxed}). */
export function heapKernelModule(shared: boolean): WasmModule {
  let module = compiled.get(shared);
  if (!module) {
    const fused = heapKernelsRelaxed();
    const base64 = shared ? (fused ? HEAP_KERNELS_SHARED_RELAXED_BASE64 : HEAP_KERNELS_SHARED_BASE64) : fused ? HEAP_KERNELS_RELAXED_BASE64 : HEAP_KERNELS_BASE64;
    module = new wasmApi.Module(Uint8Array.from(Buffer.from(base64, 'base64')));
    compiled.set(shared, module);
  }
  return module;
}

/** `backend`'s memory, and whether it is shared (the threaded build shares it with its workers). */
export function heapMemory(backend: WasmHeapBackend): { memory: WasmMemory; shared: boolean } {
  // The threaded build exposes its memory as wasmMemory; the single-threaded one exports it.
  const memory = backend.wasm.wasmMemory ?? backend.wasm.asm?.memory;
  if (!memory) throw new Error('the wasm backend exposes no memory');
  return { memory, shared: typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer };
}

/** The kernels over `backend`'s memory (instantiated once per backend). */
export function heapKernels(backend: WasmHeapBackend): HeapKernels {
  let kernels = instances.get(backend);
  if (!kernels) {
    const { memory, shared } = heapMemory(backend);
    kernels = new wasmApi.Instance(heapKernelModule(shared), { env: { memory } }).exports as unknown as HeapKernels;
    instances.set(backend, kernels);
  }
  return kernels;
}

/** Byte offset of a tensor's data on the heap. */
export function heapOffset(backend: WasmHeapBackend, info: tf.TensorInfo): number {
  const data = backend.dataIdMap.get(info.dataId);
  if (!data) throw new Error('tensor data is not on the wasm heap');
  return data.memoryOffset;
}
