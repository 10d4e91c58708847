import { parseRecipe, withOverrides } from '../../recipe/loadRecipe.js';
import type { Recipe } from '../../recipe/schema.js';
import { positiveInteger } from '../argumentParsers.js';
import { recipeOverrides, type RecipeCommand } from '../recipeOptions.js';

/** wasm compute threads, for every command that computes. */
export const threadsOption = ['--threads <n>', 'wasm compute threads (default: MERGE_TRAIN_THREADS, else one per core)', positiveInteger] as const;

/** The source named in messages about flags given to a stage command. */
export const COMMAND_LINE = 'command line';

/**
 * The recipe a stage command's flags describe: the recipe defaults with the flags on top, validated by
 * the recipe schema, so a stage uses the same numbers and accepts the same values as `merge-train run`.
 */
export function recipeFromFlags(options: Record<string, unknown>, command: RecipeCommand): Recipe {
  return parseRecipe(withOverrides({ name: COMMAND_LINE.replace(' ', '-') }, recipeOverrides(options, command)), COMMAND_LINE);
}

/** A fraction as a percentage with two decimals. */
export const percent = (accuracy: number) => `${(100 * accuracy).toFixed(2)}%`;
