import * as tf from '@tensorflow/tfjs-core';
// Gradient functions ship only in the union package's bundle; importing it registers them for every backend.
import '@tensorflow/tfjs';
import { InputError } from '../util/errors.js';
import { parallelism } from '../util/parallelism.js';
import { WASM_KERNELS_SWITCH, wasmContractBreaches, wasmKernelsRefused } from './wasmContract.js';
import { heapKernelsRelaxed } from './heapKernels.js';
import { installWasmFastPaths } from './wasmFastPaths.js';
import { initWasmWithThreads } from './wasmThreads.js';

/** Backends merge-train can run on, best first for `auto`. */
export const backendNames = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
/** A backend's name as `--backend` and `selectBackend` take it. */
export type BackendName = (typeof backendNames)[number];

/** The npm package that provides each backend; the tensorflow ones are optional installs by the user. */
const backendPackages: Record<Exclude<BackendName, 'auto'>, { pkg: string; tfName: string }> = {
  'tensorflow-gpu': { pkg: '@tensorflow/tfjs-node-gpu', tfName: 'tensorflow' },
  tensorflow: { pkg: '@tensorflow/tfjs-node', tfName: 'tensorflow' },
  wasm: { pkg: '@tensorflow/tfjs-backend-wasm', tfName: 'wasm' },
  cpu: { pkg: '@tensorflow/tfjs-backend-cpu', tfName: 'cpu' },
};

/** How {@link selectBackend} sets a backend up. */
export interface BackendOptions {
  /**
   * Compute threads of the wasm backend (the tensorflow backends manage their own). Default: the
   * MERGE_TRAIN_THREADS environment variable, else one per core. Fixed when the backend first
   * initialises in a process.
   */
  threads?: number;
}

/** The wasm thread count: the option, else MERGE_TRAIN_THREADS, else one per core. */
export function wasmThreadCount(options: BackendOptions = {}): number {
  return parallelism('threads', options.threads, 'MERGE_TRAIN_THREADS');
}

async function tryBackend(name: Exclude<BackendName, 'auto'>, options: BackendOptions): Promise<boolean> {
  const { pkg, tfName } = backendPackages[name];
  try {
    await import(pkg);
  } catch {
    return false; // not installed (tfjs-node*) or failed to load its native library
  }
  // The wasm backend's threads and merge-train's kernels use its internals: only where they fit.
  const refused = tfName === 'wasm' ? wasmKernelsRefused() : undefined;
  try {
    if (tfName === 'wasm' && !refused && !tf.engine().registry.wasm) {
      await initWasmWithThreads(wasmThreadCount(options));
    } else if (!(await tf.setBackend(tfName))) {
      return false;
    }
    await tf.ready();
  } catch (error) {
    if (error instanceof InputError) throw error;
    return false;
  }
  if (tfName === 'wasm') startWasmKernels(refused);
  return true;
}

/** Why merge-train's wasm kernels are off in this process, if they are (warned of once). */
let wasmKernelsOff: string | undefined;

/** Installs merge-train's wasm kernels unless `refused` or the live backend breaks their contract. */
function startWasmKernels(refused: string | undefined): void {
  const breaches = refused ? [] : wasmContractBreaches(tf.backend());
  const reason = refused ?? (breaches.length ? `the wasm backend's internals changed (${breaches.join('; ')})` : undefined);
  if (reason === undefined) {
    installWasmFastPaths();
    return;
  }
  if (wasmKernelsOff === undefined && process.env[WASM_KERNELS_SWITCH] !== 'off') {
    console.error(`merge-train: warning: running on the stock wasm backend, one thread, without merge-train's kernels: ${reason}`);
  }
  wasmKernelsOff = reason;
}

/** Whether merge-train's own wasm kernels and threads run, or why not (for the record of a run). */
export function wasmKernelsState(): string {
  return wasmKernelsOff === undefined ? `on${heapKernelsRelaxed() ? ', relaxed SIMD' : ''}` : `off (${wasmKernelsOff})`;
}

/**
 * Selects the TensorFlow.js backend. `auto` prefers tfjs-node-gpu, then tfjs-node (when the user has
 * installed them), then the embedded WASM backend, then the pure-JS cpu backend.
 * The wasm backend computes on `options.threads` threads (see {@link wasmThreadCount}).
 * Returns the name tfjs reports (`tensorflow`, `wasm` or `cpu`).
 */
export async function selectBackend(requested: BackendName = 'auto', options: BackendOptions = {}): Promise<string> {
  // Production mode: no debug checks, and no multi-line advice banner on stderr for the cpu backend.
  tf.env().set('PROD', true);
  const candidates: Exclude<BackendName, 'auto'>[] =
    requested === 'auto' ? ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] : [requested];
  for (const name of candidates) {
    if (await tryBackend(name, options)) return tf.getBackend();
  }
  throw new InputError(
    requested === 'auto'
      ? 'no TensorFlow.js backend could be loaded; reinstall with `npm ci`'
      : `backend "${requested}" could not be loaded; install ${backendPackages[requested].pkg} or use --backend auto`,
  );
}
