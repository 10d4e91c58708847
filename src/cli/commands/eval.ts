import type { Command } from 'commander';
import { dataInfoOf } from '../../artifacts/checkpoint.js';
import { evaluateStage } from '../../stages/evaluateStage.js';
import { addRecipeOptions } from '../recipeOptions.js';
import { percent, runStageCommand, threadsOption } from './shared.js';

function evalCommand(paths: string[], options: Record<string, unknown>): Promise<void> {
  return runStageCommand(options, 'eval', { inputs: paths, outputs: [] }, async ({ ctx }) => {
    const { models, ensemble } = await evaluateStage(paths, ctx, { ensemble: true });
    const { splits } = await ctx.data(dataInfoOf((await ctx.checkpoint(paths[0]!)).info));
    models.forEach((evaluation, i) => {
      console.log(`${paths[i]}: test accuracy ${percent(evaluation.accuracy)}, loss ${evaluation.loss.toFixed(4)} (${splits.name}, ${splits.test.count} held-out examples)`);
    });
    if (ensemble) console.log(`logit ensemble: test accuracy ${percent(ensemble.accuracy)}, loss ${ensemble.loss.toFixed(4)}`);
  });
}

export function registerEval(program: Command): void {
  const command = program
    .command('eval')
    .description('test accuracy and loss of checkpoints on their held-out test split (and their logit ensemble)')
    .argument('<checkpoints...>', 'model checkpoints (.safetensors)')
    .option(...threadsOption);
  addRecipeOptions(command, 'eval').action(evalCommand);
}
