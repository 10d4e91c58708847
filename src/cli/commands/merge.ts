import type { Command } from 'commander';
import { selectBackend } from '../../backend/selectBackend.js';
import { mergeSettings } from '../../recipe/methodSettings.js';
import { StageContext } from '../../stages/context.js';
import { mergeStage } from '../../stages/mergeStage.js';
import { terminalObserver } from '../progressDisplay.js';
import { addRecipeOptions } from '../recipeOptions.js';
import { recipeFromFlags, recipeOption, threadsOption } from './shared.js';

async function mergeCommand(pathA: string, pathB: string, options: Record<string, unknown>): Promise<void> {
  const { recipe } = await recipeFromFlags(options, 'merge');
  const [alpha] = recipe.merge.alphas;
  await selectBackend(recipe.backend, { threads: options.threads as number | undefined });
  const ctx = new StageContext(terminalObserver(), recipe.data.cacheDir);
  try {
    const out = options.out as string;
    const masks = options.masksOut as string | undefined;
    const { made } = await mergeStage({ a: pathA, b: pathB }, mergeSettings(alpha!, recipe), { model: out, ...(masks ? { masks } : {}) }, ctx);
    console.log(`${out}: merged with ${alpha} alpha${made ? '' : ' (it held this merge already: reused)'}`);
  } finally {
    await ctx.dispose();
  }
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
