/** One figure of the benchmark: a value with its unit and which direction is better. */
export interface Figure {
  key: string;
  label: string;
  value: number;
  unit: string;
  better: 'higher' | 'lower';
}

export interface Regression {
  figure: Figure;
  previous: number;
  /** How much worse, as a fraction of the previous value (0.25 = 25% worse). */
  worse: number;
}

/** Figures more than `tolerance` worse than in `previous` (matched by key). */
export function regressions(current: Figure[], previous: Figure[], tolerance = 0.2): Regression[] {
  const before = new Map(previous.map((f) => [f.key, f]));
  const found: Regression[] = [];
  for (const figure of current) {
    const old = before.get(figure.key);
    if (!old || old.unit !== figure.unit || !(old.value > 0) || !(figure.value > 0)) continue;
    // Worse by the ratio in the bad direction: half the throughput and double the time are both 100% worse.
    const worse = figure.better === 'higher' ? old.value / figure.value - 1 : figure.value / old.value - 1;
    if (worse > tolerance) found.push({ figure, previous: old.value, worse });
  }
  return found;
}
