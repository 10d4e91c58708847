/**
 * The arithmetic of the PyTorch yardstick: which rounds were quiet enough to count, and the time
 * ratios of merge-train to PyTorch over them. A round of one case times merge-train and PyTorch back
 * to back at each thread count, so each round gives its own paired ratio; the summary is the median
 * of those ratios with their range.
 */
import { median } from './timing.js';

/** Rounds in which other processes used at least this share of the machine do not count. */
export const QUIET_SHARE = 0.1;

/** One thread count's pair of epoch times, in seconds, from one round. */
export interface PairedTiming {
  threads: number;
  mergeTrain: number;
  pytorch: number;
}

/** One round of one case: its paired timings and the share of the machine others used meanwhile. */
export interface Round {
  round: number;
  /** 0 to 1; undefined where it could not be measured. */
  othersShare: number | undefined;
  timings: PairedTiming[];
}

/** The rounds to summarise: the quiet ones, or all of them (quietOnly false) when none was quiet. */
export function quietRounds(rounds: Round[], threshold = QUIET_SHARE): { rounds: Round[]; quietOnly: boolean } {
  const quiet = rounds.filter((r) => r.othersShare !== undefined && r.othersShare < threshold);
  return quiet.length > 0 ? { rounds: quiet, quietOnly: true } : { rounds, quietOnly: false };
}

/** One thread count over the chosen rounds: median epoch times, and the ratio's median and range. */
export interface RatioSummary {
  threads: number;
  /** Median seconds of merge-train's and PyTorch's epochs. */
  mergeTrain: number;
  pytorch: number;
  /** Median, lowest and highest of the rounds' merge-train / PyTorch time ratios. */
  ratio: number;
  low: number;
  high: number;
}

/** The median and range of `values` (which must not be empty). */
function spread(values: number[]): { median: number; low: number; high: number } {
  return { median: median(values), low: Math.min(...values), high: Math.max(...values) };
}

/** Ratio summaries, one per thread count, in the order of the first round's timings. */
export function ratioSummaries(rounds: Round[]): RatioSummary[] {
  const threadCounts = rounds[0]?.timings.map((t) => t.threads) ?? [];
  return threadCounts.map((threads) => {
    const pairs = rounds.map((r) => {
      const pair = r.timings.find((t) => t.threads === threads);
      if (!pair) throw new Error(`round ${r.round} has no timing at ${threads} thread(s)`);
      return pair;
    });
    const ratios = spread(pairs.map((p) => p.mergeTrain / p.pytorch));
    return {
      threads,
      mergeTrain: median(pairs.map((p) => p.mergeTrain)),
      pytorch: median(pairs.map((p) => p.pytorch)),
      ratio: ratios.median,
      low: ratios.low,
      high: ratios.high,
    };
  });
}

/**
 * Each side's speed-up from `fewer` to `more` threads: the median over the rounds of
 * time(fewer) / time(more), both taken in the same round.
 */
export function threadGains(rounds: Round[], fewer: number, more: number): { mergeTrain: number; pytorch: number } {
  const gain = (side: 'mergeTrain' | 'pytorch') =>
    median(
      rounds.map((r) => {
        const [a, b] = [fewer, more].map((threads) => r.timings.find((t) => t.threads === threads));
        if (!a || !b) throw new Error(`round ${r.round} lacks a timing at ${fewer} or ${more} thread(s)`);
        return a[side] / b[side];
      }),
    );
  return { mergeTrain: gain('mergeTrain'), pytorch: gain('pytorch') };
}
