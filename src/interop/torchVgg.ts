import { vggFamily, type VggLayout } from '../nn/vgg.js';
import { InputError } from '../util/errors.js';
import { numberedKeys, shapeOf, type TorchDefinition } from './torchDefinition.js';

/**
 * merge-train's `vgg` in PyTorch, `features` numbered as torchvision numbers it (every module takes
 * an index: nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d):
 *
 *     class VGG(nn.Module):
 *         def __init__(self, layout, in_channels=3, classes=10, batch_norm=True):
 *             super().__init__()
 *             layers, channels = [], in_channels
 *             for item in layout:
 *                 if item == 'M':
 *                     layers.append(nn.MaxPool2d(2, 2))
 *                     continue
 *                 layers.append(nn.Conv2d(channels, item, 3, padding=1, bias=not batch_norm))
 *                 layers += [nn.BatchNorm2d(item), nn.ReLU()] if batch_norm else [nn.ReLU()]
 *                 channels = item
 *             self.features = nn.Sequential(*layers)
 *             self.classifier = nn.Linear(channels, classes)
 *         def forward(self, x):
 *             return self.classifier(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))
 *
 * Read, a convolution bias before BatchNorm (torchvision's VGGs have one) is folded into the running
 * mean, and a classifier inside an nn.Sequential of its own (`classifier.<k>.weight`) is taken too.
 * The max-pools between convolutions show in the indices; those after the last do not.
 */
export const torchVgg: TorchDefinition = {
  family: vggFamily.name,
  keys: 'features.<i>.weight (nn.Conv2d, nn.BatchNorm2d) and classifier.weight',
  recognises: (keys) => keys.some((key) => /^features\.\d+\.weight$/.test(key)) && keys.some((key) => key.startsWith('classifier.')),
  infer(shapes, config, source) {
    const keys = Object.keys(shapes);
    const convs = numberedKeys(keys, /^features\.(\d+)\.weight$/).filter(({ key }) => shapes[key]!.length === 4);
    if (convs.length === 0) throw new InputError(`${source}: no 4-axis tensor features.<i>.weight; expected the nn.Conv2d weights of the PyTorch VGG's features`);
    const normed = convs.map(({ numbers: [index] }) => Object.hasOwn(shapes, `features.${index! + 1}.running_mean`));
    const batchNorm = normed[0]!;
    const odd = normed.findIndex((has) => has !== batchNorm);
    if (odd >= 0) {
      const [withNorm, without] = batchNorm ? [convs[0]!, convs[odd]!] : [convs[odd]!, convs[0]!];
      throw new InputError(
        `${source}: ${withNorm.key} has an nn.BatchNorm2d after it but ${without.key} has none; merge-train's ${vggFamily.name} has BatchNorm after every convolution or after none`,
      );
    }
    // Each convolution takes its own index, its BatchNorm's and its ReLU's; any index more is a max-pool.
    const modules = batchNorm ? 3 : 2;
    const layout: VggLayout = [];
    const inputChannels = shapes[convs[0]!.key]![1]!;
    let next = 0;
    let channels = 0;
    for (const { key, numbers: [index] } of convs) {
      const shape = shapes[key]!;
      if (index! < next) {
        throw new InputError(`${source}: ${key} is at index ${index} of features; expected nn.Conv2d${batchNorm ? ', nn.BatchNorm2d' : ''} and nn.ReLU to take an index each, so nothing before index ${next}`);
      }
      if (channels > 0 && shape[1] !== channels) {
        throw new InputError(`${source}: ${key} takes ${shape[1]} channels but the convolution before gives ${channels}; expected each nn.Conv2d to take the one before's outputs`);
      }
      for (let pool = next; pool < index!; pool++) layout.push('M');
      layout.push(shape[0]!);
      channels = shape[0]!;
      next = index! + modules;
    }
    const numbered = numberedKeys(keys, /^classifier\.(\d+)\.weight$/);
    if (numbered.length > 1) {
      throw new InputError(`${source}: classifier holds ${numbered.length} nn.Linear layers; merge-train's ${vggFamily.name} has one linear classifier after global average pooling`);
    }
    const classifierKey = numbered[0]?.key ?? 'classifier.weight';
    const classifier = shapeOf(shapes, classifierKey, 2, 'the nn.Linear classifier weight [classes, channels]', source);
    if (classifier[1] !== channels) {
      throw new InputError(`${source}: ${classifierKey} takes ${classifier[1]} inputs but the last convolution gives ${channels} channels; expected a linear classifier on the globally pooled channels`);
    }
    if (config?.layout === undefined) {
      throw new InputError(
        `${source}: max-pools after the last convolution leave no trace in the weights; give the layout with --config '{"layout":${JSON.stringify(layout)}}', adding an "M" at its end for each max-pool there`,
      );
    }
    return { family: vggFamily.name, config: { batchNorm, ...config }, numClasses: classifier[0]!, inputs: { channels: inputChannels } };
  },
  keyOf(spec, keys) {
    const layout = spec.config.layout as VggLayout;
    const batchNorm = spec.config.batchNorm === true;
    const names = new Map<string, string>();
    let index = 0;
    let conv = 0;
    for (const item of layout) {
      if (item === 'M') {
        index++;
        continue;
      }
      conv++;
      for (const part of ['weight', 'bias']) names.set(`conv${conv}.${part}`, `features.${index}.${part}`);
      if (batchNorm) for (const part of ['weight', 'bias', 'running_mean', 'running_var']) names.set(`bn${conv}.${part}`, `features.${index + 1}.${part}`);
      index += batchNorm ? 3 : 2;
    }
    const classifier = keys?.map((key) => /^(classifier\.\d+)\.weight$/.exec(key)?.[1]).find((prefix) => prefix !== undefined) ?? 'classifier';
    for (const part of ['weight', 'bias']) names.set(`classifier.${part}`, `${classifier}.${part}`);
    return (param) => {
      const key = names.get(param);
      if (key === undefined) throw new Error(`torch vgg: no key for parameter ${param}`);
      return key;
    };
  },
};
