import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

interface ThreadedRun {
  threads: number;
  product: number[];
  filterGradient: number[];
  weights: number[];
}

/** Runs test/backend/threadedRun.ts with `threads` wasm threads in a fresh process; rejects if it does not exit within 60 s. */
function threadedRun(threads: number): Promise<ThreadedRun> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', `${root}/test/backend/threadedRun.ts`, String(threads)],
      { cwd: root, timeout: 60_000, maxBuffer: 16 << 20, env: { ...process.env, MERGE_TRAIN_THREADS: '' } },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as ThreadedRun)),
    );
  });
}

describe('the multithreaded wasm backend in Node', () => {
  it('runs XNNPACK and the gemm on two threads, computes what one thread computes, and lets the process exit', async () => {
    const [one, two] = await Promise.all([threadedRun(1), threadedRun(2)]);
    expect(one.threads).toBe(1);
    expect(two.threads).toBe(2);
    expect(two.product).toHaveLength(256 * 200 + 2000 * 10);
    // Each output is summed by one thread in the same order: the results agree exactly.
    expect(two.product).toEqual(one.product);
    expect(two.filterGradient).toHaveLength(3 * 3 * 8 * 16);
    expect(two.filterGradient).toEqual(one.filterGradient);
    expect(two.weights).toEqual(one.weights);
  });
});
