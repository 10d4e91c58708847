/**
 * CIFAR-10 and CIFAR-100 from the official binary archives (see ./cifarFormat.ts for the layout).
 * The data is looked for in the directory the user names (`sourceDir`, else the environment
 * variable MERGE_TRAIN_CIFAR_DIR), else in the cache directory, where the archive is downloaded
 * (md5-verified) when missing. Either place may hold the archive or the folder it extracts to.
 * Decoding 60,000 images from the archive takes seconds, so the decoded pool (NHWC uint8 pixels +
 * labels) is cached as a safetensors file and later loads read only that.
 */
import type { Stats } from 'node:fs';
import { readFile, stat, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { InputError } from '../util/errors.js';
import {
  allocateCifarBytes,
  CIFAR_CHANNELS,
  CIFAR_SIDE,
  cifarFiles,
  cifarSizeProblem,
  decodeCifarFile,
  type CifarBytes,
  type CifarRecordCounts,
  type CifarSpec,
} from './cifarFormat.js';
import type { Pool } from './dataset.js';
import { downloadVerified, md5OfFile, type FetchLike } from './download.js';
import { bytePoolToPool, readPoolCache, writePoolCache, type PoolCacheSpec } from './poolCache.js';
import { readTarGzFiles } from './tarGz.js';

/** Environment variable naming a directory that holds the CIFAR archives or extracted folders. */
export const CIFAR_DIR_ENV = 'MERGE_TRAIN_CIFAR_DIR';

/** Where to find, fetch and cache a CIFAR dataset. */
export interface CifarOptions {
  /** Directory for the decoded-pool cache and the downloaded archive; created if missing. Default `data`. */
  cacheDir?: string;
  /**
   * Directory holding the archive (e.g. `cifar-10-binary.tar.gz`) or the folder it extracts to
   * (e.g. `cifar-10-batches-bin/`), or that folder itself, or the archive file itself. Default: the
   * environment variable {@link CIFAR_DIR_ENV}; when neither is set, the cache directory is used
   * and the archive downloaded into it if absent. A named directory is never downloaded into.
   */
  sourceDir?: string;
  /** Used for the download; default the global `fetch`. Tests inject one that serves fixtures. */
  fetch?: FetchLike;
  /** Wait before the first download retry, doubling for the next. Default 1000 ms. */
  retryDelayMs?: number;
  /** Receives progress lines (the download); default: printed to stderr. */
  onStatus?: (message: string) => void;
  /** Images the train and test files must hold. Default: the official counts; tests use tiny fixtures. */
  records?: CifarRecordCounts;
  /** The md5 the archive must have. Default: the official one; tests use their fixture's. */
  md5?: string;
}

/** File name of the decoded pool inside the cache directory, e.g. `cifar10.safetensors`. */
export function cifarCacheFile(spec: CifarSpec): string {
  return `${spec.name}.safetensors`;
}

/** An archive found or downloaded. */
interface ArchiveSource {
  kind: 'archive';
  path: string;
  /** In the cache directory, so ours to delete when corrupt (a user's named file is left alone). */
  ours: boolean;
  /** Just downloaded, md5 already checked. */
  verified: boolean;
}

/** Where the batch files are: a folder of them, or an archive holding that folder. */
type Source = { kind: 'folder'; dir: string } | ArchiveSource;

/**
 * Loads all images, train files first then test files, as NHWC `[32, 32, 3]` pixels in [0, 1] and
 * the (fine) labels. Uses the cache in `options.cacheDir` when it holds a valid decoded pool;
 * otherwise finds (or downloads) the data, decodes it and writes the cache atomically. A cache that
 * cannot be written only costs speed: it is reported with a process warning.
 * @throws InputError with one line saying what is wrong and what to do: the data is missing and
 *   cannot be downloaded, the archive's md5 is wrong, or a batch file has the wrong size or labels.
 */
export async function loadCifarPool(spec: CifarSpec, options: CifarOptions = {}): Promise<Pool> {
  const cacheDir = options.cacheDir ?? 'data';
  const counts = options.records ?? spec.records;
  const cachePath = join(cacheDir, cifarCacheFile(spec));
  const cacheSpec = poolCacheSpec(spec, counts);
  let bytes = await readCache(cachePath, cacheSpec, counts);
  if (!bytes) {
    const source = await locateSource(spec, options, cacheDir);
    bytes = await decodeSource(spec, source, counts, options.md5 ?? spec.md5, manualHint(spec, cacheDir));
    await writePoolCache(cachePath, bytes, cacheSpec, spec.title, {
      source: source.kind === 'folder' ? source.dir : source.path,
    });
  }
  return bytePoolToPool(bytes);
}

/**
 * What the cache must be: the layout version (bump it when the layout changes, so old caches are
 * rebuilt rather than misread) and the train/test boundary, so a cache of other counts (a test
 * fixture's) is not reused.
 */
function poolCacheSpec(spec: CifarSpec, counts: CifarRecordCounts): PoolCacheSpec {
  return {
    metadata: { format: `merge-train/${spec.name}-pool/1`, records: `train:${counts.train},test:${counts.test}` },
    imageShape: [CIFAR_SIDE, CIFAR_SIDE, CIFAR_CHANNELS],
    numClasses: spec.classNames.length,
  };
}

/** What to tell a user whose data is missing or bad: where to get it and where to put it. */
function manualHint(spec: CifarSpec, cacheDir: string): string {
  return `download ${spec.url} yourself and put ${spec.archiveName} (or the ${spec.folderName} folder it extracts to) in ${cacheDir}, or set ${CIFAR_DIR_ENV} to the folder that holds it`;
}

/**
 * The cached pool, or undefined when there is none or it does not match `counts` or is damaged
 * (then it is rebuilt). The source is not consulted: the official data never changes, and the
 * archive may have been deleted to save space.
 */
async function readCache(path: string, cacheSpec: PoolCacheSpec, counts: CifarRecordCounts): Promise<CifarBytes | undefined> {
  const pool = await readPoolCache(path, cacheSpec);
  return pool?.labels.length === counts.train + counts.test ? pool : undefined;
}

/** Finds the data in the named directory, else in the cache directory, else downloads it there. */
async function locateSource(spec: CifarSpec, options: CifarOptions, cacheDir: string): Promise<Source> {
  const hint = manualHint(spec, cacheDir);
  const fromEnv = process.env[CIFAR_DIR_ENV];
  const named = options.sourceDir ?? (fromEnv === '' ? undefined : fromEnv);
  if (named !== undefined) {
    const where = options.sourceDir !== undefined ? `the ${spec.title} source directory ${named}` : `${CIFAR_DIR_ENV}=${named}`;
    const info = await statOrUndefined(named);
    if (!info) throw new InputError(`${where} does not exist; ${hint}`);
    const found = await findIn(spec, named, info.isFile());
    if (found) return found.kind === 'archive' ? { ...found, ours: false, verified: false } : found;
    throw new InputError(`${where} holds neither ${spec.folderName}/ nor ${spec.archiveName}; ${hint}`);
  }
  const found = (await statOrUndefined(cacheDir)) ? await findIn(spec, cacheDir, false) : undefined;
  if (found) return found.kind === 'archive' ? { ...found, ours: true, verified: false } : found;

  const path = join(cacheDir, spec.archiveName);
  (options.onStatus ?? ((line) => process.stderr.write(`${line}\n`)))(
    `downloading ${spec.title} (about 160 MB) from ${spec.url} to ${path}`,
  );
  await downloadVerified({
    url: spec.url,
    path,
    md5: options.md5 ?? spec.md5,
    hint,
    ...(options.fetch && { fetch: options.fetch }),
    ...(options.retryDelayMs !== undefined && { retryDelayMs: options.retryDelayMs }),
  });
  return { kind: 'archive', path, ours: true, verified: true };
}

/**
 * The data in `dir`, preferring the extracted folder (no decompression) to the archive; `isFile`:
 * `dir` is a file, accepted as the archive when it has the archive's name.
 */
async function findIn(
  spec: CifarSpec,
  dir: string,
  isFile: boolean,
): Promise<{ kind: 'folder'; dir: string } | { kind: 'archive'; path: string } | undefined> {
  if (isFile) return basename(dir) === spec.archiveName ? { kind: 'archive', path: dir } : undefined;
  const folder = join(dir, spec.folderName);
  if ((await statOrUndefined(folder))?.isDirectory()) return { kind: 'folder', dir: folder };
  // The user may name the extracted folder itself.
  if ((await statOrUndefined(join(dir, spec.trainFiles[0]!)))?.isFile()) return { kind: 'folder', dir };
  const archive = join(dir, spec.archiveName);
  if ((await statOrUndefined(archive))?.isFile()) return { kind: 'archive', path: archive };
  return undefined;
}

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch {
    return undefined;
  }
}

