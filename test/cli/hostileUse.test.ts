/**
 * Issue 16, "never destroy what a path names, never score on the wrong split, never hang, never hide
 * a NaN": each case is a way a hostile or careless user broke an earlier version, through the real
 * command line. Refusals are one line with exit code 2 and leave what the paths name as it was.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunMetrics } from '../../src/artifacts/metrics.js';
import { mlpCheckpoint } from '../corpus/malformedSafetensors.js';
import { rawFile } from '../io/rawSafetensors.js';
import { runInProcess } from './inProcess.js';
import { artifactHashes, leftovers, results } from './killRun.js';
import { runCli, type CliResult } from './runCli.js';
import { expectRefusal } from './expectRefusal.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A small run: seconds. */
const recipe = `
name: hostile
seed: 1
data: { dataset: mnist, split: { train: 600, merge: 200, test: 200 } }
model: { family: mlp, config: { hidden: [12] } }
train: { epochs: 2, batchSize: 50 }
align: { methods: [cca] }
merge: { alphas: [uniform, learned], steps: 10, evalEvery: 5, batchSize: 50 }
`;

let dir: string;
const file = (name: string) => join(dir, name);
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'merge-train-hostile-'));
  writeFileSync(file('hostile.yaml'), recipe);
  writeFileSync(file('a.safetensors'), mlpCheckpoint());
  writeFileSync(file('b.safetensors'), mlpCheckpoint());
});

describe('output paths: only regular files are written, and no input is overwritten', () => {
  it('a symbolic link, a FIFO or a folder given as --out is refused, and left as it was', async () => {
    writeFileSync(file('precious.txt'), 'keep me');
    symlinkSync(file('precious.txt'), file('link.safetensors'));
    execFileSync('mkfifo', [file('fifo.safetensors')]);
    mkdirSync(file('folder.safetensors'));
    for (const [name, kind] of [['link', 'a symbolic link'], ['fifo', 'a FIFO'], ['folder', 'a directory']] as const) {
      const result = await runInProcess(['train', '--epochs', '1', '--hidden', '4', '--out', file(`${name}.safetensors`)]);
      expectRefusal(result, new RegExp(`will not write .*${name}\\.safetensors: it is ${kind}, and merge-train writes only regular files`));
    }
    expect(readFileSync(file('precious.txt'), 'utf8')).toBe('keep me');
  });

  it('an output that is one of the inputs, or two outputs that are one file, are refused before any work', async () => {
    const before = readFileSync(file('a.safetensors'));
    expectRefusal(
      await runInProcess(['merge', file('a.safetensors'), file('b.safetensors'), '--alpha', 'uniform', '--out', file('a.safetensors')]),
      /--out .*a\.safetensors is also an input/,
    );
    expect(Buffer.compare(readFileSync(file('a.safetensors')), before)).toBe(0);
    expectRefusal(
      await runInProcess(['merge', file('a.safetensors'), file('b.safetensors'), '--alpha', 'uniform', '--out', file('m.safetensors'), '--masks-out', file('m.safetensors')]),
      /--masks-out .*m\.safetensors is the same file as --out/,
    );
  });

  it('an output under a path that cannot be a folder is refused before training, naming the user\'s path', async () => {
    writeFileSync(file('plain.txt'), 'a file');
    const started = Date.now();
    const result = await runInProcess(['train', '--out', file('plain.txt/model.safetensors')]);
    expectRefusal(result, /cannot write .*plain\.txt\/model\.safetensors: a part of the path is not a directory/);
    expect(result.stderr).not.toMatch(/\.tmp/);
    expect(Date.now() - started).toBeLessThan(5000); // refused, not trained first
  });
});

