/**
 * merge-train as a library: align and merge independently trained networks, stage by stage or as a
 * whole run. See README.md for the method and an example.
 */
export { selectBackend, backendNames, wasmThreadCount, type BackendName, type BackendOptions } from './backend/selectBackend.js';
export type { LabelledSet, DatasetSplits, SplitSizes } from './data/dataset.js';
export { datasets, type DatasetEntry } from './data/registry.js';
export { loadSplits, splitOff } from './data/split.js';
export { TensorSet, type Batch } from './data/batches.js';
export * from './nn/spec.js';
export { SpecLayers } from './nn/builders.js';
export { defineFamily, type FamilyDefinition } from './nn/family.js';
export { families, architectureRecord, type FamilyEntry, type ArchitectureRecord } from './nn/families.js';
export { mlpSpec, mlpFamily, type MlpConfig } from './nn/mlp.js';
export { vggSpec, vggFamily, type VggConfig } from './nn/vgg.js';
export { resnetSpec, resnetFamily, type ResNetConfig } from './nn/resnet.js';
export { initParams, disposeParams } from './nn/init.js';
export { resetBatchNormStats, hasBatchNorm } from './nn/resetBatchNorm.js';
export { crossEntropy, countCorrect } from './nn/loss.js';
export { trainModel, type TrainOptions, type EpochRecord, type TrainProgress } from './train/trainModel.js';
export { Adam } from './train/adam.js';
export { collectSpaceMoments, type SpaceMoments } from './align/moments.js';
export { ccaTransform, SingularCovarianceError, type CcaOptions, type CcaResult } from './align/cca.js';
export { activationMatching } from './align/permutation.js';
export { applyTransforms, permutationTransform, type SpaceTransform, type Transforms } from './align/transform.js';
export { aligners, defineAligner, type AlignerEntry, type AlignInput, type AlignResult } from './align/aligners.js';
export { batchNormModes, foldBatchNorm, foldBatchNormScale, transformScaleFolded, type BatchNormModeEntry } from './align/batchNormModes.js';
export { mergeParams, constantMasks, meanAlpha, type AlphaMasks } from './merge/mergeParams.js';
export { diagonalFisher, fisherAlpha, type FisherMode } from './merge/fisher.js';
export { learnAlphaMasks, type LearnAlphaOptions, type LearnAlphaHooks, type LearnedAlpha, type AlphaTrainState } from './merge/learnAlpha.js';
export { alphaInits, type AlphaInitEntry, type AlphaInitContext } from './merge/alphaInits.js';
export { mergers, fixedMerger, type MergerEntry, type MergeInput, type MergeOutcome } from './merge/mergers.js';
export { evaluateModel, evaluateEnsemble, evaluateLogits, type Evaluation, type CurvePoint } from './eval/evaluate.js';
export { saveCheckpoint, loadCheckpoint, type CheckpointInfo, type LoadedCheckpoint } from './artifacts/checkpoint.js';
export { readRunMetrics, type RunMetrics, type MergeMetrics, type ModelMetrics, type AlphaCurve } from './artifacts/metrics.js';
export { readSafetensors, writeSafetensors, encodeSafetensors, decodeSafetensors, type NamedArrays } from './io/safetensors.js';
export { recipeSchema, type Recipe, type RecipeInput } from './recipe/schema.js';
export { loadRecipe, parseRecipe } from './recipe/loadRecipe.js';
export { StageContext } from './stages/context.js';
export { trainStage } from './stages/trainStage.js';
export { alignStage } from './stages/alignStage.js';
export { mergeStage } from './stages/mergeStage.js';
export { evaluateStage } from './stages/evaluateStage.js';
export { runRecipe, type RunOptions, type RunResult } from './run/runRecipe.js';
export { silentObserver, type RunObserver } from './util/observer.js';
export { writeReport } from './report/writeReport.js';
export { InputError } from './util/errors.js';
