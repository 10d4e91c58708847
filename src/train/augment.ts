import * as tf from '@tensorflow/tfjs-core';
import { createRng } from '../util/random.js';

export interface AugmentOptions {
  /** Zero padding on each side before a random crop back to the original size (4 for CIFAR); 0: none. */
  cropPadding: number;
  /** Mirror half of the images left to right. Wrong for digits; right for natural images and clothes. */
  flip: boolean;
}

/**
 * Random crop after zero padding and random horizontal flip of a batch of NHWC images, the standard
 * augmentation for 32x32 image classifiers. Randomness comes from `seed` (host side), so a run is
 * reproducible. Crops use CropAndResize at integer offsets with the crop's own size, which samples
 * pixels exactly.
 */
export function augmentBatch(x: tf.Tensor4D, options: AugmentOptions, seed: number): tf.Tensor4D {
  const [count, height, width] = x.shape;
  const rng = createRng(seed);
  return tf.tidy(() => {
    let out = x;
    const p = options.cropPadding;
    if (p > 0) {
      const padded = tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]);
      const [paddedHeight, paddedWidth] = [height + 2 * p, width + 2 * p];
      const boxes = new Float32Array(count * 4);
      for (let i = 0; i < count; i++) {
        const top = Math.floor(rng() * (2 * p + 1));
        const left = Math.floor(rng() * (2 * p + 1));
        boxes.set([top / (paddedHeight - 1), left / (paddedWidth - 1), (top + height - 1) / (paddedHeight - 1), (left + width - 1) / (paddedWidth - 1)], i * 4);
      }
      const boxIndices = tf.tensor1d(Int32Array.from({ length: count }, (_, i) => i), 'int32');
      out = tf.image.cropAndResize(padded, tf.tensor2d(boxes, [count, 4]), boxIndices, [height, width], 'bilinear');
    }
    if (options.flip) {
      // Mixing by a 0/1 mask, since the wasm backend has no Select kernel.
      const mask = tf.tensor4d(Float32Array.from({ length: count }, () => (rng() < 0.5 ? 1 : 0)), [count, 1, 1, 1]);
      out = tf.add(tf.mul(tf.reverse(out, 2), mask), tf.mul(out, tf.sub(1, mask)));
    }
    return out;
  });
}
