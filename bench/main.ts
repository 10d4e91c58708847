/**
 * `npm run bench`: the benchmark suite. Measures, on the selected backend, the matMul ceiling,
 * training throughput (MLP, small VGG, small ResNet), evaluation throughput, alignment statistics, CCA solves, learned-alpha
 * steps, the quickstart recipe end to end and parallel base-model training; prints a table, writes
 * reports/bench/bench.json and flags every figure more than 20% worse than the last saved one. With
 * --compare-torch it also times the training cases in PyTorch, interleaved with merge-train
 * (torchCompare.ts), and reports the time ratios.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Command, InvalidArgumentError } from 'commander';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { backendNames, selectBackend, wasmThreadCount, type BackendName } from '../src/backend/selectBackend.js';
import { writeJsonAtomic } from '../src/io/atomicWrite.js';
import { versions } from '../src/backend/versions.js';
import { benchTable, formatValue, writeBenchSection } from './performanceDoc.js';
import { evaluationThroughput } from './evaluation.js';
import { regressions, type Figure } from './regressions.js';
import * as sections from './sections.js';
import { compareWithTorch, type TorchComparison } from './torchCompare.js';
import { trainingCases } from './trainingCases.js';

const sectionNames = ['matmul', 'mlp', 'vgg', 'resnet', 'evaluation', 'statistics', 'cca', 'alpha', 'quickstart', 'jobs'] as const;
type SectionName = (typeof sectionNames)[number];

interface BenchFile {
  date: string;
  commit: string;
  backend: string;
  threads: number;
  machine: { cpus: number; model: string; memoryGB: number };
  versions: Record<string, string>;
  figures: Figure[];
  /** Live tensors before and after each section: equal when nothing leaked. */
  tensors: Record<string, { before: number; after: number }>;
  peakRssMB: number;
  /** The PyTorch comparison's rounds, when --compare-torch ran it (its ratios are among the figures). */
  torchComparison?: Omit<TorchComparison, 'figures'>;
}

