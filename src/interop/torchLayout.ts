import * as tf from '@tensorflow/tfjs-core';
import type { ModelSpec } from '../nn/spec.js';

/**
 * How merge-train's parameters lie in a PyTorch state dict. The values are the same numbers; what
 * differs is each tensor's key (see the definitions in torchMlp.ts, torchVgg.ts, torchResnet.ts) and
 * the order of its axes:
 * - nn.Linear keeps its weight [out, in]; merge-train keeps a dense weight [in, out];
 * - nn.Conv2d keeps its weight [out, in, kh, kw] (OIHW); merge-train keeps a kernel [kh, kw, in, out] (HWIO);
 * - biases and BatchNorm's weight, bias, running_mean and running_var are the same vectors;
 * - BatchNorm2d also has num_batches_tracked, an int64 scalar counting training steps, which only
 *   matters to momentum=None: it is written 0 and ignored when read.
 * merge-train feeds images channel last [h, w, c] where PyTorch takes them channel first [c, h, w]:
 * the same pixels, so convolutions need no more than the kernel's transpose, but an MLP that flattens
 * an image sees its values in another order, and its first weight's input axis is reordered.
 */

/** How one parameter's axes are stored in PyTorch. */
export type TorchLayout =
  /** The same array: biases, BatchNorm vectors. */
  | { kind: 'vector' }
  /**
   * nn.Linear's weight [out, in] for merge-train's [in, out]. With `image` [h, w, c], the inputs are an
   * image flattened, by PyTorch channel first and by merge-train channel last.
   */
  | { kind: 'linear'; image?: [number, number, number] }
  /** nn.Conv2d's weight [out, in, kh, kw] for merge-train's [kh, kw, in, out]. */
  | { kind: 'conv' };

/** One merge-train parameter and the key of its state-dict entry. */
export interface TorchTensor {
  param: string;
  key: string;
  layout: TorchLayout;
}

/** What a BatchNorm layer has in a state dict besides its four vectors. */
export interface TorchBatchNorm {
  /** Its `num_batches_tracked` key. */
  counter: string;
  /**
   * The key a bias of the convolution before it would have. merge-train's convolutions before a
   * BatchNorm have none (it would cancel in training); a PyTorch definition may have one (torchvision's
   * VGG does), and read, it is folded into the running mean, which computes the same function.
   */
  convBias: string;
  /** merge-train's name of the layer's running mean. */
  runningMean: string;
}

/** Every state-dict entry of a model: its parameters' and its BatchNorm layers' extras. */
export interface TorchStateDictLayout {
  tensors: TorchTensor[];
  batchNorms: TorchBatchNorm[];
}

/** `key` with its last component (`weight`) replaced by `last`. */
function sibling(key: string, last: string): string {
  return `${key.slice(0, key.lastIndexOf('.') + 1)}${last}`;
}

/**
 * The state-dict layout of `spec`'s parameters, keyed by `keyOf` (a definition's names): each
 * declared layer's tensors with their axis layouts, and its BatchNorm layers' extras.
 */
export function stateDictLayout(spec: ModelSpec, keyOf: (param: string) => string): TorchStateDictLayout {
  const tensors: TorchTensor[] = [];
  const batchNorms: TorchBatchNorm[] = [];
  const vector = (param: string) => tensors.push({ param, key: keyOf(param), layout: { kind: 'vector' } });
  const [height, width, channels] = spec.inputShape;
  for (const layer of spec.layers) {
    if (layer.kind === 'dense') {
      // Only a layer that takes the input itself (no feature space on its input axis) sees the image's order.
      const takesImage = spec.params[layer.weight]!.axes[0] === null && channels !== undefined;
      const image: [number, number, number] | undefined = takesImage ? [height!, width!, channels] : undefined;
      tensors.push({ param: layer.weight, key: keyOf(layer.weight), layout: image ? { kind: 'linear', image } : { kind: 'linear' } });
      vector(layer.bias);
    } else if (layer.kind === 'conv') {
      tensors.push({ param: layer.weight, key: keyOf(layer.weight), layout: { kind: 'conv' } });
      if (layer.bias !== undefined) vector(layer.bias);
    } else {
      const { norm, follows } = layer;
      [norm.weight, norm.bias, norm.runningMean, norm.runningVar].forEach(vector);
      batchNorms.push({
        counter: sibling(keyOf(norm.weight), 'num_batches_tracked'),
        convBias: sibling(keyOf(follows.weight), 'bias'),
        runningMean: norm.runningMean,
      });
    }
  }
  return { tensors, batchNorms };
}

/** The shape PyTorch stores a parameter of merge-train shape `shape` in. */
export function torchShape(shape: readonly number[], layout: TorchLayout): number[] {
  if (layout.kind === 'linear') return [shape[1]!, shape[0]!];
  if (layout.kind === 'conv') return [shape[3]!, shape[2]!, shape[0]!, shape[1]!];
  return [...shape];
}

/** A merge-train parameter in PyTorch's layout (a new tensor; only moves values, so exact). */
export function toTorch(value: tf.Tensor, layout: TorchLayout): tf.Tensor {
  return tf.tidy(() => {
    if (layout.kind === 'conv') return tf.transpose(value, [3, 2, 0, 1]);
    if (layout.kind === 'vector') return tf.clone(value);
    if (!layout.image) return tf.transpose(value);
    const [height, width, channels] = layout.image;
    const outputs = value.shape[1]!;
    const perImagePixel = tf.reshape(value, [height, width, channels, outputs]);
    return tf.reshape(tf.transpose(perImagePixel, [3, 2, 0, 1]), [outputs, channels * height * width]);
  });
}

/** A PyTorch tensor in merge-train's layout (a new tensor; the inverse of {@link toTorch}). */
export function fromTorch(value: tf.Tensor, layout: TorchLayout): tf.Tensor {
  return tf.tidy(() => {
    if (layout.kind === 'conv') return tf.transpose(value, [2, 3, 1, 0]);
    if (layout.kind === 'vector') return tf.clone(value);
    if (!layout.image) return tf.transpose(value);
    const [height, width, channels] = layout.image;
    const outputs = value.shape[0]!;
    const perChannel = tf.reshape(value, [outputs, channels, height, width]);
    return tf.reshape(tf.transpose(perChannel, [2, 3, 1, 0]), [height * width * channels, outputs]);
  });
}
