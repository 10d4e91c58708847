/**
 * The benchmark sections. Each measures one stage of a merging run on the selected backend and
 * returns its figures; bench/main.ts runs them, prints the table and writes bench.json.
 */
import * as tf from '@tensorflow/tfjs-core';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ccaTransform } from '../src/align/cca.js';
import { WASM_GEMM_FLAG } from '../src/backend/wasmMatMul.js';
import { collectSpaceMoments, type SpaceMoments } from '../src/align/moments.js';
import { TensorSet } from '../src/data/batches.js';
import type { RunMetrics } from '../src/artifacts/metrics.js';
import { learnAlphaMasks } from '../src/merge/learnAlpha.js';
import { families } from '../src/nn/families.js';
import { crossEntropy } from '../src/nn/loss.js';
import { disposeParams, initParams } from '../src/nn/init.js';
import type { ModelSpec, ParamMap } from '../src/nn/spec.js';
import { trainModel } from '../src/train/trainModel.js';
import { createRng } from '../src/util/random.js';
import { productFlops } from './flops.js';
import type { Figure } from './regressions.js';
import { median, timeMedian } from './timing.js';
import { trainingSettings } from './trainingCases.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Seeded standard-normal-ish inputs (sum of three uniforms) and labels, the same on every backend. */
export function syntheticSet(count: number, inputShape: number[], numClasses: number, seed: number): TensorSet {
  const rng = createRng(seed);
  const width = inputShape.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: count * width }, () => rng() + rng() + rng() - 1.5);
  const y = Int32Array.from({ length: count }, () => Math.floor(rng() * numClasses));
  return new TensorSet({ x, y, count }, inputShape);
}

/** GFLOP/s of a size^3 matMul (its right-hand operand reused, as XNNPACK likes best), median of `repeats`. */
async function matMulGflops(size: number, repeats: number, warmup: number): Promise<number> {
  const [a, b] = [tf.randomNormal([size, size], 0, 1, 'float32', 1), tf.randomNormal([size, size], 0, 1, 'float32', 2)];
  const { seconds } = await timeMedian(() => {
    const product = tf.matMul(a, b);
    product.dataSync(); // wait for the backend
    product.dispose();
  }, repeats, warmup);
  tf.dispose([a, b]);
  return (2 * size ** 3) / seconds / 1e9;
}

export const CEILING_SIZE = 1024;

/**
 * The matMul ceiling: on 'wasm', the better of merge-train's gemm and the backend's own XNNPACK
 * kernel (WASM_GEMM_FLAG off), so that a fraction of the ceiling cannot rise by a slower kernel.
 */
async function ceilingGflops(repeats: number, warmup: number): Promise<{ ceiling: number; gemm?: number; xnnpack?: number }> {
  if (tf.getBackend() !== 'wasm') return { ceiling: await matMulGflops(CEILING_SIZE, repeats, warmup) };
  const gemm = await matMulGflops(CEILING_SIZE, repeats, warmup);
  tf.env().set(WASM_GEMM_FLAG, false);
  try {
    const xnnpack = await matMulGflops(CEILING_SIZE, repeats, warmup);
    return { ceiling: Math.max(gemm, xnnpack), gemm, xnnpack };
  } finally {
    tf.env().set(WASM_GEMM_FLAG, true);
  }
}

export async function matMulCeiling(): Promise<Figure[]> {
  const { ceiling, gemm, xnnpack } = await ceilingGflops(5, 2);
  const figure = (key: string, label: string, value: number): Figure => ({ key, label, value, unit: 'GFLOP/s', better: 'higher' });
  return [
    figure('matmul.gflops', `matMul ${CEILING_SIZE}^3 (ceiling)`, ceiling),
    ...(gemm === undefined ? [] : [figure('matmul.gemm.gflops', `  merge-train gemm`, gemm)]),
    ...(xnnpack === undefined ? [] : [figure('matmul.xnnpack.gflops', `  backend's XNNPACK`, xnnpack)]),
  ];
}

