import { describe, expect, it } from 'vitest';
import { inferTorchModel } from '../../src/interop/torchInfer.js';
import type { TorchShapes } from '../../src/interop/torchDefinition.js';
import { InputError } from '../../src/util/errors.js';

/** A BatchNorm2d's tensors under `prefix`. */
const norm = (prefix: string, channels: number): TorchShapes => ({
  [`${prefix}.weight`]: [channels],
  [`${prefix}.bias`]: [channels],
  [`${prefix}.running_mean`]: [channels],
  [`${prefix}.running_var`]: [channels],
  [`${prefix}.num_batches_tracked`]: [],
});

const mnist = { inputShape: [28, 28, 1], numClasses: 10 };
const cifar = { inputShape: [32, 32, 3], numClasses: 10 };

const mlp: TorchShapes = {
  'layers.1.weight': [32, 784],
  'layers.1.bias': [32],
  'layers.3.weight': [16, 32],
  'layers.3.bias': [16],
  'layers.5.weight': [10, 16],
  'layers.5.bias': [10],
};

/** torchvision numbering of [8, M, 16, 16, M] with BatchNorm: conv 0, 4, 7 (pools at 3 and 10). */
const vgg: TorchShapes = {
  'features.0.weight': [8, 3, 3, 3],
  ...norm('features.1', 8),
  'features.4.weight': [16, 8, 3, 3],
  ...norm('features.5', 16),
  'features.7.weight': [16, 16, 3, 3],
  ...norm('features.8', 16),
  'classifier.weight': [10, 16],
  'classifier.bias': [10],
};

/** blocks [2, 1], widths [8, 16], BatchNorm: a projection shortcut where stage 2 begins. */
const resnet: TorchShapes = {
  'conv1.weight': [8, 3, 3, 3],
  ...norm('bn1', 8),
  ...Object.fromEntries(
    [
      ['layer1.0', 8, 8],
      ['layer1.1', 8, 8],
      ['layer2.0', 8, 16],
    ].flatMap(([block, inputs, width]) => [
      [`${block}.conv1.weight`, [width, inputs, 3, 3]],
      ...Object.entries(norm(`${block}.bn1`, width as number)),
      [`${block}.conv2.weight`, [width, width, 3, 3]],
      ...Object.entries(norm(`${block}.bn2`, width as number)),
    ]),
  ),
  'layer2.0.shortcut.0.weight': [16, 8, 1, 1],
  ...norm('layer2.0.shortcut.1', 16),
  'linear.weight': [10, 16],
  'linear.bias': [10],
};

/** The refusal `work` throws: an InputError of one line naming the file. */
function refusal(work: () => unknown): string {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    const message = (error as Error).message;
    expect(message).not.toMatch(/\n/);
    expect(message.startsWith('model.safetensors: ')).toBe(true);
    return message;
  }
  throw new Error('expected a refusal');
}

const source = 'model.safetensors';

