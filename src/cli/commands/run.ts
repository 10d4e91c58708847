import type { Command } from 'commander';
import { loadRecipe } from '../../recipe/loadRecipe.js';
import { runRecipe } from '../../recipe/runRecipe.js';
import { summaryTable } from '../../report/summary.js';
import { terminalObserver } from '../progressDisplay.js';
import { positiveInteger } from '../argumentParsers.js';
import { addRecipeOptions, recipeOverrides } from '../recipeOptions.js';
import { threadsOption } from './stages.js';

/** Runs a recipe with command-line overrides, then prints the results table. */
export async function runRecipeCommand(recipeName: string, options: Record<string, unknown>): Promise<void> {
  const { recipe, path } = await loadRecipe(recipeName, recipeOverrides(options));
  const observer = terminalObserver();
  observer.log(`recipe ${path} → ${typeof options.out === 'string' ? options.out : `reports/${recipe.name}`}`);
  const { metrics, dir } = await runRecipe(recipe, {
    observer,
    recipePath: path,
    outDir: typeof options.out === 'string' ? options.out : undefined,
    jobs: options.jobs as number | undefined,
    restart: options.restart === true,
    threads: options.threads as number | undefined,
  });
  console.log(`\n${summaryTable(metrics)}\n`);
  console.log(`report: ${dir}/summary.md, figures in ${dir}/figures/`);
}

/** Adds the run-directory and recipe-override options shared by `run` and the default command. */
export function addRunOptions(command: Command): Command {
  command
    .option('--out <dir>', 'run directory (default reports/<name>)')
    .option('--restart', 'redo every stage of an existing run directory, even for a changed recipe (matching base models are kept)')
    .option('--jobs <n>', 'base models trained at once, in worker processes (default: MERGE_TRAIN_JOBS, else one per core)', positiveInteger)
    .option(...threadsOption);
  return addRecipeOptions(command);
}

export function registerRun(program: Command): void {
  const command = program
    .command('run')
    .description('run a recipe end to end: train, align, merge, evaluate, report')
    .argument('<recipe>', 'recipe file, or the name of one in recipes/ (e.g. quickstart)');
  addRunOptions(command).action((recipe: string, options: Record<string, unknown>) => runRecipeCommand(recipe, options));
}