/** FLOPs of the matrix products and convolutions of one SGD step (forward and backward) on `batch`. */
async function stepFlops(spec: ModelSpec, params: ParamMap, batch: { x: tf.Tensor; y: tf.Tensor1D }): Promise<number> {
  const variables = Object.fromEntries(Object.entries(params).map(([n, p]) => [n, tf.variable(p)]));
  const optimizer = tf.train.sgd(0.01);
  const flops = await productFlops(() => {
    tf.tidy(() => {
      optimizer.minimize(() => crossEntropy(spec.forward(variables, batch.x, { training: true }), batch.y));
    });
  });
  optimizer.dispose();
  tf.dispose(Object.values(variables));
  return flops;
}

export interface TrainingCase {
  key: string;
  label: string;
  family: string;
  config: Record<string, unknown>;
  inputShape: number[];
  examples: number;
}

/**
 * One epoch of SGD with momentum (batch 128) through the product's training loop: epoch time,
 * examples/s, and useful GFLOP/s as a fraction of the matMul ceiling. The ceiling is measured again
 * just before each timed epoch and each epoch compared with its own: on a shared machine whose speed
 * drifts by tens of percent from minute to minute, a ceiling taken minutes earlier says little.
 */
export async function trainingThroughput(c: TrainingCase, repeats: number): Promise<Figure[]> {
  const family = families.get(c.family);
  const spec = family.build(family.configSchema.parse(c.config) as Record<string, unknown>, c.inputShape, 10);
  const params = initParams(spec, 0);
  const data = syntheticSet(c.examples, c.inputShape, 10, 7);
  const { batchSize } = trainingSettings;
  let seed = 0;
  const epoch = async () => {
    const out = await trainModel(spec, params, data, { ...trainingSettings, epochs: 1, optimizer: 'sgd', seed: seed++ });
    disposeParams(out.params);
  };
  await epoch(); // warm-up
  const runs: { seconds: number; ceiling: number }[] = [];
  for (let i = 0; i < repeats; i++) {
    const { ceiling } = await ceilingGflops(3, 1);
    const started = performance.now();
    await epoch();
    runs.push({ seconds: (performance.now() - started) / 1000, ceiling });
  }
  const seconds = median(runs.map((r) => r.seconds));
  const [batch] = data.batches(batchSize);
  const flops = (await stepFlops(spec, params, batch!)) * (c.examples / batchSize);
  tf.dispose([batch!.x, batch!.y]);
  disposeParams(params);
  data.dispose();
  const gflops = flops / seconds / 1e9;
  return [
    { key: `${c.key}.epoch`, label: `${c.label}: epoch of ${c.examples}`, value: seconds * 1000, unit: 'ms', better: 'lower' },
    { key: `${c.key}.examples`, label: `${c.label}: training`, value: c.examples / seconds, unit: 'examples/s', better: 'higher' },
    { key: `${c.key}.gflops`, label: `${c.label}: useful FLOP/s`, value: gflops, unit: 'GFLOP/s', better: 'higher' },
    {
      key: `${c.key}.ceiling`,
      label: `${c.label}: of matMul ceiling`,
      value: median(runs.map((r) => (100 * flops) / r.seconds / 1e9 / r.ceiling)),
      unit: '%',
      better: 'higher',
    },
  ];
}

const mlpCase = { family: 'mlp', config: { hidden: [512, 512] }, inputShape: [784] };

/**
 * The matrix products of one SGD step of the 784-512-512-10 MLP at batch 128 (forward, weight
 * gradients, input gradients), each with operands the backend has not seen before, as in training
 * where every step brings new weights and activations. Their GFLOP/s is the ceiling that training
 * itself can reach on this backend; the 1024^3 figure reuses one right-hand operand, which XNNPACK
 * keeps packed (merge-train's gemm packs blocks as it goes either way).
 */
