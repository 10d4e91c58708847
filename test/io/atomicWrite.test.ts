import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic, writeJsonAtomic } from '../../src/io/atomicWrite.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atomic-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('writes bytes and strings, creating parent directories', async () => {
    const path = join(dir, 'a', 'b', 'file.bin');
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    expect([...(await readFile(path))]).toEqual([1, 2, 3]);
    await writeFileAtomic(path, 'hello');
    expect(await readFile(path, 'utf8')).toBe('hello');
  });

  it('replaces an existing file and leaves no temporary files behind', async () => {
    const path = join(dir, 'file.txt');
    await writeFile(path, 'old contents that are longer');
    await writeFileAtomic(path, 'new');
    expect(await readFile(path, 'utf8')).toBe('new');
    expect(await readdir(dir)).toEqual(['file.txt']);
  });

  it('ends with one complete version when writers race', async () => {
    const path = join(dir, 'race.txt');
    const versions = Array.from({ length: 8 }, (_, i) => String(i).repeat(10_000));
    await Promise.all(versions.map((text) => writeFileAtomic(path, text)));
    expect(versions).toContain(await readFile(path, 'utf8'));
    expect(await readdir(dir)).toEqual(['race.txt']);
  });

  it('removes the temporary file and rethrows when the rename fails', async () => {
    const path = join(dir, 'target');
    await mkdir(join(path, 'child'), { recursive: true }); // a non-empty directory cannot be replaced by a file
    await expect(writeFileAtomic(path, 'data')).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['target']);
  });
});

describe('writeJsonAtomic', () => {
  it('writes pretty JSON with a trailing newline', async () => {
    const path = join(dir, 'x.json');
    await writeJsonAtomic(path, { a: 1, b: [true, null] });
    const text = await readFile(path, 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    expect(JSON.parse(text)).toEqual({ a: 1, b: [true, null] });
  });

  it('refuses values JSON cannot represent', async () => {
    await expect(writeJsonAtomic(join(dir, 'u.json'), undefined)).rejects.toThrow(TypeError);
  });
});
