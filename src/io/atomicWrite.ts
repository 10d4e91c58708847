import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../util/errors.js';
import { describeFsError, fileKind, isFsError } from './fsErrors.js';

/**
 * A temporary file's name: `.<target>.<pid>.<random>.tmp` beside the target, so a process that finds
 * one whose writer is gone (killed) can remove it (see isStaleTemporary).
 */
const TEMPORARY = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/;

/** The pid of the process that was writing temporary file `name`, or undefined if it is not one. */
export function temporaryWriter(name: string): number | undefined {
  const pid = TEMPORARY.exec(name)?.[1];
  return pid === undefined ? undefined : Number(pid);
}

/**
 * Refuses to write `path` when something that is not a regular file is there (a link, a device, a
 * FIFO, a folder): merge-train replaces only files it could have written itself.
 */
export async function ensureWritableTarget(path: string): Promise<void> {
  let stats;
  try {
    stats = await lstat(path);
  } catch (error) {
    if (isFsError(error) && error.code === 'ENOENT') return;
    throw new InputError(`cannot write ${path}: ${describeFsError(error)}`);
  }
  if (!stats.isFile()) throw new InputError(`will not write ${path}: it is ${fileKind(stats)}, and merge-train writes only regular files; choose another path`);
}

/**
 * Writes `data` to `path` so that readers see either the old file or the complete new one, never a
 * partial write: the bytes go to a temporary file in the same directory (same filesystem, so the
 * rename is atomic), are fsynced, and the temporary file is renamed over `path`. Creates the parent
 * directory if needed. A target that is not a regular file is refused, and a failure of the file
 * system (permission, read-only, no space, not a directory) is an InputError naming `path`; either
 * way the temporary file is removed.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await ensureWritableTarget(path);
  const directory = dirname(path);
  // pid + random suffix: concurrent writers (processes or calls) never share a temp file.
  const temporary = join(directory, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    await mkdir(directory, { recursive: true });
    handle = await open(temporary, 'wx');
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temporary, path);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined); // may not exist if open failed
    if (isFsError(error)) throw new InputError(`cannot write ${path}: ${describeFsError(error)}`);
    throw error;
  }
  await syncDirectory(directory);
}

/** {@link writeFileAtomic} of `value` as pretty-printed JSON with a trailing newline. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const text = JSON.stringify(value, null, 2);
  if (text === undefined) throw new TypeError(`cannot write ${typeof value} as JSON to ${path}`);
  await writeFileAtomic(path, `${text}\n`);
}

/** Makes the rename itself durable. Best effort: some platforms (Windows) cannot open directories. */
async function syncDirectory(directory: string): Promise<void> {
  try {
    const handle = await open(directory, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // The file content is already synced; only the directory entry's durability is at stake.
  }
}