export async function mlpProductCeiling(repeats: number): Promise<Figure[]> {
  const layers: [number, number][] = [[784, 512], [512, 512], [512, 10]];
  const batch = 128;
  // [a shape, b shape, transposeA, transposeB] of every product of a step.
  type Product = [number[], number[], boolean, boolean];
  const products: Product[] = layers.flatMap(([fanIn, fanOut], i): Product[] => [
    [[batch, fanIn], [fanIn, fanOut], false, false], // forward
    [[batch, fanIn], [batch, fanOut], true, false], // weight gradient
    ...(i > 0 ? [[[batch, fanOut], [fanIn, fanOut], false, true] as Product] : []), // input gradient
  ]);
  const flops = products.reduce((sum, [a, b, ta, tb]) => sum + 2 * (ta ? a[1]! : a[0]!) * (ta ? a[0]! : a[1]!) * (tb ? b[0]! : b[1]!), 0);
  // Operands made before timing, each used once (the backend keeps a right-hand operand packed while it lives).
  const stepsPerRun = 8;
  const sets = Array.from({ length: stepsPerRun * (repeats + 1) }, (_, k) =>
    products.map(([a, b]) => [tf.randomNormal(a, 0, 1, 'float32', 2 * k), tf.randomNormal(b, 0, 1, 'float32', 2 * k + 1)]),
  );
  const step = () => {
    const operands = sets.shift()!;
    const outputs = products.map(([, , ta, tb], i) => tf.matMul(operands[i]![0]!, operands[i]![1]!, ta, tb));
    outputs.at(-1)!.dataSync();
    tf.dispose([...outputs, ...operands.flat()]);
  };
  const { seconds } = await timeMedian(() => {
    for (let i = 0; i < stepsPerRun; i++) step();
  }, repeats);
  return [{ key: 'mlp.products.gflops', label: 'MLP step products, fresh operands', value: (stepsPerRun * flops) / seconds / 1e9, unit: 'GFLOP/s', better: 'higher' }];
}

/** Streaming alignment statistics (moments of every space of two 784-512-512 MLPs). */
export async function statisticsThroughput(repeats: number): Promise<Figure[]> {
  const spec = families.get('mlp').build(mlpCase.config, mlpCase.inputShape, 10);
  const [a, b] = [initParams(spec, 1), initParams(spec, 2)];
  const data = syntheticSet(4096, mlpCase.inputShape, 10, 3);
  const { seconds } = await timeMedian(() => collectSpaceMoments(spec, a, b, data, 500), repeats);
  [a, b].forEach(disposeParams);
  data.dispose();
  return [{ key: 'statistics.examples', label: 'alignment statistics (MLP 512-512)', value: 4096 / seconds, unit: 'examples/s', better: 'higher' }];
}

/**
 * Covariances of two correlated n-unit feature spaces: A = Z + noise, B = (Z with its units
 * rotated by a random orthogonal-ish mix) + noise, over 2n samples, formed on the backend.
 */
function syntheticMoments(n: number, seed: number): SpaceMoments {
  const samples = 2 * n;
  const covariances = tf.tidy(() => {
    const z = tf.randomNormal([n, samples], 0, 1, 'float32', seed);
    const mix = tf.randomNormal([n, n], 0, 1 / Math.sqrt(n), 'float32', seed + 1);
    const a = tf.add(z, tf.randomNormal([n, samples], 0, 0.5, 'float32', seed + 2)) as tf.Tensor2D;
    const b = tf.add(tf.matMul(mix, z), tf.randomNormal([n, samples], 0, 0.5, 'float32', seed + 3)) as tf.Tensor2D;
    return [tf.matMul(a, a, false, true), tf.matMul(b, b, false, true), tf.matMul(a, b, false, true)].map((c) => tf.div(c, samples));
  });
  const [covAA, covBB, covAB] = covariances.map((c) => Float64Array.from(c.dataSync()));
  tf.dispose(covariances);
  return { space: `synthetic-${n}`, count: samples, size: n, meanA: new Float64Array(n), meanB: new Float64Array(n), covAA: covAA!, covBB: covBB!, covAB: covAB! };
}

/** The CCA transform solve (from covariances to T and T^-1) for one feature-space width. */
export async function ccaSolve(n: number, repeats: number, warmup: number): Promise<Figure[]> {
  const moments = syntheticMoments(n, n);
  const { seconds } = await timeMedian(() => ccaTransform(moments, { gamma: 1e-3 }), repeats, warmup);
  return [{ key: `cca.${n}`, label: `CCA solve, ${n} units`, value: seconds * 1000, unit: 'ms', better: 'lower' }];
}

