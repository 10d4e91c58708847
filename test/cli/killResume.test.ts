import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunMetrics } from '../../src/artifacts/metrics.js';
import { runCli } from './runCli.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Small enough for seconds a run, with every kind of stage: training epochs, three alignments, learned alpha with checkpoints. */
const recipe = `
name: killed
seed: 4
data: { dataset: mnist, split: { train: 3000, merge: 600, test: 300 } }
model: { family: mlp, config: { hidden: [48] } }
train: { epochs: 6, batchSize: 50, learningRate: 0.05 }
align: { methods: [none, permutation, cca] }
merge: { alphas: [uniform, learned], steps: 60, batchSize: 50, evalEvery: 5 }
`;

/**
 * Where to kill: after the first stdout line matching `after`, plus `delayMs`. The delays after a
 * line land inside the stage that follows it (training epochs, statistics, learned alpha...).
 */
const killPoints: { after: RegExp; delayMs: number }[] = [
  { after: /^backend:/, delayMs: 0 },
  { after: /^data:/, delayMs: 200 },
  { after: /^data:/, delayMs: 700 },
  { after: /^data:/, delayMs: 1400 },
  { after: /^data:/, delayMs: 2200 },
  { after: /^model B: test accuracy/, delayMs: 0 },
  { after: /^merge none · uniform/, delayMs: 100 },
  { after: /^merge none · uniform/, delayMs: 400 },
  { after: /^merge permutation · uniform/, delayMs: 250 },
  { after: /^merge cca · uniform/, delayMs: 150 },
  { after: /^merge cca · uniform/, delayMs: 500 },
  { after: /^merge cca · learned/, delayMs: 0 },
];

/** Which stage files a killed run left: where the kill landed. */
function leftBehind(dir: string): string {
  const list = (sub: string) => (existsSync(join(dir, sub)) ? readdirSync(join(dir, sub)) : []);
  const models = list('models');
  const masks = list('masks');
  return [
    `${models.filter((f) => !f.includes('.training.')).length} models`,
    ...models.filter((f) => f.includes('.training.')).map((f) => `training state ${f}`),
    `${list('aligned').length} aligned`,
    `${list('merges').length} merges`,
    ...masks.filter((f) => f.includes('.training.')).map((f) => `alpha state ${f}`),
  ].join(', ');
}

/** Starts `merge-train run` and SIGKILLs it at `point`; resolves with the last line it printed (or 'finished'). */
function runAndKill(args: string[], point: { after: RegExp; delayMs: number }): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', `${root}/src/cli/main.ts`, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let lines: string[] = [];
    let armed = false;
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      lines = [...lines, ...text.split('\n').filter(Boolean)];
      if (!armed && lines.some((line) => point.after.test(line))) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), point.delayMs);
      }
    });
    child.on('exit', (_code, signal) => resolve(signal === 'SIGKILL' ? `killed after "${lines.at(-1) ?? ''}"` : 'finished'));
  });
}

/** The numbers a run produces (timings and resources vary; these must not). */
function results(dir: string) {
  const metrics = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as RunMetrics;
  const models = metrics.models.map(({ checkpoint: _inRunDirectory, ...rest }) => rest);
  return { models, ensemble: metrics.ensemble, merges: metrics.merges, curves: metrics.alphaCurves, alignment: metrics.alignment };
}

describe('a run killed at any moment resumes to the same results', () => {
  let dir: string;
  let reference: ReturnType<typeof results>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'merge-train-kill-'));
    writeFileSync(join(dir, 'killed.yaml'), recipe);
    const run = await runCli(['run', join(dir, 'killed.yaml'), '--out', join(dir, 'reference')]);
    expect(run.code, run.stderr).toBe(0);
    reference = results(join(dir, 'reference'));
  });

  it.each(killPoints.map((point, i) => [i, point] as const))('kill point %i: SIGKILL, then rerun', async (i, point) => {
    const out = join(dir, `run-${i}`);
    const args = ['run', join(dir, 'killed.yaml'), '--out', out];
    const where = `${await runAndKill(args, point)}; left ${leftBehind(out)}`;
    console.log(`kill point ${i}: ${where}`);
    const resumed = await runCli(args);
    expect(resumed.code, `${where}\n${resumed.stderr}`).toBe(0);
    expect(results(out), where).toEqual(reference);
  });

  it('grows with new alignment or merge settings, refuses other base-model settings naming the field, and --restart starts over', async () => {
    const out = join(dir, 'run-0');
    const grown = await runCli(['run', join(dir, 'killed.yaml'), '--out', out, '--gamma', '0.5']);
    expect(grown.code, grown.stderr).toBe(0);
    // Base models and the other alignments are reused; only the new CCA variant is made.
    expect(grown.stdout).toMatch(/model A: reusing/);
    expect(grown.stdout).toMatch(/align permutation: reusing/);
    const labels = (JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as RunMetrics).merges.map((m) => m.label);
    expect(labels).toEqual(expect.arrayContaining(['cca (gamma 1) · uniform', 'cca (gamma 0.5) · uniform', 'permutation · learned (uniform init)']));
    expect(labels).toHaveLength(reference.merges.length + 2);

    const changed = await runCli(['run', join(dir, 'killed.yaml'), '--out', out, '--epochs', '5']);
    expect(changed.code).toBe(2);
    expect(changed.stderr.trim().split('\n')).toHaveLength(1);
    expect(changed.stderr).toMatch(/holds a run of other base models \(train\.epochs: 6 → 5\); .*--restart/);
    const restarted = await runCli(['run', join(dir, 'killed.yaml'), '--out', out, '--epochs', '5', '--restart']);
    expect(restarted.code, restarted.stderr).toBe(0);
    expect(restarted.stdout).not.toMatch(/reusing/);
    const after = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')) as RunMetrics;
    expect(after.merges).toHaveLength(reference.merges.length);
  });
});
