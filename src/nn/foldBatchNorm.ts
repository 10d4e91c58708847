import * as tf from '@tensorflow/tfjs-core';
import { families, parseFamilyConfig } from './families.js';
import { BATCH_NORM_EPSILON } from './layers.js';
import type { ModelSpec, ParamMap } from './spec.js';

/**
 * Folds every BatchNorm (with its running statistics) into the convolution before it: with
 * s = gamma / sqrt(var + eps), the kernel becomes W * s (per output channel) and gains the bias
 * beta - mean * s. The folded network computes exactly what the original computes in inference
 * mode, and has no per-channel normalisation left, so a general linear alignment (CCA) acts on it
 * exactly; the alternative keeps BatchNorm, transforms its vectors like a bias and recomputes the
 * statistics after merging. Works for families whose config has `batchNorm` and whose BatchNorm
 * `<path>bn<k>` follows convolution `<path>conv<k>`.
 */
export function foldBatchNorm(spec: ModelSpec, params: ParamMap): { spec: ModelSpec; params: ParamMap } {
  if (spec.config.batchNorm !== true) throw new Error(`foldBatchNorm: this ${spec.family} model has no BatchNorm`);
  const family = families.get(spec.family);
  const config = parseFamilyConfig(family, { ...spec.config, batchNorm: false }, 'foldBatchNorm');
  const folded = family.build(config, spec.inputShape, spec.numClasses);
  const result = tf.tidy(() => {
    const out: ParamMap = {};
    for (const name of Object.keys(folded.params)) {
      const conv = /^(.*conv\d*)\.(weight|bias)$/.exec(name);
      const bn = conv?.[1]!.replace(/conv(\d*)$/, 'bn$1');
      if (!conv || !bn || !params[`${bn}.weight`]) {
        out[name] = tf.clone(params[name]!);
        continue;
      }
      const scale = tf.div(params[`${bn}.weight`]!, tf.sqrt(tf.add(params[`${bn}.running_var`]!, BATCH_NORM_EPSILON)));
      out[name] =
        conv[2] === 'weight'
          ? tf.mul(params[name]!, scale) // [k, k, in, out] * [out]
          : tf.sub(params[`${bn}.bias`]!, tf.mul(params[`${bn}.running_mean`]!, scale));
    }
    return out;
  });
  return { spec: folded, params: result };
}
