/**
 * Figure: how learned-alpha optimisation progressed, loss and merge-split accuracy per step for each (align, init).
 */

import type { ChartConfiguration, ChartDataset } from 'chart.js';

import type { AlphaCurve } from '../eval/metrics.js';
import { renderChart, type Figure, type FigureSize } from './render.js';
import { toPercent } from './rows.js';
import { axisTitle, categoricalColour, GRID_COLOUR } from './theme.js';

/** Options of {@link renderAlphaTrainingCurves}. */
export interface TrainingCurveOptions extends FigureSize {
  /** Chart title (default "Learned alpha: optimisation on the merge split"). */
  title?: string;
}

type Point = { x: number; y: number };

/** Name of a curve in the legend, e.g. "cca · fisher init". */
export function curveLabel(curve: Pick<AlphaCurve, 'align' | 'init'>): string {
  return `${curve.align} · ${curve.init} init`;
}

/** Dash pattern of the accuracy lines; loss lines are solid. */
const ACCURACY_DASH = [7, 4];

/** The Chart.js configuration behind {@link renderAlphaTrainingCurves}; exposed for tests and custom rendering. */
export function trainingCurveConfig(curves: AlphaCurve[], options: TrainingCurveOptions = {}): ChartConfiguration<'line', Point[]> {
  const datasets: ChartDataset<'line', Point[]>[] = curves.flatMap((curve, i) => {
    const colour = categoricalColour(i);
    const common = { borderColor: colour, backgroundColor: colour, borderWidth: 2, pointRadius: 0, fill: false };
    // Curves with a single point would be invisible without a marker.
    const pointRadius = curve.points.length === 1 ? 3 : 0;
    return [
      {
        ...common,
        pointRadius,
        label: curveLabel(curve),
        data: curve.points.map((p) => ({ x: p.step, y: p.loss })),
        yAxisID: 'loss',
      },
      {
        ...common,
        pointRadius,
        label: `${curveLabel(curve)} (accuracy)`,
        data: curve.points.map((p) => ({ x: p.step, y: toPercent(p.accuracy) })),
        yAxisID: 'accuracy',
        borderDash: ACCURACY_DASH,
      },
    ];
  });
  return {
    type: 'line',
    data: { datasets },
    options: {
      layout: { padding: { top: 4, right: 8, left: 4, bottom: 4 } },
      scales: {
        x: { type: 'linear', title: axisTitle('step'), grid: { color: GRID_COLOUR } },
        loss: {
          type: 'linear',
          position: 'left',
          title: axisTitle('loss (solid)'),
          grid: { color: GRID_COLOUR },
        },
        accuracy: {
          type: 'linear',
          position: 'right',
          title: axisTitle('merge-split accuracy (%, dashed)'),
          // Only the loss axis draws grid lines; two grids at unrelated heights would be confusing.
          grid: { drawOnChartArea: false },
        },
      },
      plugins: {
        title: {
          display: true,
          text: options.title ?? 'Learned alpha: optimisation on the merge split',
          padding: { top: 4, bottom: 8 },
        },
        legend: {
          position: 'top',
          // Colour identifies the curve; line style (explained on the axes) says loss or accuracy.
          labels: {
            usePointStyle: true,
            pointStyle: 'line',
            boxWidth: 30,
            filter: (item) => item.datasetIndex !== undefined && item.datasetIndex % 2 === 0,
          },
        },
      },
    },
  };
}

/**
 * Loss (left axis, solid) and merge-split accuracy in % (right axis, dashed) per optimisation step,
 * one colour per learned-alpha curve (align · init).
 */
export function renderAlphaTrainingCurves(curves: AlphaCurve[], options: TrainingCurveOptions = {}): Figure {
  // The cast widens the chart type to what the renderer accepts; the line configuration is a valid member.
  return renderChart(trainingCurveConfig(curves, options) as unknown as ChartConfiguration, options);
}
