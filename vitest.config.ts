import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Two forks use both cores, so each computes on one thread and trains its base models in-process
    // (the tests that exercise threads and worker processes ask for them explicitly).
    pool: 'forks',
    maxWorkers: 2,
    env: { MERGE_TRAIN_THREADS: '1', MERGE_TRAIN_JOBS: '1' },
  },
});
