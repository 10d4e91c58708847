import * as tf from '@tensorflow/tfjs-core';

/**
 * Mean softmax cross-entropy of logits [batch, classes] against integer labels [batch]:
 * -mean_i log softmax(z_i)[y_i], whose gradient is (softmax(z) - onehot(y)) / batch.
 */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  const targets = tf.cast(tf.oneHot(labels, logits.shape[1]), 'float32');
  return tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(logits), targets), 1))) as tf.Scalar;
}

/**
 * Number of rows whose arg-max equals the label, as a scalar tensor (no host round trip). A row with
 * a NaN or infinite logit predicts nothing (its arg-max would be an arbitrary class).
 */
export function countCorrect(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy((): tf.Scalar => {
    const correct = tf.logicalAnd(tf.equal(tf.argMax(logits, 1), labels), tf.all(tf.isFinite(logits), 1));
    return tf.sum(tf.cast(correct, 'float32')) as tf.Scalar;
  });
}
