/**
 * Error bars for Chart.js charts, which have none of their own: a vertical stroke from value - error to
 * value + error with a cap at each end.
 */

import type { Chart, ChartType, Plugin } from 'chart.js';

/** Half the width in px of an error bar's caps. */
const CAP_HALF_WIDTH = 6;

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
        ctx.beginPath();
        ctx.moveTo(point.x, top);
        ctx.lineTo(point.x, bottom);
        ctx.moveTo(point.x - CAP_HALF_WIDTH, top);
        ctx.lineTo(point.x + CAP_HALF_WIDTH, top);
        ctx.moveTo(point.x - CAP_HALF_WIDTH, bottom);
        ctx.lineTo(point.x + CAP_HALF_WIDTH, bottom);
        ctx.stroke();
      });
    }
    ctx.restore();
  };
  return when === 'before' ? { id: 'errorBarsBefore', beforeDatasetsDraw: (chart) => draw(chart) } : { id: 'errorBarsAfter', afterDatasetsDraw: (chart) => draw(chart) };
}
