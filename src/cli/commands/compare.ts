import type { Command } from 'commander';
import { defaultCompareOut, readComparedRuns, writeComparison } from '../../report/compareRuns.js';

/** Registers `merge-train compare <run-dir>... [--out <dir>]`: several runs side by side. */
export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description(
      'put several runs side by side: one table of test accuracies (a row per model or merge, a column per run; ' +
        'mean ± std where a run has repeats) as compare.md, tables/compare.tex and tables/compare.csv, and a grouped bar figure',
    )
    .argument('<run-dir...>', 'two or more run directories with a metrics.json, on the same dataset and test split')
    .option('--out <dir>', 'folder to write the comparison to (default: reports/compare-<run>-vs-<run>...)')
    .addHelpText(
      'after',
      [
        '',
        'Runs are named by their folder (with its parent folder where two share a name). Runs on',
        'different datasets, test split sizes or split seeds are refused. The best run of each row is bold.',
        '',
        'Example:',
        '  merge-train compare reports/quickstart reports/quickstart-wide --out reports/narrow-vs-wide',
        '',
      ].join('\n'),
    )
    .action(async (dirs: string[], options: { out?: string }) => {
      const runs = await readComparedRuns(dirs);
      const out = options.out ?? defaultCompareOut(runs);
      const written = await writeComparison(runs, out);
      console.log(`compared ${runs.map((run) => run.name).join(', ')}: wrote ${written.length} files under ${out}`);
    });
}
