import { describe, expect, it } from 'vitest';
import { CIFAR10_CLASSES, CIFAR100_CLASSES } from '../../src/data/cifarClasses.js';
import {
  allocateCifarBytes,
  CIFAR10_SPEC,
  CIFAR100_SPEC,
  cifarFiles,
  cifarRecordSize,
  cifarSizeProblem,
  decodeCifarFile,
} from '../../src/data/cifarFormat.js';
import { InputError } from '../../src/util/errors.js';
import { batchBytes, fixtureCoarse, fixtureLabel, fixturePixel } from './cifarFixtures.js';

describe('CIFAR specs', () => {
  it('describe the official archives', () => {
    expect(cifarRecordSize(CIFAR10_SPEC)).toBe(3073);
    expect(cifarRecordSize(CIFAR100_SPEC)).toBe(3074);
    expect(cifarFiles(CIFAR10_SPEC)).toEqual([
      ...[1, 2, 3, 4, 5].map((i) => ({ name: `data_batch_${i}.bin`, records: 10_000 })),
      { name: 'test_batch.bin', records: 10_000 },
    ]);
    expect(cifarFiles(CIFAR100_SPEC)).toEqual([
      { name: 'train.bin', records: 50_000 },
      { name: 'test.bin', records: 10_000 },
    ]);
    expect(CIFAR10_CLASSES).toHaveLength(10);
    expect(CIFAR100_CLASSES).toHaveLength(100);
    expect(new Set(CIFAR100_CLASSES).size).toBe(100);
    expect([CIFAR100_CLASSES[0], CIFAR100_CLASSES[30], CIFAR100_CLASSES[99]]).toEqual(['apple', 'dolphin', 'worm']);
    expect(CIFAR10_CLASSES[0]).toBe('airplane');
  });

  it('refuse fixture counts that do not divide into the files', () => {
    expect(() => cifarFiles(CIFAR10_SPEC, { train: 7, test: 1 })).toThrow(/7 records do not divide into 5 files/);
  });
});

describe('decodeCifarFile', () => {
  it('moves byte 1 + k*1024 + r*32 + c of a record to NHWC position (r*32 + c)*3 + k', () => {
    const record = new Uint8Array(3073);
    record[0] = 7; // label
    record.fill(10, 1, 1 + 1024);
    record.fill(20, 1 + 1024, 1 + 2048);
    record.fill(30, 1 + 2048);
    // Pixel (2, 5) gets its own R, G, B.
    for (let k = 0; k < 3; k++) record[1 + k * 1024 + 2 * 32 + 5] = k + 1;
    const into = allocateCifarBytes(2);
    decodeCifarFile(CIFAR10_SPEC, record, 'one.bin', 1, into, 1); // into row 1, leaving row 0 alone
    expect([...into.labels]).toEqual([0, 7]);
    const image = into.pixels.subarray(3072);
    expect([...image.subarray((2 * 32 + 5) * 3, (2 * 32 + 5) * 3 + 3)]).toEqual([1, 2, 3]);
    expect([...image.subarray(0, 6)]).toEqual([10, 20, 30, 10, 20, 30]);
    expect([...image.subarray(3069)]).toEqual([10, 20, 30]);
    expect(into.pixels.subarray(0, 3072).every((v) => v === 0)).toBe(true);
  });

  it('decodes CIFAR-10 records with their labels', () => {
    const into = allocateCifarBytes(3);
    decodeCifarFile(CIFAR10_SPEC, batchBytes(CIFAR10_SPEC, 0, 3), 'b.bin', 3, into, 0);
    expect([...into.labels]).toEqual([0, 1, 2].map((row) => fixtureLabel(row, 10)));
    for (const [row, k, r, c] of [[0, 0, 0, 0], [1, 2, 31, 31], [2, 1, 17, 4]] as const) {
      expect(into.pixels[row * 3072 + (r * 32 + c) * 3 + k]).toBe(fixturePixel(row, k, r, c));
    }
  });

  it('uses the fine label of CIFAR-100 records (coarse byte first)', () => {
    const into = allocateCifarBytes(4);
    decodeCifarFile(CIFAR100_SPEC, batchBytes(CIFAR100_SPEC, 0, 4), 'train.bin', 4, into, 0);
    expect([...into.labels]).toEqual([0, 1, 2, 3].map((row) => fixtureLabel(row, 100)));
    expect(fixtureLabel(3, 100)).not.toBe(fixtureCoarse(3));
    expect(into.pixels[3 * 3072 + (5 * 32 + 6) * 3 + 2]).toBe(fixturePixel(3, 2, 5, 6));
  });

  it('refuses labels out of range, naming the file and record', () => {
    const ten = batchBytes(CIFAR10_SPEC, 0, 2);
    ten[3073] = 10;
    expect(() => decodeCifarFile(CIFAR10_SPEC, ten, 'b.bin', 2, allocateCifarBytes(2), 0)).toThrow(
      /^b\.bin: label of record 1 is 10; expected 0\.\.9$/,
    );
    const coarse = batchBytes(CIFAR100_SPEC, 0, 2);
    coarse[0] = 20;
    expect(() => decodeCifarFile(CIFAR100_SPEC, coarse, 't.bin', 2, allocateCifarBytes(2), 0)).toThrow(
      /t\.bin: label byte 1 of record 0 is 20; expected 0\.\.19/,
    );
    const fine = batchBytes(CIFAR100_SPEC, 0, 2);
    fine[3074 + 1] = 100;
    expect(() => decodeCifarFile(CIFAR100_SPEC, fine, 't.bin', 2, allocateCifarBytes(2), 0)).toThrow(
      /t\.bin: label byte 2 of record 1 is 100; expected 0\.\.99/,
    );
  });

  it('refuses files of the wrong size, saying what was expected', () => {
    const bytes = batchBytes(CIFAR10_SPEC, 0, 3);
    const decode = (data: Uint8Array) => () => decodeCifarFile(CIFAR10_SPEC, data, 'b.bin', 3, allocateCifarBytes(3), 0);
    expect(decode(bytes.subarray(0, 5000))).toThrow(InputError);
    expect(decode(bytes.subarray(0, 5000))).toThrow(
      'b.bin is 5000 bytes, not a whole number of 3073-byte CIFAR-10 records (truncated, or not a CIFAR-10 batch file); expected 9219 bytes (3 records)',
    );
    expect(decode(bytes.subarray(0, 3073 * 2))).toThrow('b.bin holds 2 CIFAR-10 records; expected 3 (9219 bytes)');
    expect(cifarSizeProblem(CIFAR100_SPEC, 'x', 3074 * 4, 4)).toBeUndefined();
  });
});
