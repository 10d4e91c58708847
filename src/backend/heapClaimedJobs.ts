import type * as tf from '@tensorflow/tfjs-core';
import { heapOffset, type HeapKernels, type WasmHeapBackend } from './heapKernels.js';
import { heapThreads, runHeapJobs } from './heapWorkers.js';

/**
 * Runs a heap kernel that claims its units of work from a counter (an i32 on the heap, 0 at the
 * start) as `jobs` identical jobs (at most one a heap thread; by default all of them): every unit is
 * computed the same way whichever thread claims it, so the result does not depend on the job count.
 * `args` gets the counter's heap offset and returns the kernel's arguments.
 */
export function runClaimedJobs(
  backend: WasmHeapBackend,
  kernel: keyof HeapKernels,
  args: (counter: number) => number[],
  jobs: number = heapThreads(backend),
): void {
  const counter = backend.makeOutput([1], 'int32');
  try {
    (backend.typedArrayFromHeap(counter) as Int32Array)[0] = 0;
    const job = args(heapOffset(backend, counter));
    runHeapJobs(backend, kernel, Array.from({ length: Math.max(1, Math.min(jobs, heapThreads(backend))) }, () => job));
  } finally {
    (backend as unknown as tf.KernelBackend).disposeData(counter.dataId);
  }
}

/**
 * Below this many floats a pass stays on the calling thread: these passes stream memory, and on a
 * smaller tensor waking a worker (and waiting for it when it is descheduled) costs more than the
 * second thread saves.
 */
export const PARALLEL_MIN_FLOATS = 1 << 20;

/** The jobs for a pass over `floats` floats: all heap threads for a large one, else one (or `jobs` when given, as tests do). */
export function passJobs(backend: WasmHeapBackend, floats: number, jobs?: number): number {
  return jobs ?? (floats >= PARALLEL_MIN_FLOATS ? heapThreads(backend) : 1);
}
