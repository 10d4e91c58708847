import * as tf from '@tensorflow/tfjs-core';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { installedWasmVersion, WASM_BACKEND_VERSION, WASM_KERNELS_SWITCH, wasmContractBreaches } from '../../src/backend/wasmContract.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** What test/backend/stockBackend.ts reports in a fresh process with `env` added. */
function startIn(env: Record<string, string>): Promise<{ threads: number; momentumKernel: boolean; state: string; product: number[] }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', `${root}/test/backend/stockBackend.ts`], { cwd: root, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${error.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1)!));
    });
  });
}

describe('the wasm backend internals merge-train uses', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  it('are those of the one version package.json pins exactly', () => {
    const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8')) as { dependencies: Record<string, string> };
    for (const name of ['@tensorflow/tfjs', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm', '@tensorflow/tfjs-backend-cpu']) {
      expect(pkg.dependencies[name], name).toBe(WASM_BACKEND_VERSION);
    }
    expect(installedWasmVersion()).toBe(WASM_BACKEND_VERSION);
  });

  it('are all present on the live backend (else this names what changed)', () => {
    expect(wasmContractBreaches(tf.backend())).toEqual([]);
  });

  it('are missed, by name, on a backend without them', () => {
    const breaches = wasmContractBreaches({ makeOutput: () => undefined, wasm: {} });
    expect(breaches).toEqual(expect.arrayContaining(['backend.readSync() is missing', 'backend.dataIdMap is missing']));
    expect(breaches.join('; ')).toMatch(/no WebAssembly\.Memory/);
  });

  it(`are all left alone with ${WASM_KERNELS_SWITCH}=off: the stock backend, one thread, the same results`, async () => {
    const [on, off] = await Promise.all([startIn({}), startIn({ [WASM_KERNELS_SWITCH]: 'off' })]);
    expect(on).toMatchObject({ threads: 2, momentumKernel: true, state: expect.stringMatching(/^on/) });
    expect(off).toMatchObject({ threads: 1, momentumKernel: false, state: `off (${WASM_KERNELS_SWITCH}=off)` });
    expect(off.product).toEqual(on.product);
  });
});
