import type { Command } from 'commander';
import { loadRecipe } from '../../recipe/loadRecipe.js';
import { runRecipe } from '../../run/runRecipe.js';
import { summaryTable } from '../../report/summary.js';
import { positiveInteger } from '../argumentParsers.js';
import { terminalObserver } from '../progressDisplay.js';
import { addRecipeOptions, recipeOverrides } from '../recipeOptions.js';
import { threadsOption } from './shared.js';

/** Runs a recipe with command-line overrides, then prints the results table. */
export async function runRecipeCommand(recipeName: string, options: Record<string, unknown>): Promise<void> {
  const { recipe, path } = await loadRecipe(recipeName, recipeOverrides(options, 'run'));
  const observer = terminalObserver();
  const out = typeof options.out === 'string' ? options.out : undefined;
  observer.log(`recipe ${path} → ${out ?? `reports/${recipe.name}`}`);
  const { metrics, dir } = await runRecipe(recipe, {
    observer,
    recipePath: path,
    ...(out ? { outDir: out } : {}),
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
    .option('--out <dir>', 'run directory (default reports/<name>); rerun with other alignment or merge settings to add those variants')
    .option('--restart', 'start the run directory over, even for other base-model settings (base models trained with the same settings are kept)')
    .option('--jobs <n>', 'base models trained, and independent merges of many models made, at once in worker processes (default: MERGE_TRAIN_JOBS, else one per core)', positiveInteger)
    .option(...threadsOption);
  return addRecipeOptions(command, 'run');
}

export function registerRun(program: Command): void {
  const command = program
    .command('run')
    .description('run a recipe end to end: train, align, merge, evaluate, report (in a run directory that grows with new settings)')
    .argument('<recipe>', 'recipe file, or the name of one in recipes/ (e.g. quickstart)');
  addRunOptions(command).action((recipe: string, options: Record<string, unknown>) => runRecipeCommand(recipe, options));
}
