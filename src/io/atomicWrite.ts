import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `data` to `path` so that readers see either the old file or the complete new one, never a
 * partial write: the bytes go to a temporary file in the same directory (same filesystem, so the
 * rename is atomic), are fsynced, and the temporary file is renamed over `path`. Creates the parent
 * directory if needed; on failure the temporary file is removed and the error rethrown.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const directory = dirname(path);
  await mkdir(directory, { recursive: true });
  // pid + random suffix: concurrent writers (processes or calls) never share a temp file.
  const temporary = join(directory, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(temporary, 'wx');
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temporary, path);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await unlink(temporary).catch(() => undefined); // may not exist if open failed
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
