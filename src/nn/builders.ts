import { consumes, produces, type ParamSpec } from './spec.js';

/**
 * Small combinators that write the parameter entries of common layers, so a family's spec reads
 * like its architecture. `inSpace` / `outSpace` name the feature spaces the layer consumes and
 * produces (null: the input image or the logits, which are never transformed).
 */
export type ParamEntries = Record<string, ParamSpec>;

/** Dense layer `name`: weight [in, out] and bias [out], PyTorch's default init U(+-1/sqrt(in)). */
export function denseParams(name: string, inputs: number, outputs: number, inSpace: string | null, outSpace: string | null): ParamEntries {
  const bound = 1 / Math.sqrt(inputs);
  const out = outSpace ? produces(outSpace) : null;
  return {
    [`${name}.weight`]: { shape: [inputs, outputs], axes: [inSpace ? consumes(inSpace) : null, out], init: { kind: 'uniform', bound } },
    [`${name}.bias`]: { shape: [outputs], axes: [out], init: { kind: 'uniform', bound } },
  };
}

/**
 * Convolution `name`: kernel [k, k, in, out] (HWIO, the layout tfjs convolves without a transpose),
 * He-uniform init for ReLU networks; a bias only where no BatchNorm follows.
 */
export function convParams(
  name: string,
  kernelSize: number,
  inputs: number,
  outputs: number,
  inSpace: string | null,
  outSpace: string,
  withBias: boolean,
): ParamEntries {
  const fanIn = inputs * kernelSize * kernelSize;
  const entries: ParamEntries = {
    [`${name}.weight`]: {
      shape: [kernelSize, kernelSize, inputs, outputs],
      axes: [null, null, inSpace ? consumes(inSpace) : null, produces(outSpace)],
      init: { kind: 'uniform', bound: Math.sqrt(6 / fanIn) },
    },
  };
  if (withBias) entries[`${name}.bias`] = { shape: [outputs], axes: [produces(outSpace)], init: { kind: 'zeros' } };
  return entries;
}

/**
 * BatchNorm `name` over `channels` of `space`: scale and shift (trained) and running statistics
 * (estimated). All four follow the channel's space like a bias does: exact for permutations; for a
 * general linear map the statistics are recomputed after merging (BatchNorm reset).
 */
export function batchNormParams(name: string, channels: number, space: string): ParamEntries {
  const axes = [produces(space)];
  return {
    [`${name}.weight`]: { shape: [channels], axes, init: { kind: 'ones' } },
    [`${name}.bias`]: { shape: [channels], axes, init: { kind: 'zeros' } },
    [`${name}.running_mean`]: { shape: [channels], axes, init: { kind: 'zeros' }, trainable: false },
    [`${name}.running_var`]: { shape: [channels], axes, init: { kind: 'ones' }, trainable: false },
  };
}
