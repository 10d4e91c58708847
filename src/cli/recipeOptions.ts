import { InvalidArgumentError, type Command } from 'commander';
import { datasets } from '../data/registry.js';
import { families } from '../nn/families.js';
import { withOverrides } from '../recipe/loadRecipe.js';
import { recipeSchema } from '../recipe/schema.js';
import { fieldHelp } from '../recipe/schemaFields.js';

/** The commands whose flags set recipe fields. */
export type RecipeCommand = 'run' | 'train' | 'align' | 'merge' | 'eval' | 'import' | 'export';

/** How a flag's text becomes the field's value; the recipe schema then validates it, as in a file. */
type ValueKind = 'text' | 'number' | 'names' | 'numbers' | 'name';

/** One command-line flag that sets one recipe field. */
interface RecipeFlag {
  flags: string;
  /** Where the value goes in the recipe. */
  path: readonly string[];
  kind: ValueKind;
  /** The commands that take it. */
  commands: readonly RecipeCommand[];
  /** For fields the schema does not describe (a family's settings), or flags that set one value of a list. */
  description?: string;
  /** What the flag means to a command where it means more than the field's description says. */
  help?: Partial<Record<RecipeCommand, string>>;
  /** For fields whose values a registry checks (datasets, families): its names. */
  choices?: () => string[];
}

const all: readonly RecipeCommand[] = ['run', 'train', 'align', 'merge', 'eval'];

/**
 * The recipe fields a user can set from the command line, and their flags. Each command takes the
 * flags of the fields it reads, and the values go through the recipe schema: the same defaults, the
 * same validation and the same messages as in a recipe file. Fields without a flag are set in a recipe.
 */
export const recipeFlags: readonly RecipeFlag[] = [
  { flags: '--name <name>', path: ['name'], kind: 'text', commands: ['run'] },
  {
    flags: '--seed <n>',
    path: ['seed'],
    kind: 'number',
    commands: ['run', 'train', 'align', 'merge', 'import'],
    help: {
      import: 'seed of the data split the imported model is evaluated, aligned and merged on (default 0)',
      align: "seed of the aligner's random choices, for aligners that make some (weight matching's order of spaces; default 0)",
      merge: "seed of learned alpha's batch order (default: the seed of model A's data split)",
    },
  },
  { flags: '--repeats <n>', path: ['repeats'], kind: 'number', commands: ['run'] },
  { flags: '--backend <name>', path: ['backend'], kind: 'text', commands: [...all, 'import', 'export'] },
  {
    flags: '--dataset <name>',
    path: ['data', 'dataset'],
    kind: 'text',
    commands: ['run', 'train', 'import'],
    choices: () => datasets.names(),
    help: { import: 'the dataset the model was trained on, which gives its input shape, classes and data split (needed unless --recipe gives it)' },
  },
  { flags: '--cache-dir <dir>', path: ['data', 'cacheDir'], kind: 'text', commands: [...all, 'import'] },
  { flags: '--family <name>', path: ['model', 'family'], kind: 'text', commands: ['run', 'train'], choices: () => families.names() },
  { flags: '--hidden <widths>', path: ['model', 'config', 'hidden'], kind: 'numbers', commands: ['run', 'train'], description: 'MLP hidden widths, e.g. 512,512' },
  { flags: '--models <n>', path: ['train', 'models'], kind: 'number', commands: ['run'] },
  { flags: '--epochs <n>', path: ['train', 'epochs'], kind: 'number', commands: ['run', 'train'] },
  { flags: '--lr <rate>', path: ['train', 'learningRate'], kind: 'number', commands: ['run', 'train'] },
  { flags: '--optimizer <name>', path: ['train', 'optimizer'], kind: 'text', commands: ['run', 'train'] },
  { flags: '--align <methods>', path: ['align', 'methods'], kind: 'names', commands: ['run'] },
  { flags: '--method <name>', path: ['align', 'methods'], kind: 'name', commands: ['align'], description: 'alignment method' },
  { flags: '--gamma <g>', path: ['align', 'gamma'], kind: 'number', commands: ['run', 'align'] },
  { flags: '--max-iterations <n>', path: ['align', 'maxIterations'], kind: 'number', commands: ['run', 'align'] },
  { flags: '--batch-norm <mode>', path: ['align', 'batchNorm'], kind: 'text', commands: ['run', 'align'] },
  { flags: '--alphas <kinds>', path: ['merge', 'alphas'], kind: 'names', commands: ['run'] },
  { flags: '--alpha <kind>', path: ['merge', 'alphas'], kind: 'name', commands: ['merge'], description: 'merge method (alpha kind)' },
  { flags: '--init <init>', path: ['merge', 'init'], kind: 'text', commands: ['run', 'merge'] },
  { flags: '--fisher <mode>', path: ['merge', 'fisherMode'], kind: 'text', commands: ['run', 'merge'] },
  { flags: '--fisher-examples <n>', path: ['merge', 'fisherExamples'], kind: 'number', commands: ['run', 'merge'] },
  { flags: '--steps <n>', path: ['merge', 'steps'], kind: 'number', commands: ['run', 'merge'] },
  { flags: '--alpha-lr <rate>', path: ['merge', 'learningRate'], kind: 'number', commands: ['run', 'merge'] },
  { flags: '--granularity <g>', path: ['merge', 'granularity'], kind: 'text', commands: ['run', 'merge'] },
  { flags: '--interpolation-points <n>', path: ['merge', 'interpolationPoints'], kind: 'number', commands: ['run'] },
  { flags: '--reset-examples <n>', path: ['merge', 'resetExamples'], kind: 'number', commands: ['run', 'merge'] },
  { flags: '--many <counts>', path: ['many', 'models'], kind: 'numbers', commands: ['run'], description: "merge the first N base models for each N, e.g. 2,4,8 (the recipe's many.strategies)" },
];

