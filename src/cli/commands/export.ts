import type { Command } from 'commander';
import { modelFormats } from '../../interop/formats.js';
import { addRecipeOptions } from '../recipeOptions.js';
import { runStageCommand } from './shared.js';

function exportCommand(path: string, options: Record<string, unknown>): Promise<void> {
  const out = options.out as string;
  const files = { inputs: [path], outputs: [{ flag: '--out', path: out }] };
  return runStageCommand(options, 'export', files, async ({ ctx }) => {
    const format = modelFormats.get(options.format as string);
    const { spec, params } = await ctx.checkpoint(path);
    const written = await format.write(spec, params, out);
    console.log(`${written.join(', ')}: ${path} (a ${spec.family} ${JSON.stringify(spec.config)}) in the ${format.name} format`);
    for (const note of format.notes?.(spec) ?? []) console.log(`note: ${note}`);
  });
}

/** Adds `merge-train export <checkpoint> --format <name> --out <file>` to the command line. */
export function registerExport(program: Command): void {
  const command = program
    .command('export')
    .description('write a checkpoint\'s model in another format (a PyTorch state dict, ...)')
    .argument('<checkpoint>', 'model checkpoint (.safetensors)')
    .requiredOption('--format <name>', `the format to write (one of ${modelFormats.names().join(', ')})`)
    .requiredOption('--out <file>', 'file to write');
  addRecipeOptions(command, 'export').action(exportCommand);
}
