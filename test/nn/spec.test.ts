import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { disposeParams, initParams } from '../../src/nn/init.js';
import { mlpSpec } from '../../src/nn/mlp.js';
import { resnetSpec } from '../../src/nn/resnet.js';
import { architectureSignature, consumes, featureSpaces, layerParams, produces, validateParams, validateSpec, type ModelSpec, type ParamSpec } from '../../src/nn/spec.js';
import { vggSpec } from '../../src/nn/vgg.js';
import { InputError } from '../../src/util/errors.js';
import { liveTensors, normalInputs, readParams } from './helpers.js';

const spec = mlpSpec({ hidden: [16, 12] }, [4, 5], 3);

/** Shapes of the spec's parameters, as a checkpoint would report them. */
function shapesOf(model: ModelSpec): Record<string, { shape: number[] }> {
  return Object.fromEntries(Object.entries(model.params).map(([name, p]) => [name, { shape: [...p.shape] }]));
}

/** The InputError `fn` throws. */
function inputErrorOf(fn: () => void): InputError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    return error as InputError;
  }
  throw new Error('expected an InputError');
}

describe('mlpSpec and featureSpaces', () => {
  it('lays out [in, out] weights and biases', () => {
    expect(Object.keys(spec.params)).toEqual(['fc1.weight', 'fc1.bias', 'fc2.weight', 'fc2.bias', 'fc3.weight', 'fc3.bias']);
    expect(Object.values(spec.params).map((p) => p.shape)).toEqual([[20, 16], [16], [16, 12], [12], [12, 3], [3]]);
    expect(spec.params['fc2.weight']!.init).toEqual({ kind: 'boundedUniform', bound: 1 / 4 });
    expect(spec.params['fc1.weight']!.axes).toEqual([null, produces('fc1')]);
    expect(spec.params['fc3.weight']!.axes).toEqual([consumes('fc2'), null]);
  });

  it('lists each hidden space with its producing and consuming members', () => {
    expect(featureSpaces(spec)).toEqual([
      {
        name: 'fc1',
        size: 16,
        members: [
          { param: 'fc1.weight', axis: 1, role: 'out' },
          { param: 'fc1.bias', axis: 0, role: 'out' },
          { param: 'fc2.weight', axis: 0, role: 'in' },
        ],
      },
      {
        name: 'fc2',
        size: 12,
        members: [
          { param: 'fc2.weight', axis: 1, role: 'out' },
          { param: 'fc2.bias', axis: 0, role: 'out' },
          { param: 'fc3.weight', axis: 0, role: 'in' },
        ],
      },
    ]);
  });

  it('rejects a space of two sizes and a space that is never consumed', () => {
    const twoSizes: ModelSpec = {
      ...spec,
      params: { ...spec.params, extra: { shape: [5], axes: [produces('fc1')], init: { kind: 'zeros' } } },
    };
    expect(() => featureSpaces(twoSizes)).toThrow(/space fc1 has size 16 but extra axis 0 has 5/);
    const dangling: ModelSpec = {
      ...spec,
      params: { ...spec.params, extra: { shape: [7], axes: [produces('lonely')], init: { kind: 'zeros' } } },
    };
    expect(() => featureSpaces(dangling)).toThrow(/space lonely must be both produced and consumed/);
  });

  it('signs architectures by names and shapes', () => {
    expect(architectureSignature(spec)).toBe(architectureSignature(mlpSpec({ hidden: [16, 12] }, [20], 3)));
    expect(architectureSignature(spec)).not.toBe(architectureSignature(mlpSpec({ hidden: [16, 13] }, [4, 5], 3)));
  });
});

describe('validateSpec', () => {
  const vgg = vggSpec({ layout: [4, 'M', 6], batchNorm: true }, [8, 8, 1], 3);
  /** A copy of `model` with one parameter spec changed (or removed, for undefined). */
  const withParam = (model: ModelSpec, name: string, param: ParamSpec | undefined): ModelSpec => {
    const params = { ...model.params };
    if (param) params[name] = param;
    else delete params[name];
    return { ...model, params };
  };

  it('accepts every family it builds, with every parameter in a declared layer', () => {
    for (const model of [spec, vgg, resnetSpec({ blocks: [1, 1], widths: [4, 8] }, [8, 8, 1], 3)]) {
      expect(validateSpec(model)).toBe(model);
      expect(model.layers.flatMap(layerParams).sort()).toEqual(Object.keys(model.params).sort());
    }
    // which BatchNorm follows which convolution is declared, not guessed from names
    expect(vgg.layers.filter((l) => l.kind === 'batchNorm').map((l) => (l.kind === 'batchNorm' ? [l.norm.weight, l.follows.weight] : []))).toEqual([
      ['bn1.weight', 'conv1.weight'],
      ['bn2.weight', 'conv2.weight'],
    ]);
  });

  it('names the parameter or space that breaks the structure', () => {
    expect(() => validateSpec(withParam(spec, 'extra', { shape: [3], axes: [null], init: { kind: 'zeros' } }))).toThrow(/spec mlp: parameter extra belongs to no declared layer/);
    expect(() => validateSpec(withParam(spec, 'fc1.bias', undefined))).toThrow(/names parameter fc1\.bias, which the spec does not have/);
    expect(() => validateSpec(withParam(spec, 'fc1.bias', { shape: [16, 1], axes: [produces('fc1'), null], init: { kind: 'zeros' } }))).toThrow(/fc1\.bias has shape \[16,1\]; expected \[16\]/);
    expect(() => validateSpec(withParam(spec, 'fc1.weight', { ...spec.params['fc1.weight']!, axes: [null] }))).toThrow(/fc1\.weight has 2 axes \[20,16\] but 1 axis labels/);
    expect(() => validateSpec(withParam(vgg, 'bn2.bias', { shape: [6], axes: [produces('conv1')], init: { kind: 'zeros' } }))).toThrow(/space conv1 has size 4 but bn2\.bias axis 0 has 6/);
    expect(() => validateSpec(withParam(vgg, 'bn2.bias', { shape: [6], axes: [produces('elsewhere')], init: { kind: 'zeros' } }))).toThrow(/space elsewhere must be both produced and consumed/);
    const misplaced: ModelSpec = { ...vgg, layers: vgg.layers.map((l) => (l.kind === 'batchNorm' && l.norm.weight === 'bn2.weight' ? { ...l, follows: { weight: 'classifier.weight' } } : l)) };
    expect(() => validateSpec(misplaced)).toThrow(/BatchNorm bn2\.weight follows classifier\.weight, which is not a convolution kernel/);
  });
});

