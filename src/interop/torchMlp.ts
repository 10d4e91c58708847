import { mlpFamily } from '../nn/mlp.js';
import { InputError } from '../util/errors.js';
import { numberedKeys, shapeOf, type TorchDefinition } from './torchDefinition.js';

/** The position of the first nn.Linear in `layers`: after nn.Flatten (written), or first (also read). */
const AFTER_FLATTEN = 1;

/**
 * merge-train's `mlp` in PyTorch:
 *
 *     class MLP(nn.Module):
 *         def __init__(self, inputs=784, hidden=(256, 256), classes=10):
 *             super().__init__()
 *             widths, layers = [inputs, *hidden], [nn.Flatten()]
 *             for a, b in zip(widths, widths[1:]):
 *                 layers += [nn.Linear(a, b), nn.ReLU()]
 *             self.layers = nn.Sequential(*layers, nn.Linear(widths[-1], classes))
 *         def forward(self, x):
 *             return self.layers(x)
 *
 * Keys: fc<k> is `layers.<2k-1>` (layers.1, layers.3, ...: nn.Flatten is layers.0, each nn.ReLU takes
 * an index). A Sequential without the nn.Flatten (layers.0, layers.2, ...; flattening in forward) is read too.
 */
export const torchMlp: TorchDefinition = {
  family: mlpFamily.name,
  keys: 'layers.<i>.weight and .bias (nn.Linear at every other index of an nn.Sequential)',
  recognises: (keys) => keys.some((key) => /^layers\.\d+\.weight$/.test(key)),
  infer(shapes, config, source) {
    const linears = numberedKeys(Object.keys(shapes), /^layers\.(\d+)\.weight$/);
    const first = linears[0]?.numbers[0];
    if (first === undefined) throw new InputError(`${source}: no tensor layers.<i>.weight; expected the nn.Linear weights of the PyTorch MLP's nn.Sequential`);
    if (first > AFTER_FLATTEN) {
      throw new InputError(`${source}: the first nn.Linear is layers.${first}; expected it at index 0 of the nn.Sequential, or 1 after an nn.Flatten`);
    }
    linears.forEach(({ key, numbers: [index] }, k) => {
      if (index !== first + 2 * k) {
        throw new InputError(`${source}: ${key} is at index ${index} of layers; expected nn.Linear layers at indices ${first}, ${first + 2}, ${first + 4}, ... with an nn.ReLU between each two`);
      }
    });
    const weights = linears.map(({ key }) => shapeOf(shapes, key, 2, 'an nn.Linear weight [out, in]', source));
    weights.forEach((shape, k) => {
      const before = weights[k - 1];
      if (before && shape[1] !== before[0]) {
        throw new InputError(`${source}: ${linears[k]!.key} takes ${shape[1]} inputs but ${linears[k - 1]!.key} gives ${before[0]}; expected each nn.Linear to take the one before's outputs`);
      }
    });
    if (weights.length < 2) throw new InputError(`${source}: layers holds one nn.Linear; merge-train's ${mlpFamily.name} has at least one hidden layer`);
    return {
      family: mlpFamily.name,
      config: { hidden: weights.slice(0, -1).map((shape) => shape[0]!), ...config },
      numClasses: weights[weights.length - 1]![0]!,
      inputs: { features: weights[0]![1]! },
    };
  },
  keyOf(_spec, keys) {
    const first = keys?.includes('layers.0.weight') ? 0 : AFTER_FLATTEN;
    return (param) => {
      const match = /^fc(\d+)\.(weight|bias)$/.exec(param);
      if (!match) throw new Error(`torch mlp: no key for parameter ${param}`);
      return `layers.${first + 2 * (Number(match[1]) - 1)}.${match[2]}`;
    };
  },
};
