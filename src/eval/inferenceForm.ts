import { foldBatchNorm } from '../align/batchNormModes.js';
import { families } from '../nn/families.js';
import { disposeParams } from '../nn/init.js';
import { hasBatchNorm } from '../nn/resetBatchNorm.js';
import type { ModelSpec, ParamMap } from '../nn/spec.js';

/** Models of one spec in the form evaluation runs them (see {@link inferenceForm}). */
export interface InferenceForm {
  /** The spec to run: the BatchNorm-free one when BatchNorm was folded, else the models' own. */
  spec: ModelSpec;
  /** Each model's parameters for `spec`, in the order given. */
  members: ParamMap[];
  /** True when BatchNorm was folded into the convolutions. */
  folded: boolean;
  /** Frees the folded parameters (never the caller's own). */
  dispose(): void;
}

/** True when `spec` has BatchNorm and its family has a BatchNorm-free form to fold it into. */
export function foldsForInference(spec: ModelSpec): boolean {
  return hasBatchNorm(spec) && families.has(spec.family) && families.get(spec.family).withoutBatchNorm !== undefined;
}

/**
 * The models as inference runs them cheapest, computing the same logits up to float rounding: every
 * BatchNorm (with its running statistics) folded into the convolution before it (foldBatchNorm: the
 * kernel scaled per output channel by gamma / sqrt(var + eps), the bias beta + (b - mean) * scale),
 * which turns a convolution and a full pass of BatchNorm over its output into one convolution with a
 * bias. Training-mode BatchNorm cannot be folded (it normalises with each batch's own statistics), so
 * this is for inference only. Models without BatchNorm, or of a family with no BatchNorm-free form,
 * come back as they are. The caller keeps its parameters; `dispose` frees the folded ones.
 */
export function inferenceForm(spec: ModelSpec, members: ParamMap[]): InferenceForm {
  if (members.length === 0 || !foldsForInference(spec)) return { spec, members, folded: false, dispose: () => {} };
  const folded: { spec: ModelSpec; params: ParamMap }[] = [];
  try {
    for (const params of members) folded.push(foldBatchNorm(spec, params));
  } catch (error) {
    folded.forEach((f) => disposeParams(f.params));
    throw error;
  }
  return { spec: folded[0]!.spec, members: folded.map((f) => f.params), folded: true, dispose: () => folded.forEach((f) => disposeParams(f.params)) };
}