describe('run folders', () => {
  it('a folder of other files is refused, never emptied', async () => {
    const mine = file('my-results');
    mkdirSync(join(mine, 'figures'), { recursive: true });
    writeFileSync(join(mine, 'figures', 'plot.png'), 'mine');
    expectRefusal(await runInProcess(['run', file('hostile.yaml'), '--out', mine, '--restart']), /is not a merge-train run folder/);
    expect(readdirSync(join(mine, 'figures'))).toEqual(['plot.png']);
  });

  it('a folder another run holds is refused, naming the holder', async () => {
    const held = file('held');
    mkdirSync(held);
    writeFileSync(join(held, '.merge-train.lock'), JSON.stringify({ pid: process.pid, host: (await import('node:os')).hostname(), since: '2026-01-01T00:00:00Z' }));
    expectRefusal(await runInProcess(['run', file('hostile.yaml'), '--out', held]), new RegExp(`is in use by another merge-train run \\(pid ${process.pid} on .*since 2026-01-01`));
  });
});

describe('inputs that would hang or exhaust the reader', () => {
  /** Runs the CLI in a child process with a time limit: a hang fails the test instead of stalling it. */
  function runWithin(args: string[], ms: number): Promise<CliResult & { timedOut: boolean }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', `${root}/src/cli/main.ts`, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
      let [stdout, stderr] = ['', ''];
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
      const timer = setTimeout(() => child.kill('SIGKILL'), ms);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? 1, stdout, stderr, timedOut: signal === 'SIGKILL' });
      });
    });
  }

  it('a FIFO given as a checkpoint or a recipe is refused at once', async () => {
    execFileSync('mkfifo', [file('pipe.safetensors'), file('pipe.yaml')]);
    const [checkpoint, recipeFile] = await Promise.all([runWithin(['eval', file('pipe.safetensors')], 20_000), runWithin(['run', file('pipe.yaml')], 20_000)]);
    expect(checkpoint.timedOut || recipeFile.timedOut).toBe(false);
    expectRefusal(checkpoint, /cannot read .*pipe\.safetensors: it is a FIFO/);
    expectRefusal(recipeFile, /cannot read recipe .*pipe\.yaml: it is a FIFO/);
  });

  it('a checkpoint larger than 2 GiB is checked by its header before its data is read', async () => {
    // 2.5 GiB of one tensor, as a sparse file: a valid safetensors file, not this model.
    const elements = 5 * 2 ** 27;
    const big = file('big.safetensors');
    const header = rawFile(`{"__metadata__":{"format":"merge-train/2"},"w":{"dtype":"F32","shape":[${elements}],"data_offsets":[0,${4 * elements}]}}`);
    writeFileSync(big, header);
    truncateSync(big, header.length + 4 * elements);
    const started = Date.now();
    expectRefusal(await runInProcess(['eval', big]), /big\.safetensors has no "architecture" metadata/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a checkpoint larger than any array this Node.js holds is refused after its header, not crashed on', async () => {
    // An MLP whose weights take 4.4 GiB: a header that fits the model, and a sparse file behind it.
    const hidden = 1_400_000;
    const shapes: [string, number[]][] = [['fc1.weight', [784, hidden]], ['fc1.bias', [hidden]], ['fc2.weight', [hidden, 10]], ['fc2.bias', [10]]];
    const entries: Record<string, unknown> = {};
    let offset = 0;
    for (const [name, shape] of shapes) {
      const end = offset + 4 * shape.reduce((a, b) => a * b, 1);
      entries[name] = { dtype: 'F32', shape, data_offsets: [offset, end] };
      offset = end;
    }
    const metadata = {
      format: 'merge-train/2',
      architecture: JSON.stringify({ family: 'mlp', config: { hidden: [hidden] }, inputShape: [28, 28, 1], numClasses: 10 }),
      info: JSON.stringify({ kind: 'base', dataset: 'mnist', splitSeed: 0, split: { train: 100, merge: 50, test: 50 }, key: 'huge' }),
    };
    const huge = file('huge.safetensors');
    const header = rawFile(JSON.stringify({ __metadata__: metadata, ...entries }));
    writeFileSync(huge, header);
    truncateSync(huge, header.length + offset);
    expectRefusal(await runInProcess(['eval', huge]), new RegExp(`its tensors hold ${offset} bytes; merge-train reads at most 4294967296`));
  });
});

