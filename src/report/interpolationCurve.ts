/**
 * Figure: test loss and test accuracy along the straight line between model B' (B aligned to A) and
 * model A, W(t) = t W_A + (1 - t) W_B', one line per alignment, with the merges of each alignment
 * marked where they lie on that line (a uniform merge at t = 0.5, a learned one at its mean alpha).
 * A bump in the loss between the ends is the loss barrier; alignment exists to flatten it.
 */

import { Chart, type ChartConfiguration, type ChartDataset, type LegendItem, type PointStyle } from 'chart.js';

import type { InterpolationPoint } from '../merge/interpolation.js';
import { alignmentColours } from './alignmentColours.js';
import { percentRange } from './axisRange.js';
import { renderChart, type Figure, type FigureSize } from './render.js';
import { LABEL_SEPARATOR, toPercent } from './rows.js';
import { axisTitle, FIGURE, GRID_COLOUR, markerStyle, TEXT_COLOUR, unitAxis, variantColour } from './theme.js';

/** One alignment's curve: its points (t ascending or not) and barriers, as the interpolate stage writes them. */
export interface InterpolationCurve {
  /** The alignment's label, as merges carry it in metrics.json (`alignLabel`). */
  alignLabel: string;
  /**
   * The alignment method (none, permutation, cca, ...), when known: its first variant then takes the
   * method's colour, as in the accuracy chart, so a method looks the same in every figure of a report.
   */
  align?: string;
  points: readonly InterpolationPoint[];
  /** Loss barrier in nats, accuracy barrier as a fraction. */
  barrier: { loss: number; accuracy: number };
}

/** A merge drawn on the curves: where it lies on the line (its mean alpha) and what it scores. */
export interface InterpolationMarker {
  /** The merge's label ("cca · learned") or its merge part alone ("learned"); merges of one merge part share a marker shape. */
  label: string;
  /** The alignment whose curve the merge belongs to. */
  alignLabel: string;
  /** Its weight on model A: 0.5 for a uniform merge, the mean alpha of learned masks. */
  t: number;
  testAccuracy: number;
  testLoss: number;
}

/** Options of {@link renderInterpolationCurves}. */
export interface InterpolationCurveOptions extends FigureSize {
  /** Chart title (default "Linear interpolation between B′ and A"). */
  title?: string;
}

/** Default height: two panels need more than the theme's one-panel height. */
const DEFAULT_HEIGHT = 680;
/** Radius in px of the dots at each evaluated t, and of the merge markers drawn over them. */
const CURVE_POINT_RADIUS = 2.5;
const MARKER_RADIUS = 6;
/** Width in px of the curves; markers are outlined thinner, in the text colour, to stand out on them. */
const LINE_WIDTH = 2;
const MARKER_OUTLINE = 1.5;
/** The two panels' y scales, stacked: loss above, accuracy below, one x axis for both. */
const LOSS_AXIS = 'loss';
const ACCURACY_AXIS = 'accuracy';
const GAP_AXIS = 'gap';
/** Height of the band between the panels, relative to a panel's. */
const PANEL_GAP_WEIGHT = 0.12;

type Point = { x: number; y: number | null };
type Series = ChartDataset<'line', Point[]>;

/** A value Chart.js can draw, or a gap for one that is not finite (a model whose outputs are NaN). */
const drawable = (value: number): number | null => (Number.isFinite(value) ? value : null);

/** The merge part of a marker's label: its label without the alignment in front. */
function mergePart(marker: Pick<InterpolationMarker, 'label' | 'alignLabel'>): string {
  const prefix = `${marker.alignLabel}${LABEL_SEPARATOR}`;
  return marker.label.startsWith(prefix) ? marker.label.slice(prefix.length) : marker.label;
}

/** "0.123" for a barrier in nats, "1.2 pts" for one in accuracy; "n/a" where the curve holds NaN. */
function barrierText(barrier: InterpolationCurve['barrier']): string {
  const loss = Number.isFinite(barrier.loss) ? barrier.loss.toFixed(3) : 'n/a';
  const accuracy = Number.isFinite(barrier.accuracy) ? `${toPercent(barrier.accuracy).toFixed(1)} pts` : 'n/a';
  return `barrier: loss ${loss}, accuracy ${accuracy}`;
}

/**
 * The Chart.js configuration behind {@link renderInterpolationCurves}; exposed for tests and custom
 * rendering. Datasets: per curve its loss line then its accuracy line, then the merge markers on the
 * loss panel and on the accuracy panel (one dataset each, coloured and shaped point by point).
 */
