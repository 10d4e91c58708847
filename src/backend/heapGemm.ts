import * as tf from '@tensorflow/tfjs-core';
import { heapOffset, type WasmHeapBackend } from './heapKernels.js';
import { heapThreads, runHeapJobs } from './heapWorkers.js';

/**
 * One float32 matrix product C = A B (+ bias, ReLU) on the wasm heap, for the gemm of
 * heapKernels.wat. Pointers are byte offsets; strides count elements, so a transposed operand is
 * only other strides: A's (i, k) element is at a + 4 (i rsA + k csA), B's (k, j) at b + 4 (k rsB + j csB).
 */
export interface HeapProduct {
  a: number;
  rsA: number;
  csA: number;
  b: number;
  rsB: number;
  csB: number;
  /** Row-major M x N output. */
  c: number;
  M: number;
  K: number;
  N: number;
  /** N floats added to every row, or 0 for none. */
  bias: number;
  relu: boolean;
}

/**
 * Scratch floats of heapKernels.wat's gemm and convFilterGrad: packed A (M rows rounded up to 4, by K
 * steps: all of K for the gemm, one block of 384 for convFilterGrad), packed B (384 steps by `columns`,
 * a multiple of 8), a 4 x 8 tile.
 */
export function gemmWorkFloats(M: number, K: number, columns: number): number {
  return Math.ceil(M / 4) * 4 * K + 384 * columns + 32;
}

/** Below this many multiply-adds a product stays on the calling thread. */
const PARALLEL_MIN_MACS = 1 << 20;
/** Each thread packs all of A: rows are taken this many floats of A at a time (4 MiB a thread). */
const PACKED_A_FLOATS = 1 << 20;

/** The gemm's arguments in heapKernels.wat's order. */
type GemmArgs = [a: number, rsA: number, csA: number, b: number, rsB: number, csB: number, c: number, ldc: number, M: number, K: number,
  N: number, chunk: number, counter: number, bias: number, relu: number, work: number];

/**
 * Computes `product` on the wasm backend's threads: the calling thread and, in the threaded build,
 * one worker per further thread. Threads claim chunks of columns as they go (about four a thread),
 * so one that starts late or runs slow takes fewer; with too few columns to share, each thread
 * takes its own rows instead. Every output is summed by one thread in the same order on any thread
 * count, so results do not depend on it.
 */
export function heapGemm(backend: WasmHeapBackend, product: HeapProduct): void {
  const { M, K, N } = product;
  // Bounded scratch: rows in groups whose A fits PACKED_A_FLOATS.
  const groupRows = Math.max(4, Math.floor(PACKED_A_FLOATS / K / 4) * 4);
  for (let first = 0; first < M; first += groupRows) {
    const rows = Math.min(groupRows, M - first);
    multiplyRows(backend, { ...product, a: product.a + 4 * first * product.rsA, c: product.c + 4 * first * N, M: rows });
  }
}

function multiplyRows(backend: WasmHeapBackend, product: HeapProduct): void {
  const { a, rsA, csA, b, rsB, csB, c, M, K, N, bias, relu } = product;
  const threads = M * K * N >= PARALLEL_MIN_MACS ? heapThreads(backend) : 1;
  const byColumns = threads === 1 || N >= 16 * threads || M < 4 * threads;
  // Each thread's rows, with a column counter shared by all (by columns) or its own (by rows).
  const shares: [number, number][] = byColumns ? Array.from({ length: threads }, () => [0, M]) : ranges(M, threads);
  const chunk = 8 * Math.ceil((byColumns ? Math.max(N / (4 * threads), 1) : N) / 8);
  const counters = backend.makeOutput([threads], 'int32');
  (backend.typedArrayFromHeap(counters) as Int32Array).fill(0);
  const work = shares.map(([first, end]) => backend.makeOutput([gemmWorkFloats(end - first, K, chunk)], 'float32'));
  const jobs = shares.map(([first, end], i): GemmArgs => {
    const counter = heapOffset(backend, counters) + 4 * (byColumns ? 0 : i);
    return [a + 4 * first * rsA, rsA, csA, b, rsB, csB, c + 4 * first * N, N, end - first, K, N, chunk, counter, bias, relu ? 1 : 0, heapOffset(backend, work[i]!)];
  });
  try {
    runHeapJobs(backend, 'gemm', jobs);
  } finally {
    for (const info of [counters, ...work]) (backend as unknown as tf.KernelBackend).disposeData(info.dataId);
  }
}

/** [start, end) of `parts` near-equal consecutive shares of `count` items. */
function ranges(count: number, parts: number): [number, number][] {
  return Array.from({ length: parts }, (_, i) => [Math.floor((i * count) / parts), Math.floor(((i + 1) * count) / parts)]);
}
