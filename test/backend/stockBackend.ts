/**
 * Run by wasmContract.test.ts in a process of its own (the backend can start only once a process):
 * starts the wasm backend and prints which of merge-train's additions run.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend, wasmKernelsState } from '../../src/backend/selectBackend.js';
import { MOMENTUM_KERNEL } from '../../src/train/momentumOptimizer.js';

await selectBackend('wasm', { threads: 2 });
const x = tf.tensor2d([[1, 2], [3, 4]]);
const product = Array.from(tf.matMul(x, x).dataSync());
console.log(JSON.stringify({ threads: getThreadsCount(), momentumKernel: tf.getKernel(MOMENTUM_KERNEL, 'wasm') !== undefined, state: wasmKernelsState(), product }));
process.exit(0);
