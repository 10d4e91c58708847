import * as tf from '@tensorflow/tfjs-core';
import type { NamedArrays } from './safetensors.js';

/** Copies named tensors to host arrays for writing (float32, or int32 for integer tensors). */
export function tensorsToArrays(tensors: tf.NamedTensorMap): NamedArrays {
  const arrays: NamedArrays = {};
  for (const [name, tensor] of Object.entries(tensors)) {
    arrays[name] = { shape: tensor.shape, data: tensor.dataSync() as Float32Array | Int32Array };
  }
  return arrays;
}

/** Uploads host arrays as tensors: integer arrays as int32, every float array as float32. */
export function arraysToTensors(arrays: NamedArrays): tf.NamedTensorMap {
  const tensors: tf.NamedTensorMap = {};
  for (const [name, { shape, data }] of Object.entries(arrays)) {
    tensors[name] =
      data instanceof Int32Array ? tf.tensor(data, shape, 'int32')
      : tf.tensor(data instanceof Float32Array ? data : Float32Array.from(data), shape, 'float32');
  }
  return tensors;
}
