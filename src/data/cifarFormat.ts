/**
 * The CIFAR binary format (https://www.cs.toronto.edu/~kriz/cifar.html): every batch file is a run
 * of fixed-size records, one per image: the label byte(s), then 3072 pixel bytes, namely the 1024
 * red values, then the 1024 green, then the 1024 blue, each plane row-major 32x32. Decoding turns
 * the planes into our NHWC layout (pixel (r, c) of channel k moves from byte `k*1024 + r*32 + c` of
 * the pixels to `(r*32 + c)*3 + k`).
 */
import { InputError } from '../util/errors.js';
import { CIFAR10_CLASSES, CIFAR100_CLASSES } from './cifarClasses.js';

/** Image side length in pixels. */
export const CIFAR_SIDE = 32;
/** Colour channels (RGB). */
export const CIFAR_CHANNELS = 3;
/** Values per image: 32 x 32 x 3. */
export const CIFAR_VALUES = CIFAR_SIDE * CIFAR_SIDE * CIFAR_CHANNELS;

const PLANE = CIFAR_SIDE * CIFAR_SIDE;

/** Images in the train files together and in the test files together. */
export interface CifarRecordCounts {
  train: number;
  test: number;
}

/** What tells CIFAR-10 and CIFAR-100 apart: where the archive comes from and how records look. */
export interface CifarSpec {
  /** Registry name, also the cache file's stem. */
  readonly name: string;
  /** Name for messages, e.g. `CIFAR-10`. */
  readonly title: string;
  /** The official binary archive. */
  readonly url: string;
  /** Its md5, as published on the CIFAR page. */
  readonly md5: string;
  /** File name of the archive (the last part of `url`). */
  readonly archiveName: string;
  /** The folder the archive extracts to; the batch files live in it. */
  readonly folderName: string;
  /** Batch files holding the training images, in pool order; they share `records.train` equally. */
  readonly trainFiles: readonly string[];
  /** Batch files holding the test images, after the train files in the pool. */
  readonly testFiles: readonly string[];
  /**
   * Exclusive upper bound of each label byte at the start of a record; the last byte is the label
   * we use. CIFAR-100 records carry a coarse (20) then a fine (100) label.
   */
  readonly labelLimits: readonly number[];
  /** Class names of the label we use. */
  readonly classNames: readonly string[];
  /** Image counts of the official archive. */
  readonly records: CifarRecordCounts;
}

/** CIFAR-10: five train batches of 10,000 images and one test batch; one label byte per record. */
export const CIFAR10_SPEC: CifarSpec = {
  name: 'cifar10',
  title: 'CIFAR-10',
  url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
  md5: 'c32a1d4ab5d03f1284b67883e8d87530',
  archiveName: 'cifar-10-binary.tar.gz',
  folderName: 'cifar-10-batches-bin',
  trainFiles: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
  testFiles: ['test_batch.bin'],
  labelLimits: [CIFAR10_CLASSES.length],
  classNames: CIFAR10_CLASSES,
  records: { train: 50_000, test: 10_000 },
};

/** CIFAR-100: one train and one test file; coarse then fine label byte per record (we use fine). */
export const CIFAR100_SPEC: CifarSpec = {
  name: 'cifar100',
  title: 'CIFAR-100',
  url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
  md5: '03b5dce01913d631647c71ecec9e9cb8',
  archiveName: 'cifar-100-binary.tar.gz',
  folderName: 'cifar-100-binary',
  trainFiles: ['train.bin'],
  testFiles: ['test.bin'],
  labelLimits: [20, CIFAR100_CLASSES.length],
  classNames: CIFAR100_CLASSES,
  records: { train: 50_000, test: 10_000 },
};

/** Bytes per record: the label bytes plus the pixels. */
export function cifarRecordSize(spec: CifarSpec): number {
  return spec.labelLimits.length + CIFAR_VALUES;
}

/** A batch file and how many images it must hold. */
export interface CifarFile {
  name: string;
  records: number;
}

/** The batch files in pool order (train files, then test files) with their expected image counts. */
export function cifarFiles(spec: CifarSpec, counts: CifarRecordCounts = spec.records): CifarFile[] {
  const share = (total: number, files: readonly string[]): CifarFile[] => {
    // A programming error (a test's fixture sizes), not a user's: hence not an InputError.
    if (!Number.isSafeInteger(total) || total < 0 || total % files.length !== 0) {
      throw new Error(`${spec.title}: ${total} records do not divide into ${files.length} files`);
    }
    return files.map((name) => ({ name, records: total / files.length }));
  };
  return [...share(counts.train, spec.trainFiles), ...share(counts.test, spec.testFiles)];
}

/**
 * Why a batch file of `size` bytes cannot hold `records` records, or undefined when it can.
 * `source` names the file in the message.
 */
export function cifarSizeProblem(spec: CifarSpec, source: string, size: number, records: number): string | undefined {
  const recordSize = cifarRecordSize(spec);
  const expected = records * recordSize;
  if (size === expected) return undefined;
  if (size % recordSize !== 0) {
    return `${source} is ${size} bytes, not a whole number of ${recordSize}-byte ${spec.title} records (truncated, or not a ${spec.title} batch file); expected ${expected} bytes (${records} records)`;
  }
  return `${source} holds ${size / recordSize} ${spec.title} records; expected ${records} (${expected} bytes)`;
}

/** Decoded images: NHWC pixel bytes (0..255) and the labels we use. */
export interface CifarBytes {
  /** `[count, 32, 32, 3]` row-major. */
  pixels: Uint8Array;
  labels: Uint8Array;
}

/** Room for `count` decoded images. */
export function allocateCifarBytes(count: number): CifarBytes {
  return { pixels: new Uint8Array(count * CIFAR_VALUES), labels: new Uint8Array(count) };
}

/**
 * Decodes one batch file of exactly `records` records into `into`, starting at image `firstRow`.
 * @throws InputError naming `source` if the size is wrong or a label byte is out of range.
 */
export function decodeCifarFile(
  spec: CifarSpec,
  bytes: Uint8Array,
  source: string,
  records: number,
  into: CifarBytes,
  firstRow: number,
): void {
  const problem = cifarSizeProblem(spec, source, bytes.length, records);
  if (problem) throw new InputError(problem);
  const recordSize = cifarRecordSize(spec);
  const labelBytes = spec.labelLimits.length;
  const { pixels, labels } = into;
  for (let record = 0; record < records; record++) {
    const start = record * recordSize;
    for (let b = 0; b < labelBytes; b++) {
      const value = bytes[start + b]!;
      const limit = spec.labelLimits[b]!;
      if (value >= limit) {
        const which = labelBytes > 1 ? `label byte ${b + 1} of ` : 'label of ';
        throw new InputError(`${source}: ${which}record ${record} is ${value}; expected 0..${limit - 1}`);
      }
    }
    const row = firstRow + record;
    labels[row] = bytes[start + labelBytes - 1]!;
    const planes = start + labelBytes;
    const out = row * CIFAR_VALUES;
    for (let p = 0; p < PLANE; p++) {
      pixels[out + 3 * p] = bytes[planes + p]!;
      pixels[out + 3 * p + 1] = bytes[planes + PLANE + p]!;
      pixels[out + 3 * p + 2] = bytes[planes + 2 * PLANE + p]!;
    }
  }
}
