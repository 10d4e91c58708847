/**
 * `npm run bench -- --compare-torch`: the PyTorch yardstick. Times the bench's training cases in
 * merge-train (wasm backend) and in PyTorch at the same thread counts, each side in child processes
 * kept alive across rounds (one per thread count: the wasm backend's threads are fixed per process).
 * Each round times, for each case, merge-train and PyTorch back to back at every thread count, and
 * records how much of the machine other processes used meanwhile; the time ratios are summarised over
 * the quiet rounds only (see yardstickRounds.ts), or over all with a warning when none was quiet.
 *
 * PyTorch is looked for in MERGE_TRAIN_PYTHON when set (and only there), else in `python3`, then
 * `/usr/bin/python3` (where Debian's python3-torch installs it when `python3` is another Python).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { formatValue } from './performanceDoc.js';
import type { Figure } from './regressions.js';
import type { TrainingCase } from './sections.js';
import { readCpu, othersShareBetween } from './cpuShare.js';
import { trainingSettings } from './trainingCases.js';
import { startYardstickChild, type YardstickChild } from './yardstickChild.js';
import { QUIET_SHARE, quietRounds, ratioSummaries, threadGains, type PairedTiming, type Round } from './yardstickRounds.js';

/** The Python interpreters tried, in order. */
export function pythonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  return env.MERGE_TRAIN_PYTHON ? [env.MERGE_TRAIN_PYTHON] : ['python3', '/usr/bin/python3'];
}

/** The first candidate that imports torch, with torch's version; or why there is none. */
export function findTorchPython(env: NodeJS.ProcessEnv = process.env): { python: string; torch: string } | { reason: string } {
  const failures: string[] = [];
  for (const python of pythonCandidates(env)) {
    const probe = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { env, encoding: 'utf8', timeout: 120_000 });
    if (probe.status === 0) return { python, torch: probe.stdout.trim() };
    const why = probe.error ? probe.error.message : probe.stderr.trim().split('\n').pop() || `exit code ${probe.status}`;
    failures.push(`${python}: ${why}`);
  }
  const variable = env.MERGE_TRAIN_PYTHON ? 'MERGE_TRAIN_PYTHON' : 'neither python3 nor /usr/bin/python3';
  return { reason: `${variable} has no torch (${failures.join('; ')}); set MERGE_TRAIN_PYTHON to a python with torch` };
}

/** The rounds of one case, as bench.json keeps them. */
export interface CaseRounds {
  key: string;
  label: string;
  rounds: Round[];
  /** Whether the summary used only the quiet rounds (false: none was quiet, all were used). */
  quietOnly: boolean;
}

export interface TorchComparison {
  python: string;
  torch: string;
  /** The BLAS library PyTorch loaded, where it could be read (Linux). */
  blas: string | undefined;
  /** PyTorch's 512^3 matMul at each thread count (GFLOP/s), measured as its children start. */
  matmulGflops: Record<number, number>;
  threads: number[];
  cases: CaseRounds[];
  figures: Figure[];
}