export function interpolationCurvesConfig(
  curves: readonly InterpolationCurve[],
  markers: readonly InterpolationMarker[] = [],
  options: InterpolationCurveOptions = {},
): ChartConfiguration<'line', Point[]> {
  const colours = alignmentColours(curves);
  // A marker of an alignment without a curve still gets a colour of its own.
  for (const { alignLabel } of markers) if (!colours.has(alignLabel)) colours.set(alignLabel, variantColour(colours.size));
  const kinds = [...new Set(markers.map(mergePart))];
  const shapeOf = (marker: InterpolationMarker): PointStyle => markerStyle(kinds.indexOf(mergePart(marker)));

  const line = (curve: InterpolationCurve, axis: string, value: (p: InterpolationPoint) => number): Series => {
    const colour = colours.get(curve.alignLabel)!;
    return {
      label: `${curve.alignLabel} (${barrierText(curve.barrier)})`,
      data: [...curve.points].sort((p, q) => p.t - q.t).map((p) => ({ x: p.t, y: drawable(value(p)) })),
      yAxisID: axis,
      borderColor: colour,
      backgroundColor: colour,
      pointBackgroundColor: colour,
      pointBorderColor: colour,
      pointRadius: CURVE_POINT_RADIUS,
      // Dots filled only: a line stays the one stroke of its colour in a panel.
      pointBorderWidth: 0,
      pointStyle: 'circle',
      borderWidth: LINE_WIDTH,
      fill: false,
    };
  };
  const markerSeries = (axis: string, value: (m: InterpolationMarker) => number): Series => ({
    label: `merges (${axis})`,
    data: markers.map((m) => ({ x: m.t, y: drawable(value(m)) })),
    yAxisID: axis,
    showLine: false,
    pointStyle: markers.map(shapeOf),
    pointBackgroundColor: markers.map((m) => colours.get(m.alignLabel)!),
    pointBorderColor: TEXT_COLOUR,
    pointBorderWidth: MARKER_OUTLINE,
    pointRadius: MARKER_RADIUS,
    borderColor: TEXT_COLOUR,
    backgroundColor: TEXT_COLOUR,
    // Markers at t = 0 or 1, or at an axis end, are drawn whole.
    clip: MARKER_RADIUS + 2,
  });
  const lines = curves.flatMap((curve) => [line(curve, LOSS_AXIS, (p) => p.testLoss), line(curve, ACCURACY_AXIS, (p) => toPercent(p.testAccuracy))]);
  const datasets = [...lines, markerSeries(LOSS_AXIS, (m) => m.testLoss), markerSeries(ACCURACY_AXIS, (m) => toPercent(m.testAccuracy))];
  const percents = [...curves.flatMap((c) => c.points.map((p) => toPercent(p.testAccuracy))), ...markers.map((m) => toPercent(m.testAccuracy))];
  const accuracy = percentRange(percents, 6);

  /** One legend entry per alignment (its loss line's), then one per merge kind in its shape, hollow: the colour says the alignment. */
  const legendItems = (chart: Chart): LegendItem[] => {
    const byDataset = Chart.defaults.plugins.legend.labels.generateLabels(chart);
    const alignments = byDataset.filter((item) => item.datasetIndex !== undefined && item.datasetIndex < lines.length && item.datasetIndex % 2 === 0);
    const kindItems = kinds.map<LegendItem>((kind, k) => ({
      text: `${kind} merge`,
      pointStyle: markerStyle(k),
      fillStyle: FIGURE.background,
      strokeStyle: TEXT_COLOUR,
      lineWidth: MARKER_OUTLINE,
      fontColor: TEXT_COLOUR,
      hidden: false,
    }));
    return [...alignments.map((item) => ({ ...item, pointStyle: 'line' as const, lineWidth: LINE_WIDTH + 1 })), ...kindItems];
  };

  const yAxis = (title: string) => ({
    type: 'linear' as const,
    position: 'left' as const,
    stack: 'panels',
    stackWeight: 1,
    title: axisTitle(title),
    grid: { color: GRID_COLOUR },
    border: { color: TEXT_COLOUR },
    ticks: { color: TEXT_COLOUR },
  });
  return {
    type: 'line',
    data: { datasets },
    options: {
      layout: { padding: { top: 4, right: 20, left: 4, bottom: 4 } },
      scales: {
        x: {
          ...unitAxis('t (weight on model A)'),
          ticks: {
            color: TEXT_COLOUR,
            stepSize: 0.1,
            // The ends are the models themselves.
            callback: (value) => (value === 0 ? '0 (B′)' : value === 1 ? '1 (A)' : Number(value).toFixed(1)),
          },
        },
        // Stacked scales are laid out bottom first: accuracy below, loss above.
        [ACCURACY_AXIS]: { ...yAxis('test accuracy (%)'), min: accuracy.min, max: accuracy.max, ticks: { color: TEXT_COLOUR, stepSize: accuracy.step } },
        // An empty band between the panels, so that each reads as a plot of its own.
        [GAP_AXIS]: { type: 'linear', position: 'left', stack: 'panels', stackWeight: PANEL_GAP_WEIGHT, grid: { display: false }, ticks: { display: false }, border: { display: false } },
        [LOSS_AXIS]: { ...yAxis('test loss (nats)'), grace: '5%' },
      },
      plugins: {
        title: { display: true, text: options.title ?? 'Linear interpolation between B′ and A', padding: { top: 4, bottom: 8 } },
        // Above the plot, so that it never covers data.
        legend: { position: 'top', labels: { usePointStyle: true, boxWidth: 16, boxHeight: 10, generateLabels: legendItems } },
      },
    },
  };
}

/**
 * Two stacked panels against t in [0, 1] (t = 1 is model A, t = 0 is B'): test loss above, test
 * accuracy (%) below, one line per alignment (its barriers in the legend), and each merge as a
 * marker in its alignment's colour at its mean alpha, shaped by its merge kind.
 */
export function renderInterpolationCurves(
  curves: readonly InterpolationCurve[],
  markers: readonly InterpolationMarker[] = [],
  options: InterpolationCurveOptions = {},
): Figure {
  if (curves.length === 0 && markers.length === 0) throw new RangeError('no interpolation curves or merges to draw');
  // The cast widens the chart type to what the renderer accepts; the line configuration is a valid member.
  return renderChart(interpolationCurvesConfig(curves, markers, options) as unknown as ChartConfiguration, { height: DEFAULT_HEIGHT, ...options });
}
