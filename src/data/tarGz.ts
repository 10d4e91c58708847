/**
 * Reading a few named files out of a .tar.gz into memory, with the `tar` package (it handles gzip
 * and the ustar, GNU and pax header variants real archives use), without extracting to disk.
 */
import { list, type ReadEntry } from 'tar';
import { InputError } from '../util/errors.js';

/**
 * The contents of the regular files at `paths` inside the archive (paths as stored, without a
 * leading `./`). Files the archive lacks are absent from the result; other entries are skipped.
 * @throws InputError naming `archive` if it is missing, not gzip, or not a valid tar.
 */
export async function readTarGzFiles(archive: string, paths: readonly string[]): Promise<Map<string, Uint8Array>> {
  const wanted = new Set(paths);
  const files = new Map<string, { data: Uint8Array; filled: number }>();
  const onReadEntry = (entry: ReadEntry): void => {
    const path = entry.path.replace(/^(\.\/)+/, '');
    if (entry.type !== 'File' || !wanted.has(path)) return;
    // One buffer of the announced size, not a list of chunks to concatenate: batch files are large.
    const file = { data: new Uint8Array(entry.size), filled: 0 };
    files.set(path, file);
    entry.on('data', (chunk: Buffer) => {
      file.data.set(chunk, file.filled);
      file.filled += chunk.length;
    });
  };
  try {
    // strict: damaged headers and truncated data reject rather than being skipped with a warning.
    await list({ file: archive, strict: true, onReadEntry });
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new InputError(`cannot read ${archive} as a .tar.gz archive: ${reason}`);
  }
  // A short entry keeps its short length, so size checks downstream report the truncation.
  return new Map([...files].map(([path, file]) => [path, file.data.subarray(0, file.filled)]));
}
