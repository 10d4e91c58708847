/**
 * Error bars for Chart.js charts, which have none of their own: a vertical stroke from value - error to
 * value + error with a cap at each end.
 */

import type { Chart, ChartType, Plugin } from 'chart.js';

/** Half the width in px of an error bar's caps. */
const CAP_HALF_WIDTH = 6;

/** Adds to the current path a vertical stroke at `x` from `top` to `bottom` (px) with a cap of half width `cap` at each end. */
export function traceWhisker(ctx: { moveTo(x: number, y: number): void; lineTo(x: number, y: number): void }, x: number, top: number, bottom: number, cap: number): void {
  ctx.moveTo(x, top);
  ctx.lineTo(x, bottom);
  ctx.moveTo(x - cap, top);
  ctx.lineTo(x + cap, top);
  ctx.moveTo(x - cap, bottom);
  ctx.lineTo(x + cap, bottom);
}

/** Errors (in the y axis's units) of the points of one dataset, and the colour to draw them in. */
export interface DatasetErrors {
  datasetIndex: number;
  errors: readonly (number | null | undefined)[];
  colour: string;
}

/**
 * Draws ± `errors[i]` around point i of each listed dataset. `when` 'before' draws them under the
 * datasets (markers of lines stay on top), 'after' over them (bars would hide their lower half).
 */
export function errorBars<T extends ChartType>(bars: readonly DatasetErrors[], when: 'before' | 'after'): Plugin<T> {
  const draw = (chart: Chart<T>): void => {
    const { ctx } = chart;
    const y = chart.scales.y;
    if (!y) return;
    ctx.save();
    // Kept to the plot: a mean + std may pass the axis's end (an accuracy above 100 %, which none can be).
    const area = chart.chartArea;
    ctx.beginPath();
    ctx.rect(area.left, area.top, area.right - area.left, area.bottom - area.top);
    ctx.clip();
    ctx.lineWidth = 1.5;
    for (const { datasetIndex, errors, colour } of bars) {
      const values = chart.data.datasets[datasetIndex]?.data ?? [];
      const points = chart.getDatasetMeta(datasetIndex).data;
      ctx.strokeStyle = colour;
      points.forEach((point, i) => {
        const value = values[i];
        const error = errors[i];
        if (typeof value !== 'number' || typeof error !== 'number' || !Number.isFinite(error) || error <= 0) return;
        const top = y.getPixelForValue(value + error);
        const bottom = y.getPixelForValue(value - error);
        // A narrow bar gets caps narrower than itself.
        const width = (point as unknown as { width?: number }).width;
        const cap = width === undefined ? CAP_HALF_WIDTH : Math.max(1, Math.min(CAP_HALF_WIDTH, width / 2 - 1));
        ctx.beginPath();
        traceWhisker(ctx, point.x, top, bottom, cap);
        ctx.stroke();
      });
    }
    ctx.restore();
  };
  return when === 'before' ? { id: 'errorBarsBefore', beforeDatasetsDraw: (chart) => draw(chart) } : { id: 'errorBarsAfter', afterDatasetsDraw: (chart) => draw(chart) };
}
