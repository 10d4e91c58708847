import { axisTitle, GRID_COLOUR, TEXT_COLOUR } from './theme.js';

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

/**
 * The scales of a chart of test accuracy (%) over categories (N models, a sweep axis): the categories
 * evenly spaced with half a step of margin at both ends (so no marker is cut), and `range` on y.
 */
export function categoryAccuracyScales(xTitle: string, range: { min: number; max: number; step: number }) {
  return {
    x: {
      type: 'category' as const,
      offset: true,
      title: axisTitle(xTitle),
      grid: { color: GRID_COLOUR },
      ticks: { color: TEXT_COLOUR },
    },
    y: {
      type: 'linear' as const,
      min: range.min,
      max: range.max,
      title: axisTitle('test accuracy (%)'),
      grid: { color: GRID_COLOUR },
      ticks: { color: TEXT_COLOUR, stepSize: range.step },
    },
  };
}
