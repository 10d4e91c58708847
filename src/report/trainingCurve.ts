/**
 * Figure: how learned-alpha optimisation progressed, loss and merge-split accuracy per step for each (align, init).
 */

import type { ChartConfiguration, ChartDataset } from 'chart.js';

import type { AlphaCurve } from '../artifacts/metrics.js';
import { renderChart, type Figure, type FigureSize } from './render.js';
import { toPercent } from './rows.js';
import { axisTitle, categoricalColour, GRID_COLOUR, withOpacity } from './theme.js';

/** Options of {@link renderAlphaTrainingCurves}. */
export interface TrainingCurveOptions extends FigureSize {
  /** Chart title (default "Learned alpha: optimisation on the merge split"). */
  title?: string;
}

type Point = { x: number; y: number };

/** Name of a curve in the legend: its merge's label, or for older files "cca · fisher init". */
export function curveLabel(curve: Pick<AlphaCurve, 'align' | 'init' | 'label'>): string {
  return curve.label ?? `${curve.align} · ${curve.init} init`;
}

/** Dash pattern of the accuracy lines; loss lines are solid. */
const ACCURACY_DASH = [7, 4];

/** The Chart.js configuration behind {@link renderAlphaTrainingCurves}; exposed for tests and custom rendering. */
export function trainingCurveConfig(curves: AlphaCurve[], options: TrainingCurveOptions = {}): ChartConfiguration<'line', Point[]> {
  const datasets: ChartDataset<'line', Point[]>[] = curves.flatMap((curve, i) => {
    const colour = categoricalColour(i);
    const common = { borderColor: colour, backgroundColor: colour, borderWidth: 2, pointRadius: 0, fill: false };
    // Held-out points are the curve to read; without them, the per-batch points stand in.
    const held = curve.validation?.length ? curve.validation : curve.points;
    // A marker on every held-out point, a bigger one on the step whose masks were kept.
    const pointRadius = held.map((p) => (p.step === curve.bestStep ? 5 : held.length > 60 ? 0 : 2));
    return [
      {
        ...common,
        pointRadius,
        label: curveLabel(curve),
        data: held.map((p) => ({ x: p.step, y: p.loss })),
        yAxisID: 'loss',
      },
      {
        ...common,
        // Per-batch loss is noisy: drawn faint behind the held-out curve.
        borderColor: withOpacity(colour, 0.25),
        borderWidth: 1,
        label: `${curveLabel(curve)} (batch loss)`,
        data: curve.validation?.length ? curve.points.map((p) => ({ x: p.step, y: p.loss })) : [],
        yAxisID: 'loss',
      },
      {
        ...common,
        pointRadius,
        label: `${curveLabel(curve)} (accuracy)`,
        data: held.map((p) => ({ x: p.step, y: toPercent(p.accuracy) })),
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
          title: axisTitle('cross-entropy (solid; faint: training batches)'),
          grid: { color: GRID_COLOUR },
        },
        accuracy: {
          type: 'linear',
          position: 'right',
          title: axisTitle('held-out accuracy (%, dashed)'),
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
            filter: (item) => item.datasetIndex !== undefined && item.datasetIndex % 3 === 0,
          },
        },
      },
    },
  };
}

/**
 * Loss (left axis, solid) and accuracy in % (right axis, dashed) on the held-out part of the merge
 * split per optimisation step, with the per-batch training loss faint behind, one colour per
 * learned-alpha curve (align · init); the big marker is the step whose masks were kept.
 */
export function renderAlphaTrainingCurves(curves: AlphaCurve[], options: TrainingCurveOptions = {}): Figure {
  // The cast widens the chart type to what the renderer accepts; the line configuration is a valid member.
  return renderChart(trainingCurveConfig(curves, options) as unknown as ChartConfiguration, options);
}
