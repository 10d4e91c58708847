import { Worker } from 'node:worker_threads';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import type { WasmMemory, WasmModule } from '../linalg/wasmApi.js';
import { heapKernelModule, heapKernels, heapMemory, heapOffset, type WasmHeapBackend } from './heapKernels.js';

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

/** Scratch floats the gemm needs: packed A (M rounded up to 4, by K), packed B (384 x chunk), a 4 x 8 tile. */
export function gemmWorkFloats(M: number, K: number, chunk: number): number {
  return Math.ceil(M / 4) * 4 * K + 384 * chunk + 32;
}

/** Below this many multiply-adds a product stays on the calling thread: waking a worker costs ~20-50 µs. */
const PARALLEL_MIN_MACS = 1 << 20;
/** Each thread packs all of A: rows are taken this many floats of A at a time (4 MiB a thread). */
const PACKED_A_FLOATS = 1 << 20;

/** The gemm's arguments in heapKernels.wat's order. */
type GemmArgs = [a: number, rsA: number, csA: number, b: number, rsB: number, csB: number, c: number, ldc: number, M: number, K: number,
  N: number, chunk: number, counter: number, bias: number, relu: number, work: number];
const ARG_COUNT = 16;

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
  const threads = M * K * N >= PARALLEL_MIN_MACS ? gemmPool(backend).length + 1 : 1;
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
    runJobs(backend, jobs);
  } finally {
    for (const info of [counters, ...work]) (backend as unknown as tf.KernelBackend).disposeData(info.dataId);
  }
}

/** [start, end) of `parts` near-equal consecutive shares of `count` items. */
function ranges(count: number, parts: number): [number, number][] {
  return Array.from({ length: parts }, (_, i) => [Math.floor((i * count) / parts), Math.floor(((i + 1) * count) / parts)]);
}

/**
 * A worker's control block (Int32Array over a SharedArrayBuffer): [job sequence number, last
 * sequence done (negative: it failed), the gemm's arguments].
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
  // Spin a little before sleeping: a training step's products come ~1-3 ms apart, and a sleeping
  // worker started on its share ~0.15 ms late (measured), a spinning one ~0.05 ms.
  const until = performance.now() + ${SPIN_MS};
  while (Atomics.load(block, ${JOB}) === seen && performance.now() < until);
  Atomics.wait(block, ${JOB}, seen);
  seen = Atomics.load(block, ${JOB});
  let done = seen;
  try { gemm(...block.subarray(${ARGS}, ${ARGS + ARG_COUNT})); } catch { done = -seen; }
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
  const control = new SharedArrayBuffer(4 * (ARGS + ARG_COUNT));
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
    // The workers finish about when this thread does: spin a little rather than pay a wake-up.
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