/** Decodes every batch file of `source` into one pool, checking sizes and labels. */
async function decodeSource(
  spec: CifarSpec,
  source: Source,
  counts: CifarRecordCounts,
  md5: string,
  hint: string,
): Promise<CifarBytes> {
  const files = cifarFiles(spec, counts);
  const into = allocateCifarBytes(counts.train + counts.test);
  let row = 0;
  if (source.kind === 'folder') {
    for (const file of files) {
      const path = join(source.dir, file.name);
      const info = await statOrUndefined(path);
      if (!info?.isFile()) throw new InputError(`cannot read ${path}: no such file; the ${spec.title} folder must hold ${spec.trainFiles.concat(spec.testFiles).join(', ')}`);
      // Checked before reading, so a wrong multi-gigabyte file is not read in.
      const problem = cifarSizeProblem(spec, path, info.size, file.records);
      if (problem) throw new InputError(problem);
      decodeCifarFile(spec, await readFile(path), path, file.records, into, row);
      row += file.records;
    }
    return into;
  }

  const { path } = source;
  if (!source.verified) await verifyArchive(spec, source, md5, hint);
  const contents = await readTarGzFiles(path, files.map((file) => `${spec.folderName}/${file.name}`));
  for (const file of files) {
    const inner = `${spec.folderName}/${file.name}`;
    const bytes = contents.get(inner);
    if (!bytes) throw new InputError(`${path} lacks ${inner}; it is not the ${spec.title} binary archive; ${hint}`);
    decodeCifarFile(spec, bytes, `${path}:${inner}`, file.records, into, row);
    row += file.records;
  }
  return into;
}

/**
 * Refuses an archive whose md5 is not the published one. One in the cache directory is deleted
 * (so the next run downloads a good copy); one the user named is theirs and left alone.
 */
async function verifyArchive(spec: CifarSpec, source: ArchiveSource, md5: string, hint: string): Promise<void> {
  let actual: string;
  try {
    actual = await md5OfFile(source.path);
  } catch (error) {
    throw new InputError(`cannot read ${source.path}: ${(error as Error).message}`);
  }
  if (actual === md5.toLowerCase()) return;
  const problem = `${source.path} has md5 ${actual}, expected ${md5} (corrupt, or not the official ${spec.title} binary archive)`;
  if (source.ours) {
    await unlink(source.path).catch(() => undefined);
    throw new InputError(`${problem}; deleted it, so the next run downloads it afresh; or ${hint}`);
  }
  throw new InputError(`${problem}; ${hint}`);
}
