import * as tf from '@tensorflow/tfjs-core';

/**
 * The name under which a backend may register training-mode BatchNorm's forward pass as one kernel
 * (the backend layer does for wasm: src/backend/wasmBatchNorm.ts). Inputs x (channels last, float32),
 * gamma, beta [C]; attrs epsilon, relu (apply ReLU to the output), optional jobs (threads to use; the
 * results do not depend on it); outputs [y, mean, variance (biased), inverseStd = 1 / sqrt(variance +
 * epsilon)], the vectors [C]. Elsewhere the same computation is tf ops ({@link batchNormTraining}).
 */
export const BATCH_NORM_KERNEL = 'MergeTrainBatchNormTraining';

/**
 * Its backward pass: inputs x, dy, mean, inverseStd, gamma, beta (dy of the forward kernel's y, the
 * vectors its outputs and inputs); attrs relu, optional jobs; outputs [dx, dgamma, dbeta].
 */
export const BATCH_NORM_GRAD_KERNEL = 'MergeTrainBatchNormTrainingGrad';

/** Whether the current backend runs training-mode BatchNorm as {@link BATCH_NORM_KERNEL} and its gradient kernel. */
export function hasBatchNormKernels(): boolean {
  const backend = tf.getBackend();
  return tf.getKernel(BATCH_NORM_KERNEL, backend) !== undefined && tf.getKernel(BATCH_NORM_GRAD_KERNEL, backend) !== undefined;
}

/** Sees training-mode BatchNorm's batch mean and biased variance [C]. */
export type BatchStatsReport = (mean: tf.Tensor, variance: tf.Tensor) => void;

/**
 * Training-mode BatchNorm over the channel (last) axis, y = gamma (x - mean) / sqrt(var + eps) + beta
 * with the batch's mean and biased variance, followed by ReLU when `relu`; `report` sees the mean and
 * variance. Where the backend registers {@link BATCH_NORM_KERNEL} (and its gradient), forward and
 * backward are one kernel each (the ReLU fused: its gradient mask recomputed from x); otherwise tf ops
 * compute the same, with the gradient in closed form.
 */
export function batchNormTraining(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number, relu: boolean, report: BatchStatsReport): tf.Tensor {
  if (hasBatchNormKernels() && x.dtype === 'float32' && x.size > 0) return batchNormTrainingKernels(x, gamma, beta, epsilon, relu, report);
  const out = batchNormTrainingOps(x, gamma, beta, epsilon, report);
  return relu ? tf.relu(out) : out;
}

/** customGrad's type lists the inputs and the save function as one union; these functions take three inputs. */
type CustomGradFunction = Parameters<typeof tf.customGrad>[0];

/** Training-mode BatchNorm (and ReLU) as the backend's two kernels, forward and backward. */
function batchNormTrainingKernels(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number, relu: boolean, report: BatchStatsReport): tf.Tensor {
  const normalise = (input: tf.Tensor, scale: tf.Tensor, shift: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, mean, variance, inverseStd] = tf.engine().runKernel(BATCH_NORM_KERNEL, { x: input, gamma: scale, beta: shift }, { epsilon, relu }) as tf.Tensor[];
    report(mean!, variance!);
    // x^ is recomputed from x, mean and inverseStd in the backward pass: no full-size copy is kept.
    save([input, mean!, inverseStd!, scale, shift]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, [savedX, savedMean, savedInverseStd, savedScale, savedShift]: tf.Tensor[]) => {
        const inputs = { x: savedX!, dy, mean: savedMean!, inverseStd: savedInverseStd!, gamma: savedScale!, beta: savedShift! };
        return tf.engine().runKernel(BATCH_NORM_GRAD_KERNEL, inputs, { relu }) as tf.Tensor[];
      },
    };
  };
  return tf.customGrad(normalise as unknown as CustomGradFunction)(x, gamma, beta);
}

/**
 * Training-mode BatchNorm as tf ops, with its gradient in closed form: with x^ the normalised input,
 * dbeta = sum dy, dgamma = sum dy x^, dx = gamma / sqrt(var + eps) * (dy - dbeta / n - x^ dgamma / n).
 * Automatic differentiation of the same forward pass broadcasts [1, 1, 1, C] tensors against the
 * whole activation, which the wasm backend runs in a slow generic loop; here every full-size
 * operation broadcasts along the last axis only.
 */
export function batchNormTrainingOps(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, epsilon: number, report: BatchStatsReport): tf.Tensor {
  const axes = x.shape.map((_, i) => i).slice(0, -1);
  const count = x.size / x.shape[x.shape.length - 1]!;
  const normalise = (input: tf.Tensor, scale: tf.Tensor, shift: tf.Tensor, save: tf.GradSaveFunc) => {
    const mean = tf.mean(input, axes);
    const centered = tf.sub(input, mean);
    const variance = tf.mean(tf.square(centered), axes);
    const inverseStd = tf.rsqrt(tf.add(variance, epsilon));
    const normalised = tf.mul(centered, inverseStd);
    report(mean, variance);
    // Saved tensors outlive this function until the backward pass has used them.
    save([normalised, inverseStd, scale]);
    return {
      value: tf.add(tf.mul(normalised, scale), shift),
      gradFunc: (dy: tf.Tensor, [savedNormalised, savedInverseStd, savedScale]: tf.Tensor[]) => {
        const dShift = tf.sum(dy, axes);
        const dScale = tf.sum(tf.mul(dy, savedNormalised!), axes);
        const centeredDy = tf.sub(tf.sub(dy, tf.div(dShift, count)), tf.mul(savedNormalised!, tf.div(dScale, count)));
        return [tf.mul(centeredDy, tf.mul(savedScale!, savedInverseStd!)), dScale, dShift];
      },
    };
  };
  return tf.customGrad(normalise as unknown as CustomGradFunction)(x, gamma, beta);
}
