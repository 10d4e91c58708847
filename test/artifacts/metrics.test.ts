import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRunMetrics, writeRunMetrics } from '../../src/artifacts/metrics.js';
import { sampleMetrics } from '../report/fixtures.js';

describe('metrics.json', () => {
  it('keeps a loss that is not finite (a merge whose outputs are NaN): null on disk, NaN when read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'merge-train-metrics-'));
    const metrics = sampleMetrics();
    metrics.merges[0]!.testLoss = Number.NaN;
    metrics.merges[1]!.testLoss = Number.POSITIVE_INFINITY;
    await writeRunMetrics(dir, metrics);
    const read = await readRunMetrics(dir);
    expect(read.merges[0]!.testLoss).toBeNaN();
    expect(read.merges[1]!.testLoss).toBeNaN();
    expect(read.merges[2]!.testLoss).toBe(metrics.merges[2]!.testLoss);
  });
});