describe('inferTorchModel', () => {
  it('reads an MLP\'s hidden widths and classes from its nn.Linear shapes, with or without nn.Flatten first', () => {
    expect(inferTorchModel(mlp, mnist, source)).toEqual({ family: 'mlp', config: { hidden: [32, 16] }, inputShape: [28, 28, 1], numClasses: 10 });
    const withoutFlatten = Object.fromEntries(Object.entries(mlp).map(([key, shape]) => [key.replace(/\d+/, (i) => String(Number(i) - 1)), shape]));
    expect(inferTorchModel(withoutFlatten, mnist, source).config).toEqual({ hidden: [32, 16] });
  });

  it('reads a VGG\'s convolutions, BatchNorm and inner max-pools from torchvision\'s numbering; the last pools come from --config', () => {
    expect(refusal(() => inferTorchModel(vgg, cifar, source))).toMatch(/max-pools after the last convolution .*--config '\{"layout":\[8,"M",16,16\]\}', adding an "M"/);
    const record = inferTorchModel(vgg, { ...cifar, config: { layout: [8, 'M', 16, 16, 'M'] } }, source);
    expect(record).toEqual({ family: 'vgg', config: { batchNorm: true, layout: [8, 'M', 16, 16, 'M'] }, inputShape: [32, 32, 3], numClasses: 10 });
    const plain = Object.fromEntries(Object.entries(vgg).filter(([key]) => !/^features\.(1|5|8)\./.test(key)));
    expect(inferTorchModel(plain, { ...cifar, config: { layout: [8, 'M', 16, 16] } }, source).config).toMatchObject({ batchNorm: false });
  });

  it('reads a ResNet\'s blocks per stage, widths and BatchNorm from its keys, padded as PyTorch pads', () => {
    expect(inferTorchModel(resnet, cifar, source)).toEqual({
      family: 'resnet',
      config: { blocks: [2, 1], widths: [8, 16], batchNorm: true, padding: 'symmetric' },
      inputShape: [32, 32, 3],
      numClasses: 10,
    });
    // What the user gives wins over what is inferred.
    expect(inferTorchModel(resnet, { ...cifar, config: { padding: 'same' } }, source).config).toMatchObject({ padding: 'same', blocks: [2, 1] });
  });

  it('refuses keys that fit no definition, naming the family flag', () => {
    expect(refusal(() => inferTorchModel({ 'encoder.weight': [4, 4], 'decoder.weight': [4, 4] }, mnist, source))).toMatch(
      /its tensor names \(encoder\.weight, decoder\.weight\) fit no PyTorch definition merge-train knows .*--family/,
    );
    expect(refusal(() => inferTorchModel(mlp, { ...mnist, family: 'resnet' }, source))).toMatch(/tensor conv1\.weight is missing/);
    expect(refusal(() => inferTorchModel(mlp, { ...mnist, family: 'transformer' }, source))).toMatch(/unknown model family "transformer"/);
  });

  it('refuses inconsistent shapes', () => {
    expect(refusal(() => inferTorchModel({ ...mlp, 'layers.3.weight': [16, 31] }, mnist, source))).toMatch(/layers\.3\.weight takes 31 inputs but layers\.1\.weight gives 32/);
    expect(refusal(() => inferTorchModel({ ...mlp, 'layers.4.weight': [16, 16] }, mnist, source))).toMatch(/layers\.4\.weight is at index 4 of layers; expected nn\.Linear layers at indices 1, 3, 5/);
    expect(refusal(() => inferTorchModel({ ...vgg, 'features.7.weight': [16, 12, 3, 3] }, { ...cifar, config: { layout: [8] } }, source))).toMatch(
      /features\.7\.weight takes 12 channels but the convolution before gives 16/,
    );
    const mixed = Object.fromEntries(Object.entries(vgg).filter(([key]) => !key.startsWith('features.5.')));
    expect(refusal(() => inferTorchModel(mixed, cifar, source))).toMatch(/features\.0\.weight has an nn\.BatchNorm2d after it but features\.4\.weight has none/);
    expect(refusal(() => inferTorchModel({ ...resnet, 'conv1.weight': [4, 3, 3, 3] }, cifar, source))).toMatch(/conv1\.weight gives 4 channels but layer1 is 8 wide/);
    expect(refusal(() => inferTorchModel({ ...resnet, 'linear.weight': [10, 12] }, cifar, source))).toMatch(/linear\.weight takes 12 inputs but the last stage is 16 wide/);
    const skipped = Object.fromEntries(Object.entries(resnet).map(([key, shape]) => [key.replace(/^layer1\.1\./, 'layer1.2.'), shape]));
    expect(refusal(() => inferTorchModel(skipped, cifar, source))).toMatch(/layer1\.2\.conv1\.weight is block 2 of layer1 but block 1 is missing/);
  });

  it('refuses a model of another dataset, or without one: the weights do not say the input\'s shape', () => {
    expect(refusal(() => inferTorchModel(mlp, { numClasses: 10 }, source))).toMatch(/do not say the shape of the model's input; give the dataset .* with --dataset \(mnist, /);
    expect(refusal(() => inferTorchModel(mlp, cifar, source))).toMatch(/the first layer takes 784 values but the dataset's inputs are 32x32x3/);
    expect(refusal(() => inferTorchModel(resnet, mnist, source))).toMatch(/the first convolution takes 3 channels but the dataset's inputs are 28x28x1/);
    expect(refusal(() => inferTorchModel(resnet, { ...cifar, numClasses: 100 }, source))).toMatch(/the classifier has 10 outputs but the dataset has 100 classes/);
  });
});
