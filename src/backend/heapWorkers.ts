import { Worker } from 'node:worker_threads';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { wasmApi, type WasmMemory, type WasmModule } from '../linalg/wasmApi.js';
import { heapKernelModule, heapKernels, heapMemory, type HeapKernels, type WasmHeapBackend } from './heapKernels.js';

/**
 * Threads for merge-train's heap kernels (heapKernels.wat): in the threaded wasm build, one worker
 * per wasm thread beyond the calling one, each with the kernels instantiated over the backend's
 * shared memory. A parallel kernel call hands one job (the same kernel, its own arguments) to each
 * worker, runs the first job on the calling thread and waits for the rest. The kernels divide the
 * work among themselves through atomic counters in the heap.
 */

/** Any kernel can run on the workers; the control block names it by its index in the module's exports. */
type ParallelKernel = keyof HeapKernels;
const kernelNames = (module: WasmModule): string[] => wasmApi.Module.exports(module).filter((e) => e.kind === 'function').map((e) => e.name);

/** Most arguments a parallel kernel takes. */
const MAX_ARGS = 16;
/**
 * A worker's control block (Int32Array over a SharedArrayBuffer): [job sequence number, last
 * sequence done (negative: it failed), kernel index, the kernel's arguments].
 */
const JOB = 0;
const DONE = 1;
const KERNEL = 2;
const ARGS = 3;

/** The worker: instantiates the kernels over the shared heap and runs each job it is handed. */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, control, kernels } = workerData;
const exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
const block = new Int32Array(control);
let seen = 0;
for (;;) {
  // Sleep, not spin: a spinning worker holds the core that XNNPACK's own pool threads need for the
  // backend's kernels (a diagonal Fisher ran ~40% slower with 1 ms of spinning; training no faster).
  Atomics.wait(block, ${JOB}, seen);
  seen = Atomics.load(block, ${JOB});
  let done = seen;
  try { exports[kernels[block[${KERNEL}]]](...block.subarray(${ARGS}, ${ARGS + MAX_ARGS})); } catch { done = -seen; }
  Atomics.store(block, ${DONE}, done);
  Atomics.notify(block, ${DONE});
}
`;

interface HeapWorker {
  control: Int32Array;
  sequence: number;
}

const pools = new WeakMap<object, HeapWorker[]>();

/** The workers computing beside the calling thread for `backend` (none unless its memory is shared). */
function workers(backend: WasmHeapBackend): HeapWorker[] {
  let pool = pools.get(backend);
  if (!pool) {
    const { memory, shared } = heapMemory(backend);
    pool = shared ? Array.from({ length: Math.max(getThreadsCount() - 1, 0) }, () => startWorker(heapKernelModule(true), memory)) : [];
    pools.set(backend, pool);
  }
  return pool;
}

function startWorker(module: WasmModule, memory: WasmMemory): HeapWorker {
  const control = new SharedArrayBuffer(4 * (ARGS + MAX_ARGS));
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory, control, kernels: kernelNames(module) } });
  // Waiting for jobs forever: unreferenced, it does not keep Node from exiting.
  worker.unref();
  return { control: new Int32Array(control), sequence: 0 };
}

/** Threads a parallel kernel call can use on `backend`: the calling one and its workers. */
export function heapThreads(backend: WasmHeapBackend): number {
  return workers(backend).length + 1;
}

/**
 * Runs `kernel` once per job, jobs[0] on the calling thread and the others on the workers (at most
 * heapThreads(backend) jobs), and returns when all are done; throws if one failed (a heap access
 * out of range). Waits for the workers even when jobs[0] fails: they write to its heap.
 */
export function runHeapJobs(backend: WasmHeapBackend, kernel: ParallelKernel, jobs: readonly (readonly number[])[]): void {
  const pool = workers(backend);
  if (jobs.length > pool.length + 1) throw new Error(`${jobs.length} jobs for ${pool.length + 1} threads`);
  const handed = jobs.slice(1).map((job, i) => {
    const worker = pool[i]!;
    worker.control[KERNEL] = kernelNames(heapKernelModule(true)).indexOf(kernel);
    worker.control.set(job, ARGS);
    worker.sequence++;
    Atomics.store(worker.control, JOB, worker.sequence);
    Atomics.notify(worker.control, JOB);
    return worker;
  });
  try {
    if (jobs[0]) (heapKernels(backend)[kernel] as (...args: number[]) => void)(...jobs[0]);
  } finally {
    for (const worker of handed) {
      let done = Atomics.load(worker.control, DONE);
      while (Math.abs(done) !== worker.sequence) {
        Atomics.wait(worker.control, DONE, done);
        done = Atomics.load(worker.control, DONE);
      }
      if (done < 0) throw new Error(`a ${kernel} worker failed (heap access out of range)`);
    }
  }
}
