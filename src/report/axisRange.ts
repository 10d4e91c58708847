/**
 * A percentage axis around `values`: one point of margin, rounded out to a tick step (1, 2, 5, 10 or
 * 20) that gives at most `maxTicks` steps, within [0, 100].
 */
export function percentRange(values: readonly number[], maxTicks: number): { min: number; max: number; step: number } {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return { min: 0, max: 100, step: 20 };
  const [low, high] = [Math.min(...finite) - 1, Math.max(...finite) + 1];
  const step = [1, 2, 5, 10].find((s) => (high - low) / s <= maxTicks) ?? 20;
  return { min: Math.max(0, Math.floor(low / step) * step), max: Math.min(100, Math.ceil(high / step) * step), step };
}
