/**
 * merge-train as a library: align and merge independently trained networks, stage by stage or as a
 * whole run. The exports follow the stages: data, models (specs and their families), training,
 * statistics and alignment, merging, evaluation, checkpoints, settings from a recipe, the stages on
 * files, whole runs, and the report's figures (the `report` namespace). Methods live in registries
 * (`families`, `aligners`, `mergers`, ...), whose `register` adds your own. See README.md ("As a
 * library") for an example, and examples/twoBranch.ts for a model family written by hand.
 */

// Backend.
export { selectBackend, backendNames, wasmThreadCount, type BackendName, type BackendOptions } from './backend/selectBackend.js';

// Data: registered datasets, seeded disjoint splits, batches on the backend.
export type { LabelledSet, DatasetSplits, SplitSizes } from './data/dataset.js';
export { datasets, type DatasetEntry } from './data/registry.js';
export { loadSplits, splitOff, type LoadSplitsOptions } from './data/split.js';
export { TensorSet, type Batch } from './data/batches.js';

// Models: a spec (parameters, per-axis feature spaces, layers, forward pass) from a registered family.
export * from './nn/spec.js';
export { SpecLayers } from './nn/builders.js';
export { dense, conv2d, batchNorm, batchNormNames, globalAveragePool, channelsAsSamples } from './nn/layers.js';
export { defineFamily, type FamilyDefinition } from './nn/family.js';
export { families, architectureRecord, type FamilyEntry, type ArchitectureRecord } from './nn/families.js';
export { mlpSpec, mlpFamily, type MlpConfig } from './nn/mlp.js';
export { vggSpec, vggFamily, type VggConfig } from './nn/vgg.js';
export { resnetSpec, resnetFamily, type ResNetConfig } from './nn/resnet.js';
export { initParams, disposeParams, cloneParams } from './nn/init.js';
export { resetBatchNormStats, hasBatchNorm } from './nn/resetBatchNorm.js';
export { crossEntropy, countCorrect } from './nn/loss.js';

// Training.
export { trainModel, type TrainOptions, type EpochRecord, type TrainProgress } from './train/trainModel.js';
export { Adam } from './train/adam.js';

// Statistics and alignment: activation moments per feature space, then any registered aligner.
export { collectSpaceMoments, type SpaceMoments } from './align/moments.js';
export { aligners, defineAligner, type AlignerEntry, type AlignInput, type AlignResult } from './align/aligners.js';
export { applyTransforms, permutationTransform, type SpaceTransform, type Transforms } from './align/transform.js';
export { batchNormModes, foldBatchNorm, foldBatchNormScale, transformScaleFolded, type BatchNormModeEntry } from './align/batchNormModes.js';
export { ccaTransform, SingularCovarianceError, type CcaOptions, type CcaResult } from './align/cca.js';
export { activationMatching } from './align/permutation.js';
export { weightMatching, weightMatchingMany, type WeightMatchingOptions } from './align/weightMatching.js';
export { correlationAnalysis, type SpaceCorrelationAnalysis } from './align/correlationAnalysis.js';
export { meanCanonicalCorrelation } from './align/similarity.js';

// Merging: any registered merger's weights, then W = sum_k w_k W_k.
export { mergers, fixedMerger, type MergerEntry, type MergeInput, type MergeOutcome } from './merge/mergers.js';
export { alphaInits, type AlphaInitEntry, type AlphaInitContext } from './merge/alphaInits.js';
export { mergeModels, mergeParams, constantMasks, meanAlpha, type AlphaMasks } from './merge/mergeParams.js';
export { diagonalFisher, fisherCache, fisherWeights, type FisherCache, type FisherMode, type FisherOptions } from './merge/fisher.js';
export { learnAlphaMasks, type LearnAlphaOptions, type LearnAlphaHooks, type LearnedAlpha, type AlphaTrainState } from './merge/learnAlpha.js';
export { strategies, defineStrategy, type StrategyEntry, type StrategyServices, type StrategyResult, type ModelNode, type MergeStep } from './merge/strategies.js';
export { granularities, weightGroups, coarsen, type Granularity, type WeightGroups } from './merge/granularity.js';
export { interpolateModels, lossBarrier, accuracyBarrier, type InterpolationPoint } from './merge/interpolation.js';

// Evaluation.
export {
  evaluateModel,
  evaluateModels,
  evaluateEnsemble,
  evaluateLogits,
  type Evaluation,
  type ModelsEvaluation,
  type ModelsEvaluationOptions,
  type CurvePoint,
} from './eval/evaluate.js';

// Checkpoints and run files.
export { saveCheckpoint, loadCheckpoint, readCheckpointInfo, type CheckpointInfo, type LoadedCheckpoint } from './artifacts/checkpoint.js';
export { readRunMetrics, type RunMetrics, type MergeMetrics, type ModelMetrics, type AlphaCurve, type ManyMergeMetrics, type ManyReference, type TreeNode, type InterpolationMetrics, type AcrossRepeats } from './artifacts/metrics.js';
export { readSafetensors, writeSafetensors, encodeSafetensors, decodeSafetensors, type NamedArrays } from './io/safetensors.js';

// Models from and to other frameworks: registered model file formats (a PyTorch state dict, ...).
export { modelFormats, type ModelFormatEntry, type FormatHints, type ImportedModel } from './interop/formats.js';
export { torchFormat } from './interop/torchFormat.js';
export { inferTorchModel, torchDefinitions } from './interop/torchInfer.js';
export type { TorchDefinition } from './interop/torchDefinition.js';

// Settings: a recipe, and each stage's settings from it (a method's options with their defaults).
export { recipeSchema, type Recipe, type RecipeInput } from './recipe/schema.js';
export { loadRecipe, parseRecipe } from './recipe/loadRecipe.js';
export { dataOf, trainSettings, alignSettings, mergeSettings, type TrainSettings, type AlignSettings, type MergeSettings } from './recipe/methodSettings.js';

// The stages on files, as the command line runs them.
export { StageContext, type StageOutcome } from './stages/context.js';
export { trainStage } from './stages/trainStage.js';
export { statisticsStage, type ModelPair } from './stages/statisticsStage.js';
export { alignStage, type AlignOutputs } from './stages/alignStage.js';
export { jointAlignStage } from './stages/jointAlignStage.js';
export { mergeStage, type MergeOutputs } from './stages/mergeStage.js';
export { groupMergeStage, type GroupFolders } from './stages/groupMergeStage.js';
export { evaluateStage, type EvaluationRecord } from './stages/evaluateStage.js';
export { interpolateStage } from './stages/interpolateStage.js';
export { importStage, type ImportSettings } from './stages/importStage.js';

// Whole runs.
export { runRecipe, type RunOptions, type RunResult } from './run/runRecipe.js';
export { silentObserver, type RunObserver } from './util/observer.js';
export { InputError } from './util/errors.js';

// Figures and tables: every renderer, `report.writeReport` for a whole run directory.
export * as report from './report/index.js';