export interface CompareOptions {
  cases: TrainingCase[];
  /** Timed rounds (after one warm-up epoch of every case in every child). */
  rounds: number;
  /** Thread counts, each timed on both sides in every round. */
  threads: number[];
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

const trainerFile = fileURLToPath(new URL('./yardstickTrainer.ts', import.meta.url));
const torchFile = fileURLToPath(new URL('./torchYardstick.py', import.meta.url));

/** Node's arguments for a TypeScript child: this process's, plus tsx's loader where it is not already in. */
function typeScriptExecArgv(): string[] {
  return process.execArgv.some((arg) => arg.includes('tsx')) ? process.execArgv : [...process.execArgv, '--import', 'tsx'];
}

/** Below this, a 512^3 matMul has not been through an optimised BLAS (the reference one gives a few GFLOP/s). */
const UNOPTIMISED_BLAS_GFLOPS = 10;

/** Lets a side's idle threads settle before the other side starts (PyTorch's pool may spin briefly). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 100));

const percent = (share: number | undefined) => (share === undefined ? 'unknown' : `${(100 * share).toFixed(0)}%`);
const times = (value: number) => `${value.toFixed(2)}x`;

/**
 * Runs the comparison and returns its figures and rounds, or undefined (after logging why) when no
 * python with torch is found. Rejects when a child fails; the children are stopped either way.
 */
export async function compareWithTorch(options: CompareOptions): Promise<TorchComparison | undefined> {
  const log = options.log ?? console.log;
  const env = options.env ?? process.env;
  const found = findTorchPython(env);
  if ('reason' in found) {
    log(`PyTorch comparison skipped: ${found.reason}`);
    return undefined;
  }
  const casesJson = JSON.stringify(options.cases);
  log(`PyTorch ${found.torch} (${found.python}) against merge-train on wasm, ${options.threads.join(' and ')} thread(s), ${options.rounds} rounds`);
  const sides: { threads: number; mergeTrain: YardstickChild; pytorch: YardstickChild }[] = [];
  const started: YardstickChild[] = [];
  const start = async (...args: Parameters<typeof startYardstickChild>) => {
    const child = await startYardstickChild(...args);
    started.push(child);
    return child;
  };
  try {
    for (const threads of options.threads) {
      const mergeTrain = await start(`merge-train, ${threads} thread(s)`, process.execPath, [...typeScriptExecArgv(), trainerFile, String(threads), casesJson], env);
      // torch.set_num_threads governs the OpenMP pool; a BLAS with its own pool reads its variable.
      const threadEnv = Object.fromEntries(['OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS'].map((name) => [name, String(threads)]));
      const pytorch = await start(`PyTorch, ${threads} thread(s)`, found.python, [torchFile, String(threads), casesJson, JSON.stringify(trainingSettings)], { ...env, ...threadEnv });
      sides.push({ threads, mergeTrain, pytorch });
    }
    const blas = (sides[0]?.pytorch.ready.blas as string | null | undefined) ?? undefined;
    const matmulGflops = Object.fromEntries(sides.map((s) => [s.threads, Number(s.pytorch.ready.matmulGflops)]));
    log(`PyTorch's BLAS: ${blas ?? 'unknown'}; its 512^3 matMul: ${sides.map((s) => `${matmulGflops[s.threads]!.toFixed(1)} GFLOP/s at ${s.threads} thread(s)`).join(', ')}`);
    if (sides.some((s) => matmulGflops[s.threads]! < UNOPTIMISED_BLAS_GFLOPS)) {
      log(
        `WARNING PyTorch's matMul runs under ${UNOPTIMISED_BLAS_GFLOPS} GFLOP/s: its BLAS looks unoptimised (Debian's reference libblas?), and the ratios understate merge-train's distance from a normal PyTorch; install an optimised BLAS (Debian: libopenblas0-pthread) or point MERGE_TRAIN_PYTHON to a torch that bundles one`,
      );
    }
    for (const c of options.cases) for (const child of started) await child.epoch(c.key); // warm-up
    const rounds = new Map<string, Round[]>(options.cases.map((c) => [c.key, []]));
    const pids = [process.pid, ...started.map((c) => c.pid)];
    for (let round = 1; round <= options.rounds; round++) {
      const shares: string[] = [];
      for (const c of options.cases) {
        const before = readCpu(pids);
        const timings: PairedTiming[] = [];
        for (const side of sides) {
          const mergeTrain = await side.mergeTrain.epoch(c.key);
          await settle();
          const pytorch = await side.pytorch.epoch(c.key);
          await settle();
          timings.push({ threads: side.threads, mergeTrain, pytorch });
        }
        const othersShare = othersShareBetween(before, readCpu(pids));
        rounds.get(c.key)!.push({ round, othersShare, timings });
        shares.push(`${c.key} ${percent(othersShare)}`);
      }
      log(`  round ${round}: other processes' share of the CPU: ${shares.join(', ')}`);
    }
    return { python: found.python, torch: found.torch, blas, matmulGflops, threads: options.threads, ...summarise(options.cases, rounds, options.threads, log) };
  } finally {
    for (const child of started) child.stop();
  }
}

/** Prints the table and a line per case; returns the figures and each case's rounds. */
function summarise(cases: TrainingCase[], all: Map<string, Round[]>, threads: number[], log: (line: string) => void): { cases: CaseRounds[]; figures: Figure[] } {
  const figures: Figure[] = [];
  const kept: CaseRounds[] = [];
  const lines: string[] = [];
  const table = ['| case | threads | merge-train epoch | PyTorch epoch | time ratio: median (range) | rounds |', '| --- | ---: | ---: | ---: | ---: | ---: |'];
  for (const c of cases) {
    const rounds = all.get(c.key)!;
    const chosen = quietRounds(rounds);
    kept.push({ key: c.key, label: c.label, rounds, quietOnly: chosen.quietOnly });
    if (!chosen.quietOnly) log(`WARNING ${c.label}: no round had other processes below ${100 * QUIET_SHARE}% of the CPU; ratios over all ${rounds.length} rounds`);
    const used = `${chosen.rounds.length} ${chosen.quietOnly ? 'quiet' : 'noisy'} of ${rounds.length}`;
    const summaries = ratioSummaries(chosen.rounds);
    for (const s of summaries) {
      table.push(
        `| ${c.label} | ${s.threads} | ${formatValue(1000 * s.mergeTrain, 'ms')} | ${formatValue(1000 * s.pytorch, 'ms')} | ${times(s.ratio)} (${times(s.low)}-${times(s.high)}) | ${used} |`,
      );
      figures.push({ key: `torch.${c.key}.${s.threads}`, label: `${c.label}: time / PyTorch's, ${s.threads} thread(s)`, value: s.ratio, unit: 'x', better: 'lower' });
    }
    const ratios = summaries.map((s) => `${times(s.ratio)} at ${s.threads} thread(s)`).join(', ');
    let line = `${c.label}: merge-train takes ${ratios} PyTorch's time (${used} rounds)`;
    if (threads.length > 1) {
      const [fewer, more] = [threads[0]!, threads.at(-1)!];
      const gain = threadGains(chosen.rounds, fewer, more);
      line += `; ${fewer} to ${more} threads speeds merge-train up ${times(gain.mergeTrain)}, PyTorch ${times(gain.pytorch)}`;
      figures.push({ key: `torch.${c.key}.gain`, label: `${c.label}: merge-train's ${fewer} to ${more} thread speed-up`, value: gain.mergeTrain, unit: 'x', better: 'higher' });
    }
    lines.push(line);
  }
  log('');
  for (const row of table) log(row);
  log('');
  for (const line of lines) log(line);
  return { cases: kept, figures };
}
