import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { downloadVerified, md5OfFile, type FetchLike } from '../../src/data/download.js';
import { InputError } from '../../src/util/errors.js';

const URL = 'https://example.invalid/file.bin';
const HINT = 'put file.bin there yourself';
const body = new Uint8Array(200_000).map((_, i) => (i * 31) % 251);
const md5 = createHash('md5').update(body).digest('hex');

/** What Node's fetch throws when the network is down. */
const networkDown = () => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }) });

/** A fetch that answers the i-th call (0-based) with `answers[i]` (the last one repeats) and counts calls. */
function scripted(...answers: Array<() => Response>): FetchLike & { calls: number } {
  const fn = Object.assign(
    async () => {
      const answer = answers[Math.min(fn.calls, answers.length - 1)]!;
      fn.calls++;
      return answer();
    },
    { calls: 0 },
  );
  return fn;
}

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'download-'));
  path = join(dir, 'sub', 'file.bin');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const download = (fetch: FetchLike, extra: { stallTimeoutMs?: number } = {}) =>
  downloadVerified({ url: URL, path, md5, hint: HINT, fetch, retryDelayMs: 0, ...extra });

/** Files in the target directory: nothing but the finished download may be left there. */
const leftovers = async () => (existsSync(join(dir, 'sub')) ? readdir(join(dir, 'sub')) : []);

describe('downloadVerified', () => {
  it('writes the verified file into place, creating the directory', async () => {
    const fetch = scripted(() => new Response(body));
    await download(fetch);
    expect(new Uint8Array(await readFile(path))).toEqual(body);
    expect(await md5OfFile(path)).toBe(md5);
    expect(await leftovers()).toEqual(['file.bin']);
    expect(fetch.calls).toBe(1);
  });

  it('retries network failures with backoff and succeeds on the third try', async () => {
    const fetch = scripted(() => { throw networkDown(); }, () => { throw networkDown(); }, () => new Response(body));
    const started = performance.now();
    await downloadVerified({ url: URL, path, md5, hint: HINT, fetch, retryDelayMs: 20 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(55); // waited 20 ms, then 40 ms
    expect(fetch.calls).toBe(3);
    expect(await md5OfFile(path)).toBe(md5);
    expect(await leftovers()).toEqual(['file.bin']);
  });

  it('gives up after three failures with one line naming the cause and the manual route', async () => {
    const fetch = scripted(() => { throw networkDown(); });
    const error = await download(fetch).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).toBe(
      `could not download ${URL} (3 attempts; last: fetch failed: ECONNREFUSED); ${HINT}`,
    );
    expect(fetch.calls).toBe(3);
    expect(await leftovers()).toEqual([]);
  });

  it('refuses and deletes a download with the wrong md5, without retrying', async () => {
    const corrupt = body.slice();
    corrupt[1000] = corrupt[1000]! ^ 0xff;
    const fetch = scripted(() => new Response(corrupt));
    await expect(download(fetch)).rejects.toThrow(
      new RegExp(`^the download of ${URL} has md5 [0-9a-f]{32}, expected ${md5} \\(corrupted, or not the official file\\); deleted it; ${HINT}$`),
    );
    expect(fetch.calls).toBe(1);
    expect(await leftovers()).toEqual([]);
  });

  it('retries server errors but not client errors', async () => {
    const flaky = scripted(() => new Response('busy', { status: 503 }), () => new Response(body));
    await download(flaky);
    expect(flaky.calls).toBe(2);
    await rm(path);

    const missing = scripted(() => new Response('no', { status: 404, statusText: 'Not Found' }));
    await expect(download(missing)).rejects.toThrow(`could not download ${URL}: HTTP 404 Not Found; ${HINT}`);
    expect(missing.calls).toBe(1);
    expect(await leftovers()).toEqual([]);
  });

  it('retries a transfer cut short, never keeping the partial file', async () => {
    const broken = () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(body.subarray(0, 1000));
            controller.error(new Error('socket hang up'));
          },
        }),
      );
    const short = () => new Response(body.subarray(0, 5000), { headers: { 'content-length': String(body.length) } });
    const fetch = scripted(broken, short, () => new Response(body));
    await download(fetch);
    expect(fetch.calls).toBe(3);
    expect(await md5OfFile(path)).toBe(md5);

    await rm(path);
    const alwaysShort = scripted(short);
    await expect(download(alwaysShort)).rejects.toThrow(/last: the connection closed after 5000 of 200000 bytes/);
    expect(await leftovers()).toEqual([]);
  });

  it('abandons an attempt that stalls', async () => {
    // A body that never delivers a byte, and fails when the download aborts it, as fetch's does.
    const silent: FetchLike = async (_url, { signal }) =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            signal.addEventListener('abort', () => controller.error(signal.reason));
          },
        }),
      );
    await expect(download(silent, { stallTimeoutMs: 20 })).rejects.toThrow(/3 attempts; last: no data for 0\.02 s/);
    expect(await leftovers()).toEqual([]);
  });
});
