import type { Command } from 'commander';
import { selectBackend } from '../../backend/selectBackend.js';
import { alignSettings } from '../../recipe/methodSettings.js';
import { alignStage } from '../../stages/alignStage.js';
import { StageContext } from '../../stages/context.js';
import { terminalObserver } from '../progressDisplay.js';
import { addRecipeOptions } from '../recipeOptions.js';
import { recipeFromFlags, recipeOption, threadsOption } from './shared.js';

async function alignCommand(pathA: string, pathB: string, options: Record<string, unknown>): Promise<void> {
  const { recipe } = await recipeFromFlags(options, 'align');
  const [method] = recipe.align.methods;
  await selectBackend(recipe.backend, { threads: options.threads as number | undefined });
  const ctx = new StageContext(terminalObserver(), recipe.data.cacheDir);
  try {
    const out = options.out as string;
    const { made } = await alignStage({ a: pathA, b: pathB }, alignSettings(method!, recipe.align), { model: out }, ctx);
    console.log(`${out}: ${pathB} aligned to ${pathA} by ${method}${made ? '' : ' (it held this alignment already: reused)'}`);
  } finally {
    await ctx.dispose();
  }
}

export function registerAlign(program: Command): void {
  const command = program
    .command('align')
    .description("align checkpoint B to checkpoint A on the merge split; writes B' (the same function for permutations)")
    .argument('<a>', 'model A (.safetensors), the reference')
    .argument('<b>', 'model B (.safetensors), the one transformed')
    .requiredOption('--out <file>', "aligned B' to write")
    .option(...recipeOption)
    .option(...threadsOption);
  addRecipeOptions(command, 'align', ['--method']).action(alignCommand);
}
