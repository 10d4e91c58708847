import { z } from 'zod';
import { backendNames } from '../backend/selectBackend.js';

/**
 * The recipe: one experiment, as a YAML or JSON file in recipes/. Every number that matters lives here,
 * with its default in this one place. Unknown fields are errors.
 */

const alignMethod = z.enum(['none', 'permutation', 'cca']);
const alphaKind = z.enum(['uniform', 'fisher', 'learned']);
const alphaInit = z.enum(['uniform', 'fisher']);

/** Lists where each entry names one variant to run: a repeat would run (and report) it twice. */
const noRepeats = (items: readonly string[]) => new Set(items).size === items.length;

export const recipeSchema = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[\w.-]+$/, 'expected letters, digits, "_", "-" and "." only')
    .refine((name) => !/^\.+$/.test(name), 'expected a name that is not only dots (it names the folder reports/<name>/)')
    .describe('run name: results go to reports/<name>/'),
  seed: z.number().int().nonnegative().default(0).describe('seed for the data split; model i uses seed + i'),
  backend: z.enum(backendNames).default('auto').describe('TensorFlow.js backend'),
  data: z
    .strictObject({
      dataset: z.string().default('mnist').describe('dataset key (mnist, fashion-mnist, cifar10, cifar100)'),
      split: z
        .strictObject({
          train: z.number().int().positive().optional(),
          merge: z.number().int().positive().optional(),
          test: z.number().int().positive().optional(),
        })
        .default({})
        .describe('examples per split; the dataset\'s defaults where omitted'),
      cacheDir: z.string().min(1).default('data').describe('where decoded datasets are cached'),
    })
    .prefault({}),
  model: z
    .strictObject({
      family: z.string().default('mlp'),
      config: z.record(z.string(), z.unknown()).default({}).describe('the family\'s settings; each has defaults'),
    })
    .prefault({}),
  train: z
    .strictObject({
      models: z.number().int().min(2).default(2).describe('independently trained base models (A, B, ...)'),
      epochs: z.number().int().positive().default(10),
      batchSize: z.number().int().positive().default(128),
      optimizer: z.enum(['sgd', 'adam']).default('sgd'),
      learningRate: z.number().positive().default(0.05),
      momentum: z.number().min(0).max(1).default(0.9),
      weightDecay: z.number().nonnegative().default(0).describe('L2 penalty, as PyTorch SGD\'s weight_decay'),
      schedule: z.enum(['constant', 'cosine', 'linear']).default('constant').describe('learning-rate decay after warm-up'),
      warmupEpochs: z.number().nonnegative().default(0).describe('epochs of linear learning-rate warm-up'),
      augment: z
        .strictObject({
          cropPadding: z.number().int().nonnegative().default(0).describe('random crop after this much zero padding'),
          flip: z.boolean().default(false).describe('random horizontal flips'),
        })
        .nullable()
        .default(null)
        .describe('image augmentation; null for none'),
    })
    .prefault({}),
  align: z
    .strictObject({
      methods: z.array(alignMethod).min(1).refine(noRepeats, 'expected each method at most once').default(['none', 'permutation', 'cca']),
      gamma: z.number().nonnegative().default(1).describe('CCA ridge: S + gamma * I'),
      batchNorm: z
        .enum(['fold-scale', 'transform', 'fold'])
        .default('fold-scale')
        .describe(
          'BatchNorm under alignment: fold its scale into the convolution so it only shifts (exact under any linear map), or transform its vectors like a bias (CCA Merge reference code), both with statistics recomputed after merging; or fold it wholly into the convolutions',
        ),
      batchSize: z.number().int().positive().default(500),
    })
    .prefault({}),
  merge: z
    .strictObject({
      alphas: z.array(alphaKind).min(1).refine(noRepeats, 'expected each kind at most once').default(['uniform', 'fisher', 'learned']),
      init: alphaInit.default('uniform').describe('initial alpha of learned masks'),
      fisher: z.enum(['expected', 'empirical']).default('expected'),
      steps: z.number().int().positive().default(300).describe('learned-alpha optimisation steps'),
      batchSize: z.number().int().positive().default(128),
      learningRate: z.number().positive().default(0.01).describe('Adam step size on alpha logits'),
      validationFraction: z
        .number()
        .gt(0)
        .lt(1)
        .default(0.2)
        .describe('part of the merge split held out to pick the best alpha step (early stopping)'),
      evalEvery: z.number().int().positive().default(10).describe('steps between validation checks'),
      resetExamples: z
        .number()
        .int()
        .positive()
        .default(5000)
        .describe('training examples on which a merged BatchNorm network\'s statistics are recomputed'),
    })
    .prefault({}),
});

/** A recipe as written (defaults optional). */
export type RecipeInput = z.input<typeof recipeSchema>;
/** A recipe with every default filled in. */
export type Recipe = z.output<typeof recipeSchema>;
