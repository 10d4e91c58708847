import * as tf from '@tensorflow/tfjs-core';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { wasmApi } from '../linalg/wasmApi.js';
import type { WasmHeapBackend } from './heapKernels.js';

const require = createRequire(import.meta.url);

/**
 * merge-train's wasm kernels and threads reach into private parts of @tensorflow/tfjs-backend-wasm
 * (its tensor map, output allocation, heap and pthreads). They are written against exactly this
 * version, which package.json pins; any other version runs on the stock backend.
 */
export const WASM_BACKEND_VERSION = '4.22.0';

/** The environment variable that turns merge-train's wasm kernels and threads off (`off`). */
export const WASM_KERNELS_SWITCH = 'MERGE_TRAIN_WASM_KERNELS';

/** The kernels of the stock backend that the fast paths wrap (and hand declined calls to) or call. */
const wrappedKernels = [
  ...['BatchMatMul', '_FusedMatMul', 'Transpose', 'Sum', 'Mean', 'Relu', 'Add', 'Sub', 'Multiply', 'GatherV2', 'MaxPoolGrad'],
  ...['Conv2D', 'Reverse', 'StridedSlice', 'Slice', 'Concat', 'Fill', 'Reshape'],
];

/** The installed @tensorflow/tfjs-backend-wasm's version, or undefined when it is not installed. */
export function installedWasmVersion(): string | undefined {
  try {
    return (require('@tensorflow/tfjs-backend-wasm/package.json') as { version: string }).version;
  } catch {
    return undefined;
  }
}

/** What keeps the fast paths off before the backend starts: the switch, or a version they were not written for. */
export function wasmKernelsRefused(): string | undefined {
  if (process.env[WASM_KERNELS_SWITCH] === 'off') return `${WASM_KERNELS_SWITCH}=off`;
  const version = installedWasmVersion();
  if (version !== WASM_BACKEND_VERSION) return `@tensorflow/tfjs-backend-wasm is ${version ?? 'not installed'}, and merge-train's wasm kernels are written for ${WASM_BACKEND_VERSION}`;
  const threaded = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js');
  if (!existsSync(threaded)) return `@tensorflow/tfjs-backend-wasm has no threaded build at ${threaded}`;
  return undefined;
}

/**
 * Which internals of a live wasm backend the fast paths need but do not find: empty when they can
 * run. Checked before they are installed, so a changed backend gives a clear message, not wrong numbers.
 */
export function wasmContractBreaches(backend: object): string[] {
  const b = backend as Partial<WasmHeapBackend> & { wasm?: { wasmMemory?: unknown; asm?: { memory?: unknown } } };
  const breaches: string[] = [];
  for (const method of ['makeOutput', 'readSync', 'typedArrayFromHeap', 'disposeData'] as const) {
    if (typeof (b as Record<string, unknown>)[method] !== 'function') breaches.push(`backend.${method}() is missing`);
  }
  if (typeof b.dataIdMap?.get !== 'function') breaches.push('backend.dataIdMap is missing');
  const memory = b.wasm?.wasmMemory ?? b.wasm?.asm?.memory;
  if (!(memory instanceof wasmApi.Memory)) breaches.push('the backend exposes no WebAssembly.Memory (wasm.wasmMemory or wasm.asm.memory)');
  for (const name of wrappedKernels) if (!tf.getKernel(name, 'wasm')) breaches.push(`the backend has no ${name} kernel`);
  return breaches;
}
