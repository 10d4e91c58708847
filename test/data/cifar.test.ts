import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CIFAR_DIR_ENV, cifarCacheFile, loadCifarPool, type CifarOptions } from '../../src/data/cifar.js';
import { CIFAR10_SPEC, CIFAR100_SPEC, type CifarSpec } from '../../src/data/cifarFormat.js';
import type { Pool } from '../../src/data/dataset.js';
import { md5OfFile, type FetchLike } from '../../src/data/download.js';
import { readSafetensors } from '../../src/io/safetensors.js';
import { InputError } from '../../src/util/errors.js';
import { fixtureLabel, fixturePixel, packFixtureArchive, TINY, writeFixtureArchive, writeFixtureFolder } from './cifarFixtures.js';

let root: string;
let cacheDir: string;
let sourceDir: string;

/** A fetch that fails the test if anything tries the network. */
const noNetwork: FetchLike = () => {
  throw new Error('the test tried to download');
};

/** Options for a tiny fixture of `spec`: its record counts, a cache of its own and no network. */
const tiny = (spec: CifarSpec, extra: CifarOptions = {}): CifarOptions => ({
  cacheDir,
  records: TINY[spec.name as keyof typeof TINY],
  fetch: noNetwork,
  onStatus: () => undefined,
  ...extra,
});

/** Checks every label and a spread of pixels of a pool decoded from the fixtures. */
function expectFixturePool(pool: Pool, spec: CifarSpec): void {
  const counts = TINY[spec.name as keyof typeof TINY];
  const total = counts.train + counts.test;
  expect(pool.y.length).toBe(total);
  expect(pool.x.length).toBe(total * 3072);
  expect([...pool.y]).toEqual(Array.from({ length: total }, (_, row) => fixtureLabel(row, spec.classNames.length)));
  for (let row = 0; row < total; row++) {
    for (const [k, r, c] of [[0, 0, 0], [1, 0, 1], [2, 1, 0], [0, 31, 31], [2, 13, 29]] as const) {
      expect(pool.x[row * 3072 + (r * 32 + c) * 3 + k]).toBeCloseTo(fixturePixel(row, k, r, c) / 255, 7);
    }
  }
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'cifar-'));
  cacheDir = join(root, 'cache');
  sourceDir = join(root, 'source');
  vi.stubEnv(CIFAR_DIR_ENV, ''); // a developer's real setting must not leak into the tests
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await rm(root, { recursive: true, force: true });
});

