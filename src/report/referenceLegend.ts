import { Chart, type LegendItem } from 'chart.js';

/**
 * A line chart's legend above the plot (so that it never covers data) with markers for variants and,
 * for the reference lines (by dataset index), their dash pattern: a point style's legend item has no
 * dash of its own. Markers a little larger than in the plot; a reference's line as long as its box.
 */
export function referenceLegend(referenceDashes: ReadonlyMap<number, readonly number[]>) {
  return {
    position: 'top' as const,
    labels: {
      usePointStyle: true,
      boxWidth: 16,
      boxHeight: 10,
      generateLabels: (chart: Chart) =>
        Chart.defaults.plugins.legend.labels.generateLabels(chart).map((item: LegendItem) => {
          const dash = item.datasetIndex === undefined ? undefined : referenceDashes.get(item.datasetIndex);
          return dash ? { ...item, pointStyle: 'line' as const, lineDash: [...dash], lineWidth: 2 } : item;
        }),
    },
  };
}
