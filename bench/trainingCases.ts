/**
 * The networks the bench trains: one epoch of SGD with momentum at batch 128 on synthetic data. The
 * training sections time them in this process; the PyTorch yardstick (torchCompare.ts) times the
 * same cases in merge-train and PyTorch child processes.
 */
import type { TrainingCase } from './sections.js';

export type TrainingCaseKey = 'mlp' | 'vgg' | 'resnet';

export const trainingCases: Record<TrainingCaseKey, TrainingCase> = {
  mlp: { key: 'mlp', label: 'MLP 784-512-512-10', family: 'mlp', config: { hidden: [512, 512] }, inputShape: [784], examples: 4096 },
  vgg: { key: 'vgg', label: 'VGG 16,M,32,M,64,M +BN', family: 'vgg', config: { layout: [16, 'M', 32, 'M', 64, 'M'], batchNorm: true }, inputShape: [28, 28, 1], examples: 1024 },
  resnet: { key: 'resnet', label: 'ResNet [1,1,1] 12/24/48', family: 'resnet', config: { blocks: [1, 1, 1], widths: [12, 24, 48] }, inputShape: [28, 28, 1], examples: 1024 },
};

/** How every bench case trains (the learning rate does not change the work of a step). */
export const trainingSettings = { batchSize: 128, learningRate: 0.01, momentum: 0.9 } as const;
