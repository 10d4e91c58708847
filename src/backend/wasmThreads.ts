/**
 * Multithreaded WASM in Node.js. tfjs-backend-wasm ships a threaded SIMD binary (XNNPACK on a
 * pthreadpool) but never uses it in Node, for three reasons this module works around, each only
 * while the backend initialises:
 * 1. its WASM_HAS_MULTITHREAD_SUPPORT flag answers false whenever it runs in Node: we set it;
 * 2. it hands Emscripten its pthread worker script, and the module script for the workers, as Blob
 *    URLs, which Node's worker_threads cannot load: we write the worker script to a temporary file
 *    and point the workers at the module script the package ships;
 * 3. the C++ side sizes its thread pool as min(requested, logical cores / 2), which is 1 on a
 *    2-core machine: during initialisation `os.cpus()` reports twice the requested count.
 * Measured on 2 cores: a 1024^3 matMul at 21 GFLOP/s on one thread, 49 GFLOP/s on two.
 */
import { lstatSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { atExit, isProcessAlive } from '../util/processCleanup.js';

const require = createRequire(import.meta.url);

/** Scratch folders are named after the process that made them: `merge-train-wasm-<pid>-<random>`. */
const SCRATCH_PREFIX = 'merge-train-wasm-';

/**
 * Removes this user's scratch folders of processes that are gone (killed, so their exit clean-up
 * never ran). Best effort: a folder that cannot be removed is left for its owner.
 */
function sweepScratch(): void {
  for (const name of readdirSync(os.tmpdir())) {
    const owner = new RegExp(`^${SCRATCH_PREFIX}(\\d+)-`).exec(name)?.[1];
    if (owner === undefined || isProcessAlive(Number(owner))) continue;
    const path = join(os.tmpdir(), name);
    try {
      if (lstatSync(path).uid === process.getuid?.()) rmSync(path, { recursive: true, force: true });
    } catch {
      // another user's, or gone meanwhile
    }
  }
}

/** The Emscripten module script of the threaded build, as the package ships it (real `require`s, not bundled). */
function threadedModuleScript(): string {
  const packageJson = require.resolve('@tensorflow/tfjs-backend-wasm/package.json');
  return join(dirname(packageJson), 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js');
}

/**
 * Initialises the 'wasm' backend with `threads` compute threads (XNNPACK's pool). Must run before
 * the backend is first initialised; `threads` = 1 keeps the single-threaded binary. Returns the
 * thread count the backend reports.
 */
export async function initWasmWithThreads(threads: number): Promise<number> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (threads <= 1) {
    if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
    return 1;
  }
  sweepScratch();
  const scratch = mkdtempSync(join(os.tmpdir(), `${SCRATCH_PREFIX}${process.pid}-`));
  // Workers of the pool may start later (XNNPACK grows into it): keep their script until exit.
  atExit(() => rmSync(scratch, { recursive: true, force: true }));
  const moduleScript = threadedModuleScript();
  const blobTexts = new WeakMap<Blob, string>();
  const RealBlob = globalThis.Blob;
  const realCreateObjectURL = URL.createObjectURL;
  const realCpus = os.cpus;
  let files = 0;
  globalThis.Blob = class RecordingBlob extends RealBlob {
    constructor(...[parts, options]: ConstructorParameters<typeof Blob>) {
      super(parts, options);
      if (parts?.every((part) => typeof part === 'string')) blobTexts.set(this, parts.join(''));
    }
  };
  URL.createObjectURL = (blob: Blob): string => {
    const text = blobTexts.get(blob);
    if (text === undefined) return realCreateObjectURL(blob);
    // The worker script: before it runs, make it load the module script from its file.
    const file = join(scratch, `pthread-worker-${files++}.cjs`);
    writeFileSync(file, `URL.createObjectURL = () => ${JSON.stringify(moduleScript)};\n${text}`);
    return file;
  };
  os.cpus = () => {
    const cpus = realCpus();
    return Array.from({ length: 2 * threads }, (_, i) => cpus[i % cpus.length]!);
  };
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);
  try {
    if (!(await tf.setBackend('wasm'))) throw new Error('the threaded wasm backend failed to initialise');
  } finally {
    globalThis.Blob = RealBlob;
    URL.createObjectURL = realCreateObjectURL;
    os.cpus = realCpus;
  }
  // The pool's threads wait for work forever; unreferenced, they do not keep Node from exiting.
  const pthreads = (tf.backend() as unknown as { wasm: { PThread?: { runningWorkers: { unref(): void }[] } } }).wasm.PThread;
  for (const worker of pthreads?.runningWorkers ?? []) worker.unref();
  return wasm.getThreadsCount();
}
