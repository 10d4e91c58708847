import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * How to start this merge-train in another process (a local worker, a cluster's job): node with the
 * compiled command line, or, when running from the TypeScript sources (tests, tsx), node with tsx.
 */
export function mergeTrainCommand(): string[] {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) return [process.execPath, '--import', 'tsx', resolve(dirname(here), '../cli/main.ts')];
  return [process.execPath, resolve(dirname(here), '../cli/main.js')];
}