describe('loadCifarPool from an extracted folder', () => {
  it('reads CIFAR-10 batches in order (train files, then test) as NHWC in [0, 1]', async () => {
    await writeFixtureFolder(CIFAR10_SPEC, sourceDir, TINY.cifar10);
    expectFixturePool(await loadCifarPool(CIFAR10_SPEC, tiny(CIFAR10_SPEC, { sourceDir })), CIFAR10_SPEC);
  });

  it('accepts the folder itself, the environment variable, and the folder in the cache directory', async () => {
    const folder = await writeFixtureFolder(CIFAR100_SPEC, sourceDir, TINY.cifar100);
    expectFixturePool(await loadCifarPool(CIFAR100_SPEC, tiny(CIFAR100_SPEC, { sourceDir: folder })), CIFAR100_SPEC);

    await rm(cacheDir, { recursive: true });
    vi.stubEnv(CIFAR_DIR_ENV, sourceDir);
    expectFixturePool(await loadCifarPool(CIFAR100_SPEC, tiny(CIFAR100_SPEC)), CIFAR100_SPEC);

    await rm(cacheDir, { recursive: true });
    vi.stubEnv(CIFAR_DIR_ENV, '');
    await writeFixtureFolder(CIFAR100_SPEC, cacheDir, TINY.cifar100);
    expectFixturePool(await loadCifarPool(CIFAR100_SPEC, tiny(CIFAR100_SPEC)), CIFAR100_SPEC);
  });

  it('names a truncated, missing or mislabelled batch file and what was expected', async () => {
    const folder = await writeFixtureFolder(CIFAR10_SPEC, sourceDir, TINY.cifar10);
    const load = () => loadCifarPool(CIFAR10_SPEC, tiny(CIFAR10_SPEC, { sourceDir }));
    await truncate(join(folder, 'data_batch_3.bin'), 3 * 3073 - 100);
    await expect(load()).rejects.toThrow(InputError);
    await expect(load()).rejects.toThrow(
      `${join(folder, 'data_batch_3.bin')} is 9119 bytes, not a whole number of 3073-byte CIFAR-10 records (truncated, or not a CIFAR-10 batch file); expected 9219 bytes (3 records)`,
    );
    await rm(join(folder, 'data_batch_3.bin'));
    await expect(load()).rejects.toThrow(`cannot read ${join(folder, 'data_batch_3.bin')}: no such file`);

    await writeFixtureFolder(CIFAR10_SPEC, sourceDir, TINY.cifar10);
    const labelled = new Uint8Array(2 * 3073);
    labelled[3073] = 12;
    await writeFile(join(folder, 'test_batch.bin'), labelled);
    await expect(load()).rejects.toThrow(`${join(folder, 'test_batch.bin')}: label of record 1 is 12; expected 0..9`);
    expect(existsSync(join(cacheDir, cifarCacheFile(CIFAR10_SPEC)))).toBe(false);
  });

  it('says where to put the data when a named directory holds none', async () => {
    await expect(loadCifarPool(CIFAR10_SPEC, tiny(CIFAR10_SPEC, { sourceDir }))).rejects.toThrow(
      `the CIFAR-10 source directory ${sourceDir} does not exist; download ${CIFAR10_SPEC.url} yourself`,
    );
    await writeFixtureFolder(CIFAR10_SPEC, sourceDir, TINY.cifar10);
    vi.stubEnv(CIFAR_DIR_ENV, sourceDir);
    // One variable serves both datasets; this directory only has CIFAR-10, and is never downloaded into.
    await expect(loadCifarPool(CIFAR100_SPEC, tiny(CIFAR100_SPEC))).rejects.toThrow(
      `${CIFAR_DIR_ENV}=${sourceDir} holds neither cifar-100-binary/ nor cifar-100-binary.tar.gz; download ${CIFAR100_SPEC.url} yourself and put cifar-100-binary.tar.gz (or the cifar-100-binary folder it extracts to) in ${cacheDir}, or set ${CIFAR_DIR_ENV} to the folder that holds it`,
    );
  });
});