describe('validateParams', () => {
  it('accepts exactly the spec parameters', () => {
    expect(() => validateParams(spec, shapesOf(spec), 'ckpt.safetensors')).not.toThrow();
  });

  it('names a missing parameter and its expected shape', () => {
    const { ['fc2.bias']: _dropped, ...rest } = shapesOf(spec);
    const error = inputErrorOf(() => validateParams(spec, rest, 'ckpt.safetensors'));
    expect(error.message).toBe('ckpt.safetensors: parameter fc2.bias is missing (expected shape [12])');
    expect(error.exitCode).toBe(2);
  });

  it('names a parameter of the wrong shape, with both shapes', () => {
    const error = inputErrorOf(() => validateParams(spec, { ...shapesOf(spec), 'fc1.weight': { shape: [16, 20] } }, 'b.safetensors'));
    expect(error.message).toBe('b.safetensors: parameter fc1.weight has shape [16,20], expected [20,16]');
    // rank matters too, not only the element count
    expect(() => validateParams(spec, { ...shapesOf(spec), 'fc3.bias': { shape: [3, 1] } }, 'x')).toThrow(/fc3\.bias has shape \[3,1\]/);
  });

  it('names an unexpected extra parameter', () => {
    const error = inputErrorOf(() => validateParams(spec, { ...shapesOf(spec), 'fc4.weight': { shape: [3, 3] } }, 'c.safetensors'));
    expect(error.message).toBe('c.safetensors: unexpected parameter fc4.weight for a mlp model');
  });

  it('names an unexpected extra parameter even if it is called "constructor"', () => {
    expect(() => validateParams(spec, { ...shapesOf(spec), constructor: { shape: [1] } }, 'd.safetensors')).toThrow(InputError);
  });
});

describe('initParams', () => {
  beforeAll(async () => {
    expect(await selectBackend('wasm')).toBe('wasm');
  });

  it('is deterministic per seed, differs across seeds, and stays within the bounds', () => {
    const before = liveTensors();
    const [a, again, other] = [initParams(spec, 1), initParams(spec, 1), initParams(spec, 2)];
    const [va, vAgain, vOther] = [readParams(a), readParams(again), readParams(other)];
    expect(vAgain).toEqual(va);
    for (const [name, p] of Object.entries(spec.params)) {
      expect(a[name]!.shape).toEqual(p.shape);
      expect(a[name]!.dtype).toBe('float32');
      expect(vOther[name]).not.toEqual(va[name]);
      const bound = p.init.kind === 'boundedUniform' ? p.init.bound : 0;
      expect(va[name]!.every((v) => Math.abs(v) <= bound)).toBe(true);
      // uniform in +-bound: spread over the interval, not concentrated
      expect(Math.max(...va[name]!)).toBeGreaterThan(bound / 3);
      expect(Math.min(...va[name]!)).toBeLessThan(-bound / 3);
    }
    // every tensor has its own stream: no two parameters of one model share values
    expect(va['fc1.bias']!.slice(0, 3)).not.toEqual(va['fc1.weight']!.slice(0, 3));
    [a, again, other].forEach(disposeParams);
    expect(liveTensors()).toBe(before);
  });

  it('derives each tensor from its name, not from the order of the spec', () => {
    const reversed: ModelSpec = { ...spec, params: Object.fromEntries(Object.entries(spec.params).reverse()) };
    const [a, b] = [initParams(spec, 5), initParams(reversed, 5)];
    const [va, vb] = [readParams(a), readParams(b)];
    for (const name of Object.keys(spec.params)) expect(vb[name]).toEqual(va[name]);
    [a, b].forEach(disposeParams);
  });

  it('is the same on the cpu backend', async () => {
    const onWasm = initParams(spec, 3);
    const wasmValues = readParams(onWasm);
    disposeParams(onWasm);
    await selectBackend('cpu');
    const onCpu = initParams(spec, 3);
    expect(readParams(onCpu)).toEqual(wasmValues);
    disposeParams(onCpu);
    await selectBackend('wasm');
  });

  it('feeds a forward pass that probes each space once with [batch, units]', () => {
    const params = initParams(spec, 1);
    const seen: [string, number[]][] = [];
    tf.tidy(() => {
      const x = tf.tensor(normalInputs(9, 20, 1), [9, 4, 5]);
      const logits = spec.forward(params, x, { probe: (space, a) => seen.push([space, a.shape]) });
      expect(logits.shape).toEqual([9, 3]);
      // a hooked pass computes the same logits as the fused one
      const hooked = spec.forward(params, x, { affine: (_layer, _input, pre) => pre });
      expect(Math.max(...tf.abs(tf.sub(hooked, logits)).dataSync())).toBeLessThan(1e-6);
    });
    expect(seen).toEqual([
      ['fc1', [9, 16]],
      ['fc2', [9, 12]],
    ]);
    disposeParams(params);
  });
});
