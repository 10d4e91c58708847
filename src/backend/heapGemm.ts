import { Worker } from 'node:worker_threads';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import type { WasmMemory, WasmModule } from '../linalg/wasmApi.js';
import { heapKernelModule, heapKernels, heapMemory, type WasmHeapBackend } from './heapKernels.js';

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

/** Scratch floats the gemm needs for `width` columns: packed A (128 x 384), packed B (384 x width rounded up to 8), a 4 x 8 tile. */
export function gemmWorkFloats(width: number): number {
  return 128 * 384 + 384 * Math.ceil(width / 8) * 8 + 32;
}

/** Below this many multiply-adds a product stays on the calling thread: waking a worker costs ~20-50 µs. */
const PARALLEL_MIN_MACS = 1 << 20;

/** The gemm's arguments in heapKernels.wat's order. */
type GemmArgs = [a: number, rsA: number, csA: number, b: number, rsB: number, csB: number, c: number, ldc: number, M: number, K: number,
  n0: number, n1: number, bias: number, relu: number, work: number];

/**
 * Computes `product` on the wasm backend's threads: the calling thread and, in the threaded build,
 * one worker per further thread, each with its own share of the columns (or rows, when there are
 * few columns) and its own scratch on the heap. Every output is summed in the same order on any
 * thread count, so results do not depend on it.
 */
export function heapGemm(backend: WasmHeapBackend, product: HeapProduct): void {
  const { M, K, N } = product;
  const threads = M * K * N >= PARALLEL_MIN_MACS ? gemmPool(backend).length + 1 : 1;
  // Whole panels of 8 columns per thread when there are enough of them, else rows.
  const byColumns = N >= 16 * threads || M < 4 * threads;
  const parts = byColumns ? ranges(Math.ceil(N / 8), threads).map(([s, e]) => [8 * s, Math.min(8 * e, N)] as const) : ranges(M, threads);
  const work = parts.map(([s, e]) => backend.makeOutput([gemmWorkFloats(byColumns ? e - s : N)], 'float32'));
  const at = (info: tf.TensorInfo) => backend.dataIdMap.get(info.dataId)!.memoryOffset;
  const jobs = parts.map(([start, end], i): GemmArgs => {
    const { a, rsA, csA, b, rsB, csB, c, bias, relu } = product;
    return byColumns
      ? [a, rsA, csA, b, rsB, csB, c, N, M, K, start, end, bias, relu ? 1 : 0, at(work[i]!)]
      : [a + 4 * start * rsA, rsA, csA, b, rsB, csB, c + 4 * start * N, N, end - start, K, 0, N, bias, relu ? 1 : 0, at(work[i]!)];
  });
  try {
    runJobs(backend, jobs.filter((job) => job[8] > 0 && job[11] > job[10]));
  } finally {
    for (const w of work) (backend as unknown as tf.KernelBackend).disposeData(w.dataId);
  }
}

/** [start, end) of `parts` near-equal consecutive shares of `count` items. */
function ranges(count: number, parts: number): [number, number][] {
  return Array.from({ length: parts }, (_, i) => [Math.floor((i * count) / parts), Math.floor(((i + 1) * count) / parts)]);
}

/**
 * A worker's control block (Int32Array over a SharedArrayBuffer): [job sequence number (negative:
 * stop), last sequence done (negative: it failed), the gemm's arguments].
 */
const JOB = 0;
const DONE = 1;
const ARGS = 2;

/** How long a worker spins for its next job before it sleeps. */
const SPIN_MS = 1;

/** The worker: instantiates the kernels over the shared heap and runs each job it is handed. */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, control } = workerData;
const gemm = new WebAssembly.Instance(module, { env: { memory } }).exports.gemm;
const block = new Int32Array(control);
let seen = 0;
for (;;) {
  // Spin a little before sleeping: a training step's products come ~1-3 ms apart, and waking a
  // sleeping thread costs ~0.1-0.4 ms on a virtual machine.
  const until = performance.now() + ${SPIN_MS};
  while (Atomics.load(block, ${JOB}) === seen && performance.now() < until);
  Atomics.wait(block, ${JOB}, seen);
  seen = Atomics.load(block, ${JOB});
  if (seen < 0) break;
  let done = seen;
  try { gemm(...block.subarray(${ARGS}, ${ARGS + 15})); } catch { done = -seen; }
  Atomics.store(block, ${DONE}, done);
  Atomics.notify(block, ${DONE});
}
`;

interface GemmWorker {
  control: Int32Array;
  sequence: number;
}

const pools = new WeakMap<object, GemmWorker[]>();

/** The workers computing beside the calling thread for `backend` (none unless its memory is shared). */
function gemmPool(backend: WasmHeapBackend): GemmWorker[] {
  let pool = pools.get(backend);
  if (!pool) {
    const { memory, shared } = heapMemory(backend);
    pool = shared ? Array.from({ length: Math.max(getThreadsCount() - 1, 0) }, () => startWorker(heapKernelModule(true), memory)) : [];
    pools.set(backend, pool);
  }
  return pool;
}

function startWorker(module: WasmModule, memory: WasmMemory): GemmWorker {
  const control = new SharedArrayBuffer(4 * (ARGS + 15));
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory, control } });
  // Waiting for jobs forever: unreferenced, it does not keep Node from exiting.
  worker.unref();
  return { control: new Int32Array(control), sequence: 0 };
}

/** Hands jobs[1..] to the workers, runs jobs[0] here, then waits for the workers (even when jobs[0] failed: they write to its heap). */
function runJobs(backend: WasmHeapBackend, jobs: GemmArgs[]): void {
  const pool = gemmPool(backend);
  const handed = jobs.slice(1).map((job, i) => {
    const worker = pool[i]!;
    worker.control.set(job, ARGS);
    worker.sequence++;
    Atomics.store(worker.control, JOB, worker.sequence);
    Atomics.notify(worker.control, JOB);
    return worker;
  });
  try {
    if (jobs[0]) heapKernels(backend).gemm(...jobs[0]);
  } finally {
    // The workers compute shares of the same size: spin a little rather than pay a wake-up.
    const spinUntil = performance.now() + 2 * SPIN_MS;
    for (const worker of handed) {
      let done = Atomics.load(worker.control, DONE);
      while (Math.abs(done) !== worker.sequence) {
        if (performance.now() >= spinUntil) Atomics.wait(worker.control, DONE, done);
        done = Atomics.load(worker.control, DONE);
      }
      if (done < 0) throw new Error('a gemm worker failed (heap access out of range)');
    }
  }
}
