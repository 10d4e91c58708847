import { Command } from 'commander';
import { createRequire } from 'node:module';
import { registerAlign } from './commands/align.js';
import { registerCompare } from './commands/compare.js';
import { registerEval } from './commands/eval.js';
import { registerExport } from './commands/export.js';
import { registerImport } from './commands/import.js';
import { registerMerge } from './commands/merge.js';
import { registerReport } from './commands/report.js';
import { registerSweep } from './commands/sweep.js';
import { addRunOptions, registerRun, runRecipeCommand } from './commands/run.js';
import { registerTrain } from './commands/train.js';
import { reportError } from './errors.js';

const version = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** The merge-train command line; `argv` as in process.argv. Returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = new Command('merge-train')
    .description(
      'Align and merge independently trained neural networks (CCA or permutation alignment), with uniform, ' +
        'Fisher-weighted or learned per-parameter merge masks, evaluated on a held-out test split and reported ' +
        'with figures. Without a subcommand, runs recipes/quickstart (two MLPs on MNIST) with the given overrides; ' +
        'rerunning it with other alignment or merge settings adds those variants to the same report.',
    )
    .version(version)
    .option('--verbose', 'print stack traces with errors')
    // The default command and the subcommands share flag names (--out, --seed): options after a
    // subcommand belong to it.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      // One line, like every other refusal: commander puts its did-you-mean on a line of its own.
      outputError: (text, write) => write(`merge-train: ${text.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')}\n`),
    });
  addRunOptions(program).action((options: Record<string, unknown>) => runRecipeCommand('quickstart', options));
  registerRun(program);
  for (const register of [registerTrain, registerImport, registerAlign, registerMerge, registerEval, registerExport, registerReport, registerCompare, registerSweep]) register(program);
  for (const command of program.commands) command.exitOverride();
  // --verbose counts wherever it stands, before or after a subcommand.
  const verbose = argv.includes('--verbose');
  try {
    await program.parseAsync(argv.filter((arg) => arg !== '--verbose'));
    return 0;
  } catch (error) {
    return reportError(error, verbose);
  }
}