describe('loadCifarPool from the .tar.gz', () => {
  it('reads both layouts from a real archive with the right md5', async () => {
    for (const spec of [CIFAR10_SPEC, CIFAR100_SPEC]) {
      const archive = await writeFixtureArchive(spec, join(root, `work-${spec.name}`), sourceDir, TINY[spec.name as keyof typeof TINY]);
      expectFixturePool(await loadCifarPool(spec, tiny(spec, { sourceDir, md5: archive.md5 })), spec);
    }
    // The archive file itself may be named too.
    await rm(cacheDir, { recursive: true });
    const path = join(sourceDir, CIFAR10_SPEC.archiveName);
    const { md5 } = await writeFixtureArchive(CIFAR10_SPEC, join(root, 'again'), sourceDir, TINY.cifar10);
    expectFixturePool(await loadCifarPool(CIFAR10_SPEC, tiny(CIFAR10_SPEC, { sourceDir: path, md5 })), CIFAR10_SPEC);
  });

  it('refuses an archive with the wrong md5: deletes it from the cache directory, keeps the user\'s', async () => {
    const { path } = await writeFixtureArchive(CIFAR10_SPEC, join(root, 'work'), sourceDir, TINY.cifar10);
    const wrong = CIFAR10_SPEC.md5; // the official md5 cannot match a fixture
    await expect(loadCifarPool(CIFAR10_SPEC, tiny(CIFAR10_SPEC, { sourceDir }))).rejects.toThrow(
      new RegExp(`^${path} has md5 [0-9a-f]{32}, expected ${wrong} \\(corrupt, or not the official CIFAR-10 binary archive\\); download`),
    );
    expect(existsSync(path)).toBe(true);

    const cached = await writeFixtureArchive(CIFAR10_SPEC, join(root, 'work2'), cacheDir, TINY.cifar10);
    await expect(loadCifarPool(CIFAR10_SPEC, tiny(CIFAR10_SPEC))).rejects.toThrow(/; deleted it, so the next run downloads it afresh; or download/);
    expect(existsSync(cached.path)).toBe(false);
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('names a truncated or missing file inside the archive, and an archive that is not one', async () => {
    const work = join(root, 'work');
    const folder = await writeFixtureFolder(CIFAR100_SPEC, work, TINY.cifar100);
    const load = (md5: string) => loadCifarPool(CIFAR100_SPEC, tiny(CIFAR100_SPEC, { sourceDir, md5 }));
    await truncate(join(folder, 'test.bin'), 3074 + 10);
    let archive = await packFixtureArchive(CIFAR100_SPEC, work, sourceDir);
    await expect(load(archive.md5)).rejects.toThrow(
      `${archive.path}:cifar-100-binary/test.bin is 3084 bytes, not a whole number of 3074-byte CIFAR-100 records (truncated, or not a CIFAR-100 batch file); expected 6148 bytes (2 records)`,
    );

    await rm(join(folder, 'test.bin'));
    archive = await packFixtureArchive(CIFAR100_SPEC, work, sourceDir);
    await expect(load(archive.md5)).rejects.toThrow(`${archive.path} lacks cifar-100-binary/test.bin; it is not the CIFAR-100 binary archive`);

    await writeFile(archive.path, 'not gzip at all');
    await expect(load(await md5OfFile(archive.path))).rejects.toThrow(
      new RegExp(`^cannot read ${archive.path} as a \\.tar\\.gz archive: `),
    );

    // Cut inside the compressed data (after the md5 check, which the test's md5 passes).
    archive = await writeFixtureArchive(CIFAR100_SPEC, join(root, 'whole'), sourceDir, TINY.cifar100);
    await truncate(archive.path, Math.floor(archive.bytes.length / 2));
    await expect(load(await md5OfFile(archive.path))).rejects.toThrow(
      new RegExp(`^cannot read ${archive.path} as a \\.tar\\.gz archive: `),
    );
  });
});

describe('the decoded-pool cache', () => {
  it('is written as uint8 NHWC and reused without the source', async () => {
    await writeFixtureFolder(CIFAR10_SPEC, sourceDir, TINY.cifar10);
    const first = await loadCifarPool(CIFAR10_SPEC, tiny(CIFAR10_SPEC, { sourceDir }));
    const cache = await readSafetensors(join(cacheDir, 'cifar10.safetensors'));
    expect(cache.tensors['x']!.shape).toEqual([17, 32, 32, 3]);
    expect(cache.tensors['x']!.data).toBeInstanceOf(Uint8Array);
    expect(cache.tensors['y']!.shape).toEqual([17]);
    expect(cache.metadata['format']).toBe('merge-train/cifar10-pool/1');

    await rm(sourceDir, { recursive: true });
    const second = await loadCifarPool(CIFAR10_SPEC, tiny(CIFAR10_SPEC, { sourceDir }));
    expect(second.y).toEqual(first.y);
    expect(Buffer.from(second.x.buffer).equals(Buffer.from(first.x.buffer))).toBe(true);
  });

  it('is rebuilt when damaged or made for other record counts', async () => {
    await writeFixtureFolder(CIFAR10_SPEC, sourceDir, TINY.cifar10);
    await loadCifarPool(CIFAR10_SPEC, tiny(CIFAR10_SPEC, { sourceDir }));
    await writeFile(join(cacheDir, 'cifar10.safetensors'), 'not a safetensors file');
    expectFixturePool(await loadCifarPool(CIFAR10_SPEC, tiny(CIFAR10_SPEC, { sourceDir })), CIFAR10_SPEC);

    await rm(sourceDir, { recursive: true });
    await writeFixtureFolder(CIFAR10_SPEC, sourceDir, { train: 5, test: 1 });
    const pool = await loadCifarPool(CIFAR10_SPEC, tiny(CIFAR10_SPEC, { sourceDir, records: { train: 5, test: 1 } }));
    expect(pool.y.length).toBe(6);
    expect((await readSafetensors(join(cacheDir, 'cifar10.safetensors'))).tensors['y']!.shape).toEqual([6]);
  });

  it('still loads, with a warning, when the cache cannot be written', async () => {
    await writeFixtureFolder(CIFAR10_SPEC, sourceDir, TINY.cifar10);
    const blocked = join(root, 'blocked');
    await writeFile(blocked, 'a file where the cache directory should be');
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const pool = await loadCifarPool(CIFAR10_SPEC, tiny(CIFAR10_SPEC, { sourceDir, cacheDir: blocked }));
      expect(pool.y.length).toBe(17);
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/could not write the CIFAR-10 cache/));
    } finally {
      warn.mockRestore();
    }
  });
});