/** Learned-alpha optimisation steps (batch 128) on two 784-512-512 MLPs. */
export async function alphaSteps(repeats: number): Promise<Figure[]> {
  const spec = families.get('mlp').build(mlpCase.config, mlpCase.inputShape, 10);
  const [a, b] = [initParams(spec, 1), initParams(spec, 2)];
  const half = tf.tidy(() => Object.fromEntries(Object.entries(a).map(([n, t]) => [n, tf.fill(t.shape, 0.5)])));
  const train = syntheticSet(2048, mlpCase.inputShape, 10, 4);
  const validation = syntheticSet(256, mlpCase.inputShape, 10, 5);
  const steps = 50;
  const run = async () => (await learnAlphaMasks(spec, [a, b], [half], train, validation, { steps, batchSize: 128, learningRate: 0.01, seed: 0, evalEvery: steps })).masks.forEach(disposeParams);
  const { seconds } = await timeMedian(run, repeats);
  [a, b, half].forEach(disposeParams);
  [train, validation].forEach((s) => s.dispose());
  return [{ key: 'alpha.steps', label: 'learned alpha (MLP 512-512)', value: steps / seconds, unit: 'steps/s', better: 'higher' }];
}

/**
 * Runs a command of the merge-train CLI in a child process, as users run it: compiled, from dist/
 * (`npm run bench` builds first). Resolves with its wall seconds.
 */
function runCliTimed(args: string[], env: Record<string, string> = {}): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(root, 'dist/cli/main.js'), ...args],
      { cwd: root, env: { ...process.env, ...env }, maxBuffer: 1 << 24 },
      (error, _stdout, stderr) => (error ? reject(new Error(`merge-train ${args.join(' ')} failed: ${stderr.trim().split('\n').pop()}`)) : resolve((performance.now() - started) / 1000)),
    );
  });
}

/** The quickstart recipe end to end in a fresh process and run directory: wall time and peak RSS. */
export async function quickstart(repeats: number, threads: number): Promise<Figure[]> {
  const walls: number[] = [];
  const peaks: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'merge-train-bench-'));
    try {
      walls.push(await runCliTimed(['run', 'quickstart', '--out', dir, '--threads', String(threads)]));
      const metrics = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as RunMetrics;
      peaks.push(metrics.resources?.peakRssMB ?? Number.NaN);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return [
    { key: 'quickstart.seconds', label: 'quickstart recipe end to end', value: median(walls), unit: 's', better: 'lower' },
    { key: 'quickstart.rss', label: 'quickstart peak RSS (main process)', value: median(peaks), unit: 'MB', better: 'lower' },
  ];
}

/**
 * Training 4 base models on quickstart's data for its 10 epochs, with --jobs 1 and --jobs 2: the
 * `train` stage's seconds from metrics.json, one fresh run directory each. Two networks: quickstart's
 * own MLP (784-256-256-10), where each worker's start-up (about a second) weighs most, and the
 * 784-512-512-10 MLP of the training figures.
 */
export async function parallelTraining(threads: number): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const [key, hidden] of [['jobs', '256,256'], ['jobs512', '512,512']] as const) {
    const trainSeconds = async (jobs: number, runThreads: number) => {
      const dir = mkdtempSync(join(tmpdir(), 'merge-train-bench-'));
      try {
        const args = ['run', 'quickstart', '--out', dir, '--models', '4', '--hidden', hidden, '--align', 'none', '--alphas', 'uniform'];
        await runCliTimed([...args, '--jobs', String(jobs), '--threads', String(runThreads)]);
        return (JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as RunMetrics).timings.train!;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    const serialOneThread = await trainSeconds(1, 1);
    const serial = await trainSeconds(1, threads);
    const parallel = await trainSeconds(threads, threads);
    const net = `MLP ${hidden.replace(',', '-')}`;
    figures.push(
      { key: `${key}.serial1`, label: `4 base models (${net}), --jobs 1 --threads 1`, value: serialOneThread, unit: 's', better: 'lower' },
      { key: `${key}.serial`, label: `4 base models (${net}), --jobs 1 --threads ${threads}`, value: serial, unit: 's', better: 'lower' },
      { key: `${key}.parallel`, label: `4 base models (${net}), --jobs ${threads}`, value: parallel, unit: 's', better: 'lower' },
      { key: `${key}.ratio1`, label: `${net}: --jobs ${threads} / (--jobs 1 --threads 1)`, value: (100 * parallel) / serialOneThread, unit: '%', better: 'lower' },
      { key: `${key}.ratio`, label: `${net}: --jobs ${threads} / (--jobs 1 --threads ${threads})`, value: (100 * parallel) / serial, unit: '%', better: 'lower' },
    );
  }
  return figures;
}
