/**
 * Tiny CIFAR fixtures in the official binary layout: a few records per batch file with pixel values
 * and labels computed from their position, so tests can predict every decoded value.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { create } from 'tar';
import { cifarFiles, cifarRecordSize, type CifarRecordCounts, type CifarSpec } from '../../src/data/cifarFormat.js';

/** Records per split in the fixtures: 3 per CIFAR-10 train batch, 2 in each test file. */
export const TINY: Readonly<Record<'cifar10' | 'cifar100', CifarRecordCounts>> = {
  cifar10: { train: 15, test: 2 },
  cifar100: { train: 4, test: 2 },
};

/** Channel k (0 R, 1 G, 2 B) of pixel (r, c) of pool image `row`. */
export const fixturePixel = (row: number, k: number, r: number, c: number): number => (row * 7 + k * 85 + r * 3 + c * 5) % 256;

/** The (fine) label of pool image `row` for a dataset of `numClasses` classes. */
export const fixtureLabel = (row: number, numClasses: number): number => (row * 3 + 1) % numClasses;

/** The coarse label byte of CIFAR-100 records. */
export const fixtureCoarse = (row: number): number => row % 20;

/** One batch file's bytes: records for pool images `firstRow`..`firstRow + records - 1`. */
export function batchBytes(spec: CifarSpec, firstRow: number, records: number): Uint8Array {
  const size = cifarRecordSize(spec);
  const labelBytes = spec.labelLimits.length;
  const bytes = new Uint8Array(records * size);
  for (let i = 0; i < records; i++) {
    const row = firstRow + i;
    const start = i * size;
    if (labelBytes === 2) bytes[start] = fixtureCoarse(row);
    bytes[start + labelBytes - 1] = fixtureLabel(row, spec.classNames.length);
    for (let k = 0; k < 3; k++) {
      for (let r = 0; r < 32; r++) {
        for (let c = 0; c < 32; c++) bytes[start + labelBytes + k * 1024 + r * 32 + c] = fixturePixel(row, k, r, c);
      }
    }
  }
  return bytes;
}

/** Writes the batch files into `<root>/<spec.folderName>/`; returns that folder. */
export async function writeFixtureFolder(spec: CifarSpec, root: string, counts: CifarRecordCounts): Promise<string> {
  const folder = join(root, spec.folderName);
  await mkdir(folder, { recursive: true });
  let row = 0;
  for (const file of cifarFiles(spec, counts)) {
    await writeFile(join(folder, file.name), batchBytes(spec, row, file.records));
    row += file.records;
  }
  return folder;
}

/** A written archive: where it is, its md5 and its bytes. */
export interface FixtureArchive {
  path: string;
  md5: string;
  bytes: Uint8Array;
}

/** Packs `<workDir>/<spec.folderName>/` as it is into a real .tar.gz named like the official archive in `outDir`. */
export async function packFixtureArchive(spec: CifarSpec, workDir: string, outDir: string): Promise<FixtureArchive> {
  await mkdir(outDir, { recursive: true });
  const path = join(outDir, spec.archiveName);
  await create({ gzip: true, file: path, cwd: workDir, portable: true }, [spec.folderName]);
  const bytes = new Uint8Array(await readFile(path));
  return { path, md5: createHash('md5').update(bytes).digest('hex'), bytes };
}

/** Writes the batch files in `workDir` and packs them (see {@link packFixtureArchive}). */
export async function writeFixtureArchive(
  spec: CifarSpec,
  workDir: string,
  outDir: string,
  counts: CifarRecordCounts,
): Promise<FixtureArchive> {
  await writeFixtureFolder(spec, workDir, counts);
  return packFixtureArchive(spec, workDir, outDir);
}
