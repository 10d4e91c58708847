import type { Command } from 'commander';
import { mergeSettings } from '../../recipe/methodSettings.js';
import { mergeStage } from '../../stages/mergeStage.js';
import { addRecipeOptions } from '../recipeOptions.js';
import { recipeOption, runStageCommand, threadsOption } from './shared.js';

function mergeCommand(pathA: string, pathB: string, options: Record<string, unknown>): Promise<void> {
  const outputs = [
    { flag: '--out', path: options.out as string },
    { flag: '--masks-out', path: options.masksOut as string | undefined },
  ];
  return runStageCommand(options, 'merge', { inputs: [pathA, pathB], outputs }, async ({ recipe, ctx }) => {
    const [alpha] = recipe.merge.alphas;
    const out = options.out as string;
    const masks = options.masksOut as string | undefined;
    // Without --seed or --recipe, the seed of the run model A came from, as `run` would use.
    const seed = options.seed === undefined && options.recipe === undefined ? (await ctx.checkpoint(pathA)).info.splitSeed : recipe.seed;
    const settings = { ...mergeSettings(alpha!, recipe), seed };
    const { made } = await mergeStage({ a: pathA, b: pathB }, settings, () => ({ model: out, ...(masks ? { masks } : {}) }), ctx);
    console.log(`${out}: merged with ${alpha} alpha${made ? '' : ' (it held this merge already: reused)'}`);
  });
}

export function registerMerge(program: Command): void {
  const command = program
    .command('merge')
    .description("merge A with an aligned B' by W = alpha * W_A + (1 - alpha) * W_B'")
    .argument('<a>', 'model A (.safetensors)')
    .argument('<b>', "model B', aligned to A (.safetensors)")
    .requiredOption('--out <file>', 'merged model to write')
    .option('--masks-out <file>', 'also write the alpha masks (.safetensors)')
    .option(...recipeOption)
    .option(...threadsOption);
  addRecipeOptions(command, 'merge', ['--alpha']).action(mergeCommand);
}
