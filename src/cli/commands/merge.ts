import type { Command } from 'commander';
import { mergeSettings } from '../../recipe/methodSettings.js';
import { mergeStage } from '../../stages/mergeStage.js';
import { addRecipeOptions } from '../recipeOptions.js';
import { recipeOption, runStageCommand, threadsOption } from './shared.js';

function mergeCommand(paths: string[], options: Record<string, unknown>): Promise<void> {
  const outputs = [
    { flag: '--out', path: options.out as string },
    { flag: '--masks-out', path: options.masksOut as string | undefined },
  ];
  return runStageCommand(options, 'merge', { inputs: paths, outputs }, async ({ recipe, ctx }) => {
    const [alpha] = recipe.merge.alphas;
    const out = options.out as string;
    const masks = options.masksOut as string | undefined;
    // Without --seed or --recipe, the seed of the run the first model came from, as `run` would use.
    const seed = options.seed === undefined && options.recipe === undefined ? (await ctx.checkpoint(paths[0]!)).info.splitSeed : recipe.seed;
    const settings = { ...mergeSettings(alpha!, recipe), seed };
    const { made } = await mergeStage(paths, settings, () => ({ model: out, ...(masks ? { masks } : {}) }), ctx);
    console.log(`${out}: merged with ${alpha} alpha${made ? '' : ' (it held this merge already: reused)'}`);
  });
}

export function registerMerge(program: Command): void {
  const command = program
    .command('merge')
    .description("merge A with an aligned B' by W = alpha * W_A + (1 - alpha) * W_B' (more models: W = sum_k w_k W_k)")
    .argument('<models...>', "model A, then model B' aligned to A, and any further models aligned to A (.safetensors)")
    .requiredOption('--out <file>', 'merged model to write')
    .option('--masks-out <file>', 'also write the alpha masks (.safetensors; of more than two models, every model\'s weights)')
    .option(...recipeOption)
    .option(...threadsOption);
  addRecipeOptions(command, 'merge', ['--alpha']).action(mergeCommand);
}