/** Recipe fields set only in a recipe file (no flag); a test keeps this list and the flags covering the schema. */
export const fileOnlyFields: readonly string[] = [
  'data.split',
  'model.config',
  'train.batchSize',
  'train.momentum',
  'train.weightDecay',
  'train.schedule',
  'train.warmupEpochs',
  'train.augment',
  'align.batchSize',
  'merge.batchSize',
  'merge.validationFraction',
  'merge.evalEvery',
  'many.strategies',
  'many.reference',
  'many.pairing',
];

const numberOf = (text: string): number => {
  const value = Number(text.trim());
  if (text.trim() === '' || Number.isNaN(value)) throw new InvalidArgumentError(`expected a number, got "${text}"`);
  return value;
};
const namesOf = (text: string): string[] => text.split(',').map((v) => v.trim()).filter(Boolean);

const parsers: Record<ValueKind, (text: string) => unknown> = {
  text: (text) => text,
  number: numberOf,
  names: namesOf,
  numbers: (text) => namesOf(text).map(numberOf),
  name: (text) => [text],
};

/** The option's key as commander stores it: `--alpha-lr` becomes `alphaLr`. */
function optionKey(flags: string): string {
  return flags.split(' ')[0]!.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** A flag's help for `command`: the field's description from the schema, its choices and its default. */
function helpOf(flag: RecipeFlag, command: RecipeCommand): string {
  const help = fieldHelp(recipeSchema(), flag.path);
  const own = flag.help?.[command];
  const choices = flag.choices?.() ?? help.choices;
  if (own) return `${own}${flag.choices ? ` (one of ${choices!.join(', ')})` : ''} [${flag.path.join('.')}]`;
  const parts = [flag.description ?? help.description ?? flag.path.join('.')];
  if (choices) parts.push(`${flag.kind === 'names' ? 'comma-separated' : 'one'} of ${choices.join(', ')}`);
  if (help.defaultValue !== undefined && flag.kind !== 'name') parts.push(`default ${Array.isArray(help.defaultValue) ? help.defaultValue.join(',') : String(help.defaultValue)}`);
  return `${parts[0]}${parts.length > 1 ? ` (${parts.slice(1).join('; ')})` : ''} [${flag.path.join('.')}]`;
}

/** The flags `command` takes. */
export function flagsOf(command: RecipeCommand): RecipeFlag[] {
  return recipeFlags.filter((flag) => flag.commands.includes(command));
}

/** Adds the recipe flags of `command` to it; `required` lists flags the command cannot do without. */
export function addRecipeOptions(command: Command, which: RecipeCommand, required: readonly string[] = []): Command {
  for (const flag of flagsOf(which)) {
    const name = flag.flags.split(' ')[0]!;
    if (required.includes(name)) command.requiredOption(flag.flags, helpOf(flag, which), parsers[flag.kind]);
    else command.option(flag.flags, helpOf(flag, which), parsers[flag.kind]);
  }
  return command;
}

/** Turns parsed command-line options into a partial recipe (pure; tested). */
export function recipeOverrides(options: Record<string, unknown>, which: RecipeCommand = 'run'): Record<string, unknown> {
  let overrides: Record<string, unknown> = {};
  for (const flag of flagsOf(which)) {
    const value = options[optionKey(flag.flags)];
    if (value === undefined) continue;
    const nested = flag.path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value) as Record<string, unknown>;
    overrides = withOverrides(overrides, nested);
  }
  return overrides;
}
