import type { Command } from 'commander';
import { backendNames } from '../backend/selectBackend.js';
import { withOverrides } from '../recipe/loadRecipe.js';
import { integer, integerList, list, number } from './argumentParsers.js';

/** One command-line flag that overrides one recipe field. */
interface RecipeOption {
  flags: string;
  description: string;
  /** Where the value goes in the recipe. */
  path: readonly string[];
  parse?: (value: string) => unknown;
}

/** The recipe fields a user can override from the command line, and their flags. */
export const recipeOptions: readonly RecipeOption[] = [
  { flags: '--name <name>', description: 'run name (results in reports/<name>/)', path: ['name'] },
  { flags: '--seed <n>', description: 'seed of the data split; model i uses seed + i', path: ['seed'], parse: integer },
  { flags: '--backend <name>', description: `TensorFlow.js backend: ${backendNames.join(', ')}`, path: ['backend'] },
  { flags: '--dataset <name>', description: 'dataset: mnist, fashion-mnist, cifar10, cifar100', path: ['data', 'dataset'] },
  { flags: '--family <name>', description: 'model family: mlp, vgg, resnet (configure it in the recipe)', path: ['model', 'family'] },
  { flags: '--hidden <widths>', description: 'MLP hidden widths, e.g. 512,512', path: ['model', 'config', 'hidden'], parse: integerList },
  { flags: '--models <n>', description: 'number of base models to train', path: ['train', 'models'], parse: integer },
  { flags: '--epochs <n>', description: 'base-model training epochs', path: ['train', 'epochs'], parse: integer },
  { flags: '--lr <rate>', description: 'base-model learning rate', path: ['train', 'learningRate'], parse: number },
  { flags: '--optimizer <name>', description: 'base-model optimizer: sgd (with momentum) or adam', path: ['train', 'optimizer'] },
  { flags: '--align <methods>', description: 'alignment methods, comma-separated: none, permutation, cca', path: ['align', 'methods'], parse: list },
  { flags: '--gamma <g>', description: 'CCA ridge: S + gamma * I', path: ['align', 'gamma'], parse: number },
  {
    flags: '--batch-norm <mode>',
    description:
      'BatchNorm under alignment: fold-scale (its scale folded into the convolution; default), transform (like a bias), both with statistics recomputed after merging, or fold (wholly into the convolutions)',
    path: ['align', 'batchNorm'],
  },
  { flags: '--alphas <kinds>', description: 'merge variants, comma-separated: uniform, fisher, learned', path: ['merge', 'alphas'], parse: list },
  { flags: '--init <init>', description: 'initial alpha of learned masks: uniform or fisher', path: ['merge', 'init'] },
  { flags: '--fisher <mode>', description: 'Fisher information: expected (model\'s own predictions) or empirical (true labels)', path: ['merge', 'fisher'] },
  { flags: '--steps <n>', description: 'learned-alpha optimisation steps', path: ['merge', 'steps'], parse: integer },
  { flags: '--alpha-lr <rate>', description: 'learned-alpha Adam step size', path: ['merge', 'learningRate'], parse: number },
];

/** The option's key as commander stores it: `--alpha-lr` becomes `alphaLr`. */
function optionKey(flags: string): string {
  const long = flags.split(' ')[0]!.replace(/^--/, '');
  return long.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Adds every recipe override flag to a command. */
export function addRecipeOptions(command: Command): Command {
  for (const option of recipeOptions) {
    if (option.parse) command.option(option.flags, option.description, option.parse);
    else command.option(option.flags, option.description);
  }
  return command;
}

/** Turns parsed command-line options into a partial recipe (pure; tested). */
export function recipeOverrides(options: Record<string, unknown>): Record<string, unknown> {
  let overrides: Record<string, unknown> = {};
  for (const option of recipeOptions) {
    const value = options[optionKey(option.flags)];
    if (value === undefined) continue;
    const nested = option.path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>;
    overrides = withOverrides(overrides, nested);
  }
  return overrides;
}
