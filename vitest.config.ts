import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The WASM backend computes on one thread per process; two forks use both cores.
    pool: 'forks',
    maxWorkers: 2,
  },
});
