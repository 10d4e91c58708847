/** Timing helpers for the benchmark suite: medians of repeated runs after warm-up. */

export interface Timed {
  /** Median seconds of the timed runs. */
  seconds: number;
  /** Every timed run, in seconds, in order. */
  runs: number[];
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Runs `work` `warmup` times untimed, then `repeats` times timed; returns the median. */
export async function timeMedian(work: () => unknown, repeats: number, warmup = 1): Promise<Timed> {
  for (let i = 0; i < warmup; i++) await work();
  const runs: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const started = performance.now();
    await work();
    runs.push((performance.now() - started) / 1000);
  }
  return { seconds: median(runs), runs };
}
