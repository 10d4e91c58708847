import type { Command } from 'commander';
import { writeReport } from '../../report/writeReport.js';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description("re-render a run's summary.md and figures from its metrics.json and masks, without training")
    .argument('<run-dir>', 'run directory, e.g. reports/quickstart')
    .action(async (dir: string) => {
      const written = await writeReport(dir);
      console.log(`wrote ${written.length} files under ${dir}`);
    });
}
