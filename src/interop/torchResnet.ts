import { resnetFamily } from '../nn/resnet.js';
import { InputError } from '../util/errors.js';
import { numberedKeys, shapeOf, type TorchDefinition } from './torchDefinition.js';

/**
 * merge-train's `resnet` in PyTorch, the CIFAR ResNet of BasicBlocks (He et al.; the naming of the
 * widely used kuangliu/pytorch-cifar definition, with global average pooling):
 *
 *     class BasicBlock(nn.Module):
 *         def __init__(self, inputs, width, stride=1, batch_norm=True, padding='symmetric'):
 *             super().__init__()
 *             norm = nn.BatchNorm2d if batch_norm else (lambda _: nn.Identity())
 *             self.same = padding == 'same' and stride > 1
 *             self.conv1 = nn.Conv2d(inputs, width, 3, stride, 0 if self.same else 1, bias=not batch_norm)
 *             self.bn1 = norm(width)
 *             self.conv2 = nn.Conv2d(width, width, 3, 1, 1, bias=not batch_norm)
 *             self.bn2 = norm(width)
 *             self.shortcut = nn.Sequential()
 *             if stride != 1 or inputs != width:
 *                 self.shortcut = nn.Sequential(nn.Conv2d(inputs, width, 1, stride, bias=not batch_norm),
 *                                               *([nn.BatchNorm2d(width)] if batch_norm else []))
 *         def forward(self, x):
 *             # TensorFlow's 'same' at stride 2: one row (column) below (right), and above (left) on odd sizes
 *             h = F.pad(x, (x.shape[3] % 2, 1, x.shape[2] % 2, 1)) if self.same else x
 *             out = F.relu(self.bn1(self.conv1(h)))
 *             return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))
 *
 *     class ResNet(nn.Module):
 *         def __init__(self, blocks=(3, 3, 3), widths=(16, 32, 64), in_channels=3, classes=10,
 *                      batch_norm=True, padding='symmetric'):
 *             super().__init__()
 *             self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=not batch_norm)
 *             self.bn1 = nn.BatchNorm2d(widths[0]) if batch_norm else nn.Identity()
 *             channels, self.stages = widths[0], len(blocks)
 *             for s, (count, width) in enumerate(zip(blocks, widths)):
 *                 stage = []
 *                 for b in range(count):
 *                     stage.append(BasicBlock(channels, width, 2 if b == 0 and s > 0 else 1, batch_norm, padding))
 *                     channels = width
 *                 setattr(self, f'layer{s + 1}', nn.Sequential(*stage))
 *             self.linear = nn.Linear(channels, classes)
 *         def forward(self, x):
 *             out = F.relu(self.bn1(self.conv1(x)))
 *             for s in range(self.stages):
 *                 out = getattr(self, f'layer{s + 1}')(out)
 *             return self.linear(torch.flatten(F.adaptive_avg_pool2d(out, 1), 1))
 *
 * Keys: merge-train's names but for the shortcut (`shortcut.conv` is `shortcut.0`, `shortcut.bn` is
 * `shortcut.1`) and the classifier (`fc` is `linear`). A model read from PyTorch pads its stride-2
 * convolutions symmetrically (`padding: symmetric`, PyTorch's padding=1); one of merge-train's default
 * padding needs `padding='same'` in PyTorch to compute the same function on even-sized inputs.
 */
export const torchResnet: TorchDefinition = {
  family: resnetFamily.name,
  keys: 'conv1.weight, layer<s>.<b>.conv1.weight, layer<s>.<b>.shortcut.0.weight and linear.weight',
  recognises: (keys) => keys.includes('conv1.weight') && keys.some((key) => /^layer\d+\.\d+\.conv1\.weight$/.test(key)),
  infer(shapes, config, source) {
    const stem = shapeOf(shapes, 'conv1.weight', 4, 'the stem nn.Conv2d weight [width, channels, 3, 3]', source);
    const firstConvs = numberedKeys(Object.keys(shapes), /^layer(\d+)\.(\d+)\.conv1\.weight$/);
    if (firstConvs.length === 0) throw new InputError(`${source}: no tensor layer<s>.<b>.conv1.weight; expected the BasicBlocks of the PyTorch ResNet`);
    const blocks: number[] = [];
    const widths: number[] = [];
    for (const { key, numbers: [stage, block] } of firstConvs) {
      if (stage! > blocks.length + 1 || stage === 0) {
        throw new InputError(`${source}: ${key} is in stage layer${stage} but layer${blocks.length + 1} has no blocks; expected stages layer1, layer2, ... in turn`);
      }
      if (stage === blocks.length + 1) {
        blocks.push(0);
        widths.push(shapeOf(shapes, key, 4, 'an nn.Conv2d weight [width, channels, 3, 3]', source)[0]!);
      }
      if (block !== blocks[stage! - 1]) {
        throw new InputError(`${source}: ${key} is block ${block} of layer${stage} but block ${blocks[stage! - 1]} is missing; expected blocks 0, 1, ... in turn`);
      }
      blocks[stage! - 1]!++;
    }
    if (stem[0] !== widths[0]) {
      throw new InputError(`${source}: conv1.weight gives ${stem[0]} channels but layer1 is ${widths[0]} wide; merge-train's ${resnetFamily.name} has a stem as wide as its first stage`);
    }
    const linear = shapeOf(shapes, 'linear.weight', 2, 'the nn.Linear classifier weight [classes, channels]', source);
    if (linear[1] !== widths[widths.length - 1]) {
      throw new InputError(`${source}: linear.weight takes ${linear[1]} inputs but the last stage is ${widths[widths.length - 1]} wide; expected a linear classifier on the globally pooled channels`);
    }
    return {
      family: resnetFamily.name,
      config: { blocks, widths, batchNorm: Object.hasOwn(shapes, 'bn1.running_mean'), padding: 'symmetric', ...config },
      numClasses: linear[0]!,
      inputs: { channels: stem[1]! },
    };
  },
  exportNote: (spec) =>
    spec.config.padding === 'symmetric'
      ? undefined
      : "its stride-2 convolutions pad as TensorFlow's 'same' does: build the PyTorch ResNet with padding='same' for the same function on even-sized inputs",
  keyOf: () => (param) =>
    param
      .replace(/^(.+\.shortcut)\.conv\.(weight|bias)$/, '$1.0.$2')
      .replace(/^(.+\.shortcut)\.bn\./, '$1.1.')
      .replace(/^fc\./, 'linear.'),
};