describe('results that would be wrong', () => {
  it('report refuses a metrics.json of another shape, naming the field', async () => {
    const run = file('shape');
    mkdirSync(run);
    writeFileSync(join(run, 'metrics.json'), JSON.stringify({ dataset: 'mnist', models: 'two', ensemble: {}, merges: [], timings: {} }));
    expectRefusal(await runInProcess(['report', run]), /metrics\.json: \.models: expected array, received string/);
  });

  it('merge --steps Infinity is refused as the recipe field it sets', async () => {
    expectRefusal(
      await runInProcess(['merge', file('a.safetensors'), file('b.safetensors'), '--alpha', 'learned', '--steps', 'Infinity', '--out', file('x.safetensors')]),
      /command line: merge\.steps: expected a number, got Infinity/,
    );
  });
});

describe('a run folder that a crash left in a poor state', () => {
  it('a truncated artifact is set aside and made again, a stray training state goes, and the results are the same', async () => {
    const out = file('crashed');
    const first = await runCli(['run', file('hostile.yaml'), '--out', out]);
    expect(first.code, first.stderr).toBe(0);
    const [expected, hashes] = [results(out), artifactHashes(out)];
    const merged = join(out, 'merges', readdirSync(join(out, 'merges')).find((n) => n.startsWith('cca-learned-') && !n.includes('.before-'))!);
    truncateSync(merged, 100);
    writeFileSync(join(out, 'models', 'model-0.training.safetensors'), 'left by a kill between the model and its state');
    const again = await runCli(['run', file('hostile.yaml'), '--out', out]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(new RegExp(`${merged.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} cannot be read \\(.*\\); set aside as .*\\.corrupt and made again`));
    expect(existsSync(`${merged}.corrupt`)).toBe(true);
    expect(results(out)).toEqual(expected);
    expect(artifactHashes(out)).toEqual(hashes);
    expect(leftovers(out, [])).toEqual([]);
  });

  it('Ctrl-C (SIGINT) mid-run leaves no scratch folder and no lock', async () => {
    const out = file('interrupted');
    const child = spawn(process.execPath, ['--import', 'tsx', `${root}/src/cli/main.ts`, 'run', file('hostile.yaml'), '--out', out], {
      cwd: root,
      env: { ...process.env, MERGE_TRAIN_THREADS: '2', MERGE_TRAIN_JOBS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = child.pid!;
    let printed = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no data line within 60 s; printed: ${printed}`)), 60_000);
      child.stdout.on('data', (chunk: Buffer) => {
        printed += String(chunk);
        if (printed.includes('data:')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    // the threaded backend keeps its worker script in a scratch folder named after the process
    expect(readdirSync(tmpdir()).some((name) => name.startsWith(`merge-train-wasm-${pid}-`))).toBe(true);
    child.kill('SIGINT');
    const signal = await new Promise((resolve) => child.on('exit', (_code, s) => resolve(s)));
    expect(signal).toBe('SIGINT');
    expect(readdirSync(tmpdir()).filter((name) => name.startsWith(`merge-train-wasm-${pid}-`))).toEqual([]);
    expect(existsSync(join(out, '.merge-train.lock'))).toBe(false);
  });
});

describe('checkpoints of identical runs', () => {
  it('are identical byte for byte', async () => {
    const [one, two] = [file('twin-1'), file('twin-2')];
    for (const out of [one, two]) expect((await runCli(['run', file('hostile.yaml'), '--out', out])).code).toBe(0);
    const hashes = artifactHashes(one);
    expect(Object.keys(hashes).length).toBeGreaterThan(6);
    expect(artifactHashes(two)).toEqual(hashes);
    const metrics = (dir: string) => JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as RunMetrics;
    expect(metrics(two).merges).toEqual(metrics(one).merges);
  });
});