describe('downloading into the cache directory', () => {
  /** A fetch serving `bytes` for the official URL, counting calls; `failures` first calls fail. */
  function serving(bytes: Uint8Array, failures = 0): FetchLike & { calls: number } {
    const fn = Object.assign(
      async (url: string) => {
        fn.calls++;
        expect(url).toBe(CIFAR100_SPEC.url);
        if (fn.calls <= failures) throw Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }) });
        return new Response(bytes);
      },
      { calls: 0 },
    );
    return fn;
  }

  it('downloads the archive when absent, decodes it, and then reuses the cache', async () => {
    const archive = await writeFixtureArchive(CIFAR100_SPEC, join(root, 'work'), join(root, 'server'), TINY.cifar100);
    const fetch = serving(archive.bytes);
    const status: string[] = [];
    const options = tiny(CIFAR100_SPEC, { fetch, md5: archive.md5, retryDelayMs: 0, onStatus: (line) => status.push(line) });
    expectFixturePool(await loadCifarPool(CIFAR100_SPEC, options), CIFAR100_SPEC);
    expect(fetch.calls).toBe(1);
    expect(status).toEqual([`downloading CIFAR-100 (about 160 MB) from ${CIFAR100_SPEC.url} to ${join(cacheDir, 'cifar-100-binary.tar.gz')}`]);
    expect((await readdir(cacheDir)).sort()).toEqual(['cifar-100-binary.tar.gz', 'cifar100.safetensors']);

    expectFixturePool(await loadCifarPool(CIFAR100_SPEC, options), CIFAR100_SPEC);
    await rm(join(cacheDir, 'cifar100.safetensors'));
    expectFixturePool(await loadCifarPool(CIFAR100_SPEC, options), CIFAR100_SPEC); // from the kept archive
    expect(fetch.calls).toBe(1);
  });

  it('retries a failing network and succeeds on the third try', async () => {
    const archive = await writeFixtureArchive(CIFAR100_SPEC, join(root, 'work'), join(root, 'server'), TINY.cifar100);
    const fetch = serving(archive.bytes, 2);
    expectFixturePool(await loadCifarPool(CIFAR100_SPEC, tiny(CIFAR100_SPEC, { fetch, md5: archive.md5, retryDelayMs: 0 })), CIFAR100_SPEC);
    expect(fetch.calls).toBe(3);
  });

  it('offline: one line saying where to put a manual download', async () => {
    const fetch = serving(new Uint8Array(), 99);
    const error = await loadCifarPool(CIFAR100_SPEC, tiny(CIFAR100_SPEC, { fetch, retryDelayMs: 0 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(
      `could not download ${CIFAR100_SPEC.url} (3 attempts; last: fetch failed: ENOTFOUND); download ${CIFAR100_SPEC.url} yourself and put cifar-100-binary.tar.gz (or the cifar-100-binary folder it extracts to) in ${cacheDir}, or set ${CIFAR_DIR_ENV} to the folder that holds it`,
    );
    expect((error as Error).message).not.toContain('\n');
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('refuses corrupt bytes and keeps nothing of them', async () => {
    const archive = await writeFixtureArchive(CIFAR100_SPEC, join(root, 'work'), join(root, 'server'), TINY.cifar100);
    const corrupt = archive.bytes.slice();
    corrupt[corrupt.length - 5] = corrupt[corrupt.length - 5]! ^ 0x55;
    const fetch = serving(corrupt);
    await expect(loadCifarPool(CIFAR100_SPEC, tiny(CIFAR100_SPEC, { fetch, md5: archive.md5, retryDelayMs: 0 }))).rejects.toThrow(
      /has md5 [0-9a-f]{32}, expected [0-9a-f]{32} \(corrupted, or not the official file\); deleted it; download/,
    );
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('never downloads into a named directory', async () => {
    await mkdir(sourceDir);
    const fetch = serving(new Uint8Array());
    await expect(loadCifarPool(CIFAR100_SPEC, tiny(CIFAR100_SPEC, { sourceDir, fetch }))).rejects.toThrow(/holds neither/);
    expect(fetch.calls).toBe(0);
  });
});
