import type { Command } from 'commander';
import { selectBackend } from '../../backend/selectBackend.js';
import { StageContext } from '../../stages/context.js';
import { evaluateStage } from '../../stages/evaluateStage.js';
import { terminalObserver } from '../progressDisplay.js';
import { addRecipeOptions } from '../recipeOptions.js';
import { percent, recipeFromFlags, threadsOption } from './shared.js';

async function evalCommand(paths: string[], options: Record<string, unknown>): Promise<void> {
  const { recipe } = await recipeFromFlags(options, 'eval');
  await selectBackend(recipe.backend, { threads: options.threads as number | undefined });
  const ctx = new StageContext(terminalObserver(), recipe.data.cacheDir);
  try {
    const { models, ensemble } = await evaluateStage(paths, ctx, { ensemble: true });
    const { splits } = await ctx.data((await ctx.checkpoint(paths[0]!)).info);
    models.forEach((evaluation, i) => {
      console.log(`${paths[i]}: test accuracy ${percent(evaluation.accuracy)}, loss ${evaluation.loss.toFixed(4)} (${splits.name}, ${splits.test.count} held-out examples)`);
    });
    if (ensemble) console.log(`logit ensemble: test accuracy ${percent(ensemble.accuracy)}, loss ${ensemble.loss.toFixed(4)}`);
  } finally {
    await ctx.dispose();
  }
}

export function registerEval(program: Command): void {
  const command = program
    .command('eval')
    .description('test accuracy and loss of checkpoints on their held-out test split (and their logit ensemble)')
    .argument('<checkpoints...>', 'model checkpoints (.safetensors)')
    .option(...threadsOption);
  addRecipeOptions(command, 'eval').action(evalCommand);
}
