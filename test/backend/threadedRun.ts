/**
 * Run as a child process by wasmThreads.test.ts: initialises the wasm backend with the thread count
 * given as argv[2], computes two large matMuls, a convolution's filter gradient and three SGD steps of an MLP, and prints the thread
 * count and the results as JSON. The process must then exit on its own.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { TensorSet } from '../../src/data/batches.js';
import { initParams } from '../../src/nn/init.js';
import { mlpSpec } from '../../src/nn/mlp.js';
import { trainModel } from '../../src/train/trainModel.js';
import { normalInputs } from '../nn/helpers.js';

await selectBackend('wasm', { threads: Number(process.argv[2]) });
// Products big enough for the gemm to split between threads: by columns, and (few columns) by rows.
const product = tf.tidy(() => {
  const a = tf.tensor2d(normalInputs(256, 300, 1), [256, 300]);
  const b = tf.tensor2d(normalInputs(300, 200, 2), [300, 200]);
  const c = tf.tensor2d(normalInputs(2000, 100, 4), [2000, 100]);
  const d = tf.tensor2d(normalInputs(100, 10, 5), [100, 10]);
  return [...tf.matMul(a, b).dataSync(), ...tf.matMul(c, d).dataSync()];
});
// A convolution's filter gradient, summed in parts that threads share.
const filterGradient = tf.tidy(() => {
  const x = tf.tensor4d(normalInputs(4 * 24 * 24, 8, 6), [4, 24, 24, 8]);
  const dy = tf.tensor4d(normalInputs(4 * 24 * 24, 16, 7), [4, 24, 24, 16]);
  return Array.from(tf.grad((w: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, w as tf.Tensor4D, 1, 'same'), dy)))(tf.zeros([3, 3, 8, 16])).dataSync());
});
const spec = mlpSpec({ hidden: [64] }, [30], 4);
const count = 384;
const labels = Int32Array.from({ length: count }, (_, i) => i % 4);
const data = new TensorSet({ x: normalInputs(count, 30, 3), y: labels, count }, [30]);
const { params } = await trainModel(spec, initParams(spec, 0), data, { epochs: 1, batchSize: 128, optimizer: 'sgd', learningRate: 0.1, momentum: 0.9, seed: 1 });
console.log(JSON.stringify({ threads: getThreadsCount(), product, filterGradient, weights: Array.from(params['fc1.weight']!.dataSync()) }));
