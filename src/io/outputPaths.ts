import { access, constants, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../util/errors.js';
import { ensureWritableTarget } from './atomicWrite.js';
import { describeFsError } from './fsErrors.js';

/** A path as the file system sees it: symbolic links followed, in its folder too where the file is not there yet. */
async function canonicalPath(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    try {
      return join(await realpath(dirname(path)), basename(path));
    } catch {
      return resolve(path);
    }
  }
}

/** The nearest folder of `path` that exists: it must be a folder merge-train may write in. */
async function ensureWritableFolder(path: string, shown: string): Promise<void> {
  let folder = resolve(path);
  for (;;) {
    try {
      const stats = await stat(folder);
      if (!stats.isDirectory()) throw new InputError(`cannot write ${shown}: ${folder} is not a directory`);
      await access(folder, constants.W_OK);
      return;
    } catch (error) {
      if (error instanceof InputError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' || dirname(folder) === folder) throw new InputError(`cannot write ${shown}: ${describeFsError(error)}`);
      folder = dirname(folder);
    }
  }
}

/**
 * Checks a command's output files before any work starts, naming the flag and path: each must be a
 * regular file or not exist yet, in a folder merge-train may write in, none may be one of `inputs`,
 * and no two outputs may be the same file.
 */
export async function checkOutputFiles(outputs: { flag: string; path: string }[], inputs: readonly string[]): Promise<void> {
  const inputPaths = new Map(await Promise.all(inputs.map(async (input) => [await canonicalPath(input), input] as const)));
  const seen = new Map<string, string>();
  for (const { flag, path } of outputs) {
    await ensureWritableTarget(path);
    await ensureWritableFolder(dirname(path), path);
    const canonical = await canonicalPath(path);
    const input = inputPaths.get(canonical);
    if (input !== undefined) throw new InputError(`${flag} ${path} is also an input (${input}); write the output to another file`);
    const other = seen.get(canonical);
    if (other !== undefined) throw new InputError(`${flag} ${path} is the same file as ${other}; give each output its own file`);
    seen.set(canonical, `${flag} ${path}`);
  }
}

/** Checks that a run folder can be made or written at `path` (before any work starts). */
export async function checkOutputFolder(path: string): Promise<void> {
  await ensureWritableFolder(path, path);
}