function sectionList(value: string): SectionName[] {
  const names = value.split(',').map((s) => s.trim());
  for (const name of names) {
    if (!(sectionNames as readonly string[]).includes(name)) throw new InvalidArgumentError(`unknown section "${name}"; sections: ${sectionNames.join(', ')}`);
  }
  return names as SectionName[];
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

const formatFigure = (figure: Figure) => formatValue(figure.value, figure.unit);

async function main(): Promise<void> {
  const options = new Command('bench')
    .description('merge-train benchmark suite (medians of several runs after a warm-up)')
    .option('--backend <name>', `TensorFlow.js backend: ${backendNames.join(', ')}`, 'auto')
    .option('--threads <n>', 'wasm compute threads (default: one per core)', (v) => Number(v))
    .option('--only <sections>', `comma-separated subset of: ${sectionNames.join(', ')}`, sectionList, [...sectionNames])
    .option('--repeats <n>', 'timed runs per figure (after a warm-up)', (v) => Number(v), 3)
    .option('--out <file>', 'where to write the results', join('reports', 'bench', 'bench.json'))
    .option('--doc <file>', 'the page whose bench section shows the results (empty: none)', join('docs', 'performance.md'))
    .option('--compare-torch', 'also time the MLP, VGG and ResNet cases in PyTorch at 1 and 2 threads, interleaved with merge-train, and report the time ratios (needs a python with torch: MERGE_TRAIN_PYTHON, python3 or /usr/bin/python3)')
    .option('--torch-rounds <n>', 'rounds of the PyTorch comparison', positiveInteger, 5)
    .parse()
    .opts<{ backend: BackendName; threads?: number; only: SectionName[]; repeats: number; out: string; doc: string; compareTorch?: boolean; torchRounds: number }>();

  const threads = wasmThreadCount({ threads: options.threads });
  const backend = await selectBackend(options.backend, { threads });
  const repeats = options.repeats;
  console.log(`backend ${backend}, ${threads} thread(s), ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'})\n`);
  const figures: Figure[] = [];
  const tensors: BenchFile['tensors'] = {};
  const runs: Record<SectionName, () => Promise<Figure[]>> = {
    matmul: () => sections.matMulCeiling(),
    mlp: async () => {
      const figures = await sections.trainingThroughput(trainingCases.mlp, repeats);
      const [products] = await sections.mlpProductCeiling(repeats);
      const trained = figures.find((f) => f.key === 'mlp.gflops')!.value;
      return [
        ...figures,
        products!,
        { key: 'mlp.products.fraction', label: 'MLP training, of the step products alone', value: (100 * trained) / products!.value, unit: '%', better: 'higher' },
      ];
    },
    vgg: () => sections.trainingThroughput(trainingCases.vgg, repeats),
    resnet: () => sections.trainingThroughput(trainingCases.resnet, repeats),
    evaluation: () => evaluationThroughput(repeats),
    statistics: () => sections.statisticsThroughput(repeats),
    cca: async () => [
      ...(await sections.ccaSolve(128, Math.max(repeats, 5), 2)),
      ...(await sections.ccaSolve(512, repeats, 1)),
      // One warm-up run of 2048 costs as much as the figure: the 512 runs warmed the code up.
      ...(await sections.ccaSolve(2048, Math.min(repeats, 2), 0)),
    ],
    alpha: () => sections.alphaSteps(repeats),
    quickstart: () => sections.quickstart(Math.min(repeats, 2), threads),
    jobs: () => sections.parallelTraining(threads),
  };
  for (const name of sectionNames.filter((s) => options.only.includes(s))) {
    const before = tf.memory().numTensors;
    const result = await runs[name]();
    tensors[name] = { before, after: tf.memory().numTensors };
    for (const figure of result) console.log(`${figure.label.padEnd(48)} ${formatFigure(figure).padStart(16)}`);
    figures.push(...result);
  }
  let torchComparison: BenchFile['torchComparison'];
  if (options.compareTorch) {
    console.log('');
    try {
      const comparison = await compareWithTorch({ cases: Object.values(trainingCases), rounds: options.torchRounds, threads: [1, 2] });
      if (comparison) {
        const { figures: ratios, ...rounds } = comparison;
        figures.push(...ratios);
        torchComparison = rounds;
      }
    } catch (error) {
      // The other sections' figures are still written; the exit code says the comparison failed.
      console.log(`PyTorch comparison FAILED: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    }
  }

  const previous = existsSync(options.out) ? (JSON.parse(readFileSync(options.out, 'utf8')) as BenchFile) : undefined;
  if (previous) {
    const worse = regressions(figures, previous.figures);
    console.log(`\ncompared with ${options.out} (${previous.date}, ${previous.commit}, ${previous.backend}, ${previous.threads} thread(s)):`);
    if (worse.length === 0) console.log('no figure is more than 20% worse');
    for (const r of worse) {
      console.log(`REGRESSION ${r.figure.label}: ${formatFigure(r.figure)}, was ${r.previous.toFixed(2)} ${r.figure.unit} (${(100 * r.worse).toFixed(0)}% worse)`);
    }
  }
  const leaks = Object.entries(tensors).filter(([, t]) => t.after !== t.before);
  for (const [name, t] of leaks) console.log(`LEAK in ${name}: ${t.before} tensors before, ${t.after} after`);
  const result: BenchFile = {
    date: new Date().toISOString(),
    commit: gitCommit(),
    backend,
    threads,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', memoryGB: Math.round(os.totalmem() / 2 ** 30) },
    versions: versions(backend),
    figures,
    tensors,
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    ...(torchComparison ? { torchComparison } : {}),
  };
  await writeJsonAtomic(options.out, result);
  console.log(`\npeak RSS ${result.peakRssMB} MB; written to ${options.out}`);
  if (options.doc) {
    await writeBenchSection(options.doc, benchTable(result, previous));
    console.log(`results table written into ${options.doc}`);
  }
}

await main();
