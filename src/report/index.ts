/**
 * Report figures and summaries of a merge run. Every builder takes data (metrics, masks, curves), not experiments.
 */

export { renderChart, renderDrawing, writeFigure, type Drawing, type DrawingSize, type Figure, type FigureSize } from './render.js';
export { renderAccuracyChart, accuracyChartConfig, type AccuracyChartOptions } from './accuracyChart.js';
export { renderAlphaHistograms, alphaHistogramConfig, histogram01, type AlphaHistogramOptions } from './alphaHistogram.js';
export {
  renderAlphaMap,
  alphaGrid,
  downsample,
  matrixShape,
  unitTicks,
  type AlphaGrid,
  type AlphaMapFigure,
  type AlphaMapOptions,
  type PlotArea,
} from './alphaMap.js';
export { renderAlphaTrainingCurves, trainingCurveConfig, curveLabel, type TrainingCurveOptions } from './trainingCurve.js';
export { renderAccuracyVsModels, accuracyVsModelsConfig, type AccuracyVsModelsOptions } from './accuracyVsModels.js';
export { renderMergeTree, mergeTreeLayout, type MergeTreeOptions, type MergeTreeLayout } from './mergeTree.js';
export { renderCorrelationHistograms, correlationLayout, type CorrelationHistogramOptions, type CorrelationLayout } from './correlationHistogram.js';
export { summaryMarkdown, summaryTable } from './summary.js';
export { resultRows, mergeLabel, compareMerges, ENSEMBLE_LABEL, type ResultRow } from './rows.js';
export { variantLabels, type Variant } from './variantLabels.js';
export { writeReport, fileSlug } from './writeReport.js';
export {
  paperTables,
  toLatex,
  toCsv,
  writeTables,
  writeTable,
  type PaperTable,
  type TableColumn,
  type TableRow,
  type TableCell,
  type TableValue,
} from './tables.js';
export { readComparedRuns, comparisonTable, writeComparison, defaultCompareOut, type ComparedRun } from './compareRuns.js';
export { renderCompareChart, compareChartConfig, type CompareChartOptions } from './compareChart.js';
export { renderAlphaLayers, alphaLayersConfig, alphaLayerStats, type AlphaLayerStats, type AlphaLayersMerge, type AlphaLayersOptions } from './alphaLayers.js';
export {
  renderFisherVsLearned,
  fisherLearnedCorrelation,
  fisherLearnedSummary,
  type FisherLearnedCorrelation,
  type FisherVsLearnedOptions,
} from './fisherVsLearned.js';
export { renderInterpolationCurves, interpolationCurvesConfig, type InterpolationCurve, type InterpolationMarker } from './interpolationCurve.js';
export { readAlphaMasks } from './readMasks.js';
export { divergingAlphaColour, ALPHA_SCALE_TITLE } from './alphaScale.js';
export type { AlphaMask, AlphaMaskSet } from './types.js';
export * as theme from './theme.js';
