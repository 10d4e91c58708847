import { selectBackend } from '../../backend/selectBackend.js';
import { checkOutputFiles } from '../../io/outputPaths.js';
import { loadRecipe, parseRecipe, withOverrides } from '../../recipe/loadRecipe.js';
import type { Recipe } from '../../recipe/schema.js';
import { StageContext } from '../../stages/context.js';
import { positiveInteger } from '../argumentParsers.js';
import { terminalObserver } from '../progressDisplay.js';
import { recipeOverrides, type RecipeCommand } from '../recipeOptions.js';

/** wasm compute threads, for every command that computes. */
export const threadsOption = ['--threads <n>', 'wasm compute threads (default: MERGE_TRAIN_THREADS, else one per core)', positiveInteger] as const;

/** The source named in messages about flags given to a stage command. */
export const COMMAND_LINE = 'command line';

/** The option that takes a stage command's settings from a recipe file. */
export const recipeOption = ['--recipe <recipe>', "take the settings from this recipe (a file, or a name in recipes/); flags override it"] as const;

/**
 * The recipe a stage command's flags describe: `--recipe` or the recipe defaults, with the flags on
 * top, validated by the recipe schema, so a stage uses the same numbers and accepts the same values as
 * `merge-train run`. Returns where the settings came from too, for messages.
 */
export async function recipeFromFlags(options: Record<string, unknown>, command: RecipeCommand): Promise<{ recipe: Recipe; source: string }> {
  const overrides = recipeOverrides(options, command);
  if (typeof options.recipe === 'string') {
    // A command that only trains, imports or exports needs no merge method of the recipe to fit the model.
    const merging = command !== 'train' && command !== 'import' && command !== 'export';
    const { recipe, path } = await loadRecipe(options.recipe, overrides, { merging });
    return { recipe, source: path };
  }
  return { recipe: parseRecipe(withOverrides({ name: COMMAND_LINE.replace(' ', '-') }, overrides), COMMAND_LINE), source: COMMAND_LINE };
}

/** The files a stage command reads and writes, checked before any work starts. */
export interface CommandFiles {
  inputs: readonly string[];
  outputs: { flag: string; path: string | undefined }[];
}

/**
 * Runs a stage command: its recipe from the flags, its output files checked against its inputs
 * (see checkOutputFiles), the backend it names, and a stage context for `work`, freed afterwards.
 */
export async function runStageCommand(
  options: Record<string, unknown>,
  command: RecipeCommand,
  files: CommandFiles,
  work: (run: { recipe: Recipe; source: string; ctx: StageContext }) => Promise<void>,
): Promise<void> {
  const { recipe, source } = await recipeFromFlags(options, command);
  const outputs = files.outputs.flatMap(({ flag, path }) => (path === undefined ? [] : [{ flag, path }]));
  await checkOutputFiles(outputs, files.inputs);
  await selectBackend(recipe.backend, { threads: options.threads as number | undefined });
  const ctx = new StageContext(terminalObserver(), recipe.data.cacheDir);
  try {
    await work({ recipe, source, ctx });
  } finally {
    await ctx.dispose();
  }
}

/** A fraction as a percentage with two decimals. */
export const percent = (accuracy: number) => `${(100 * accuracy).toFixed(2)}%`;
