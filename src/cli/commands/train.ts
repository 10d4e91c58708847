import type { Command } from 'commander';
import { checkRecipe } from '../../recipe/loadRecipe.js';
import { trainSettings } from '../../recipe/methodSettings.js';
import { evaluateStage } from '../../stages/evaluateStage.js';
import { trainStage } from '../../stages/trainStage.js';
import { nonNegativeInteger } from '../argumentParsers.js';
import { addRecipeOptions } from '../recipeOptions.js';
import { percent, recipeOption, runStageCommand, threadsOption } from './shared.js';

function trainCommand(options: Record<string, unknown>): Promise<void> {
  const files = { inputs: [], outputs: [{ flag: '--out', path: options.out as string }] };
  return runStageCommand(options, 'train', files, async ({ recipe, source, ctx }) => {
    checkRecipe(recipe, source, { merging: false });
    const out = options.out as string;
    const { made } = await trainStage(trainSettings(recipe), options.index as number, out, ctx);
    const [evaluation] = (await evaluateStage([out], ctx)).models;
    console.log(`${out}: test accuracy ${percent(evaluation!.accuracy)}${made ? '' : ' (it held this model already: reused)'}`);
  });
}

export function registerTrain(program: Command): void {
  const command = program
    .command('train')
    .description('train base model --index of a run with this --seed and settings, and save it as .safetensors (skipped if --out holds it already)')
    .requiredOption('--out <file>', 'checkpoint to write (.safetensors)')
    .option('--index <i>', 'which base model of the run (0 = A, 1 = B, ...): its seed derives from --seed and i', nonNegativeInteger, 0)
    .option(...recipeOption)
    .option(...threadsOption);
  addRecipeOptions(command, 'train').action((options: Record<string, unknown>) => trainCommand(options));
}
