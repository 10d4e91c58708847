/**
 * Downloads that can be trusted: the bytes are fetched into a temporary file beside the target,
 * checked against a published md5 and only then renamed into place, so a partial or corrupt
 * download never appears under the target name. Network failures are retried with backoff.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { InputError } from '../util/errors.js';

/** The part of the global `fetch` a download uses; tests inject one that serves fixtures. */
export type FetchLike = (url: string, init: { signal: AbortSignal }) => Promise<Response>;

/** What to download, where to, and how persistently. */
export interface DownloadOptions {
  url: string;
  /** The final file; its directory is created if missing. */
  path: string;
  /** Expected md5 of the whole file, lower-case hex. */
  md5: string;
  /** What the user can do instead, appended to every failure message. */
  hint: string;
  /** Default: the global `fetch`. */
  fetch?: FetchLike;
  /** Tries before giving up on network failures. Default 3. */
  attempts?: number;
  /** Wait before the first retry; doubles for each further one. Default 1000 ms. */
  retryDelayMs?: number;
  /** Give up on an attempt when no bytes arrive for this long. Default 60 s. */
  stallTimeoutMs?: number;
}

/** A failure that retrying cannot fix (an HTTP 404, say). */
class PermanentFailure extends Error {}

/**
 * Downloads `options.url` to `options.path`, verifying its md5 before the file appears there.
 * Network errors, stalls, short transfers and HTTP 408/429/5xx are retried (with backoff); other HTTP
 * errors are not. A download with the wrong md5 is deleted and refused at once: the server or a proxy
 * serves something else, which another try would fetch again.
 * @throws InputError saying what went wrong and `options.hint`.
 */
export async function downloadVerified(options: DownloadOptions): Promise<void> {
  const { url, path, hint } = options;
  const attempts = options.attempts ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 1000;
  await mkdir(dirname(path), { recursive: true });
  let lastError = 'no attempt made';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    // pid + random suffix: concurrent downloaders never share a temp file; the name never matches `path`.
    const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.download`);
    try {
      const md5 = await fetchToFile(url, temporary, options);
      if (md5 !== options.md5.toLowerCase()) {
        throw new InputError(
          `the download of ${url} has md5 ${md5}, expected ${options.md5} (corrupted, or not the official file); deleted it; ${hint}`,
        );
      }
      await rename(temporary, path);
      return;
    } catch (error) {
      await unlink(temporary).catch(() => undefined); // a failed attempt leaves nothing behind
      if (error instanceof InputError) throw error;
      const message = error instanceof Error ? describeNetworkError(error) : String(error);
      if (error instanceof PermanentFailure) throw new InputError(`could not download ${url}: ${message}; ${hint}`);
      lastError = message;
    }
    if (attempt < attempts) await sleep(retryDelayMs * 2 ** (attempt - 1));
  }
  throw new InputError(`could not download ${url} (${attempts} attempts; last: ${lastError}); ${hint}`);
}

/** Streams the response body into a new file at `temporary`; returns the md5 of the bytes. */
async function fetchToFile(url: string, temporary: string, options: DownloadOptions): Promise<string> {
  const fetchFn: FetchLike = options.fetch ?? ((target, init) => fetch(target, init));
  const stallTimeoutMs = options.stallTimeoutMs ?? 60_000;
  const controller = new AbortController();
  // Re-armed on every chunk: a slow link may take minutes, a silent one is given up on.
  const watchdog = setTimeout(() => controller.abort(new Error(`no data for ${stallTimeoutMs / 1000} s`)), stallTimeoutMs);
  const handle = await open(temporary, 'wx');
  try {
    const response = await fetchFn(url, { signal: controller.signal });
    if (!response.ok) {
      const status = `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
      const retryable = response.status === 408 || response.status === 429 || response.status >= 500;
      throw retryable ? new Error(status) : new PermanentFailure(status);
    }
    if (!response.body) throw new Error('the response has no body');
    const hash = createHash('md5');
    let received = 0;
    for await (const chunk of response.body) {
      watchdog.refresh();
      hash.update(chunk);
      await handle.write(chunk);
      received += chunk.length;
    }
    const announced = Number(response.headers.get('content-length') ?? Number.NaN);
    if (Number.isFinite(announced) && received !== announced) {
      throw new Error(`the connection closed after ${received} of ${announced} bytes`);
    }
    await handle.sync();
    return hash.digest('hex');
  } catch (error) {
    // An abort surfaces as an AbortError; the reason says why we aborted.
    if (controller.signal.aborted && controller.signal.reason instanceof Error) throw controller.signal.reason;
    throw error;
  } finally {
    clearTimeout(watchdog);
    await handle.close();
  }
}

/** The md5 of a file's contents, lower-case hex. */
export async function md5OfFile(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Node's fetch reports "fetch failed" and hides the reason (ENOTFOUND, ECONNREFUSED) in `cause`. */
function describeNetworkError(error: Error): string {
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return `${error.message}: ${code ?? cause.message}`;
  }
  return error.message;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
