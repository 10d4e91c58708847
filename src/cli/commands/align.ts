import type { Command } from 'commander';
import { alignSettings } from '../../recipe/methodSettings.js';
import { alignStage } from '../../stages/alignStage.js';
import { addRecipeOptions } from '../recipeOptions.js';
import { recipeOption, runStageCommand, threadsOption } from './shared.js';

function alignCommand(pathA: string, pathB: string, options: Record<string, unknown>): Promise<void> {
  const files = { inputs: [pathA, pathB], outputs: [{ flag: '--out', path: options.out as string }] };
  return runStageCommand(options, 'align', files, async ({ recipe, ctx }) => {
    const [method] = recipe.align.methods;
    const out = options.out as string;
    const { made } = await alignStage({ a: pathA, b: pathB }, alignSettings(method!, recipe), () => ({ model: out }), ctx);
    console.log(`${out}: ${pathB} aligned to ${pathA} by ${method}${made ? '' : ' (it held this alignment already: reused)'}`);
  });
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
