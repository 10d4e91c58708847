import { batchNormNames } from './layers.js';
import { consumes, produces, type AffineLayer, type BatchNormLayer, type ConvLayer, type LayerInfo, type ParamSpec } from './spec.js';

/**
 * Collects a spec's parameters and declared layers, so a family's spec reads like its architecture.
 * `inSpace` / `outSpace` name the feature spaces a layer consumes and produces (null: the input
 * image or the logits, which are never transformed).
 */
export class SpecLayers {
  readonly params: Record<string, ParamSpec> = {};
  readonly layers: LayerInfo[] = [];

  /** Dense layer `name`: weight [in, out] and bias [out], PyTorch's default init U(+-1/sqrt(in)). */
  dense(name: string, inputs: number, outputs: number, inSpace: string | null, outSpace: string | null): AffineLayer {
    const bound = 1 / Math.sqrt(inputs);
    const out = outSpace ? produces(outSpace) : null;
    const layer = { weight: `${name}.weight`, bias: `${name}.bias` };
    this.params[layer.weight] = { shape: [inputs, outputs], axes: [inSpace ? consumes(inSpace) : null, out], init: { kind: 'boundedUniform', bound } };
    this.params[layer.bias] = { shape: [outputs], axes: [out], init: { kind: 'boundedUniform', bound } };
    this.layers.push({ kind: 'dense', ...layer });
    return layer;
  }

  /**
   * Convolution `name`: kernel [k, k, in, out] (HWIO, the layout tfjs convolves without a transpose),
   * He-uniform init for ReLU networks; a bias only where no BatchNorm follows.
   */
  conv(name: string, kernelSize: number, inputs: number, outputs: number, inSpace: string | null, outSpace: string, withBias: boolean): ConvLayer {
    const fanIn = inputs * kernelSize * kernelSize;
    const layer: ConvLayer = { weight: `${name}.weight`, ...(withBias ? { bias: `${name}.bias` } : {}) };
    this.params[layer.weight] = {
      shape: [kernelSize, kernelSize, inputs, outputs],
      axes: [null, null, inSpace ? consumes(inSpace) : null, produces(outSpace)],
      init: { kind: 'boundedUniform', bound: Math.sqrt(6 / fanIn) },
    };
    if (layer.bias) this.params[layer.bias] = { shape: [outputs], axes: [produces(outSpace)], init: { kind: 'zeros' } };
    this.layers.push({ kind: 'conv', ...layer });
    return layer;
  }

  /**
   * BatchNorm `name` after convolution `follows`, over its channels in `space`: scale and shift
   * (trained) and running statistics (estimated). All four follow the channel's space like a bias.
   */
  batchNorm(name: string, channels: number, space: string, follows: ConvLayer): BatchNormLayer {
    const axes = [produces(space)];
    const norm = batchNormNames(name);
    this.params[norm.weight] = { shape: [channels], axes, init: { kind: 'ones' } };
    this.params[norm.bias] = { shape: [channels], axes, init: { kind: 'zeros' } };
    this.params[norm.runningMean] = { shape: [channels], axes, init: { kind: 'zeros' }, trainable: false };
    this.params[norm.runningVar] = { shape: [channels], axes, init: { kind: 'ones' }, trainable: false };
    this.layers.push({ kind: 'batchNorm', norm, follows });
    return norm;
  }
}
