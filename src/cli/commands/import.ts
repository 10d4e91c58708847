import type { Command } from 'commander';
import { datasets } from '../../data/registry.js';
import { families } from '../../nn/families.js';
import { formatOf, modelFormats, type FormatHints } from '../../interop/formats.js';
import { checkRecipe } from '../../recipe/loadRecipe.js';
import { dataOf } from '../../recipe/methodSettings.js';
import { evaluateStage } from '../../stages/evaluateStage.js';
import { importStage } from '../../stages/importStage.js';
import { jsonObject } from '../argumentParsers.js';
import { addRecipeOptions } from '../recipeOptions.js';
import { percent, recipeOption, runStageCommand, threadsOption } from './shared.js';

function importCommand(file: string, options: Record<string, unknown>): Promise<void> {
  const out = options.out as string;
  const files = { inputs: [file], outputs: [{ flag: '--out', path: out }] };
  return runStageCommand(options, 'import', files, async ({ recipe, source, ctx }) => {
    checkRecipe(recipe, source, { merging: false });
    const data = dataOf(recipe);
    const dataset = datasets.get(data.dataset);
    // Only a dataset the user named says what the model takes: the recipe's default would be a guess.
    const named = options.dataset !== undefined || options.recipe !== undefined;
    const hints: FormatHints = {
      ...(typeof options.family === 'string' ? { family: options.family } : {}),
      ...(options.config !== undefined ? { config: options.config as Record<string, unknown> } : {}),
      ...(named ? { inputShape: dataset.inputShape, numClasses: dataset.numClasses } : {}),
    };
    const format = modelFormats.get((options.format as string | undefined) ?? formatOf(file)).name;
    const { made, spec } = await importStage(file, { format, hints, data }, out, ctx);
    const [evaluation] = (await evaluateStage([out], ctx)).models;
    const reused = made ? '' : ' (it held this import already: reused)';
    console.log(`${out}: ${file} as a ${spec.family} ${JSON.stringify(spec.config)} on ${dataset.name}, test accuracy ${percent(evaluation!.accuracy)}${reused}`);
  });
}

/** Adds `merge-train import <file> --out <checkpoint>` to the command line. */
export function registerImport(program: Command): void {
  const command = program
    .command('import')
    .description('read a model trained elsewhere (a PyTorch state dict as safetensors, a TensorFlow.js model.json) into a checkpoint every stage takes (skipped if --out holds it already)')
    .argument('<file>', 'the model file')
    .requiredOption('--out <file>', 'checkpoint to write (.safetensors)')
    .option('--format <name>', `the file's format (one of ${modelFormats.names().join(', ')}; default: tfjs for a .json file, else torch)`)
    .option('--family <name>', `the model family, where the file does not show it (one of ${families.names().join(', ')})`)
    .option('--config <json>', 'the family\'s configuration where the weights do not show it, as JSON, e.g. \'{"layout":[64,"M",128,"M"]}\'', jsonObject)
    .option(...recipeOption)
    .option(...threadsOption);
  addRecipeOptions(command, 'import').action(importCommand);
}
