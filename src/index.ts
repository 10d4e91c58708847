/**
 * merge-train as a library: align and merge independently trained networks.
 * See README.md for the method and an example.
 */
export { selectBackend, backendNames, wasmThreadCount, type BackendName, type BackendOptions } from './backend/selectBackend.js';
export type { LabelledSet, DatasetSplits, SplitSizes } from './data/dataset.js';
export { datasets, type DatasetEntry } from './data/registry.js';
export { loadSplits, splitOff } from './data/split.js';
export { TensorSet, type Batch } from './data/batches.js';
export * from './nn/spec.js';
export { families, specFromRecord, architectureRecord, type FamilyEntry, type ArchitectureRecord } from './nn/families.js';
export { mlpSpec, type MlpConfig } from './nn/mlp.js';
export { initParams, disposeParams } from './nn/init.js';
export { crossEntropy, countCorrect } from './nn/loss.js';
export { trainModel, type TrainOptions, type EpochRecord, type TrainProgress } from './train/trainModel.js';
export { Adam } from './train/adam.js';
export { collectSpaceMoments, type SpaceMoments } from './align/moments.js';
export { ccaTransform, SingularCovarianceError, type CcaOptions, type CcaResult } from './align/cca.js';
export { activationMatching } from './align/permutation.js';
export { applyTransforms, permutationTransform, type SpaceTransform, type Transforms } from './align/transform.js';
export { aligners, type AlignerEntry, type AlignOptions, type AlignResult } from './align/aligners.js';
export { mergeParams, constantMasks, meanAlpha, type AlphaMasks } from './merge/mergeParams.js';
export { diagonalFisher, fisherAlpha, type FisherMode } from './merge/fisher.js';
export { learnAlphaMasks, type LearnAlphaOptions, type LearnAlphaHooks, type LearnedAlpha, type AlphaTrainState } from './merge/learnAlpha.js';
export { alphaInits, type AlphaInitEntry } from './merge/alphaInits.js';
export { alphaMasksFor } from './merge/alphaMasks.js';
export { evaluateModel, evaluateEnsemble, evaluateLogits, type Evaluation } from './eval/evaluate.js';
export type * from './eval/metrics.js';
export { saveCheckpoint, loadCheckpoint, type CheckpointInfo, type LoadedCheckpoint } from './io/checkpoint.js';
export { readSafetensors, writeSafetensors, encodeSafetensors, decodeSafetensors, type NamedArrays } from './io/safetensors.js';
export { recipeSchema, type Recipe, type RecipeInput } from './recipe/schema.js';
export { loadRecipe, parseRecipe } from './recipe/loadRecipe.js';
export { runRecipe, type RunOptions, type RunResult } from './recipe/runRecipe.js';
export { silentObserver, type RunObserver } from './recipe/observer.js';
export { writeReport } from './report/writeReport.js';
export { InputError } from './util/errors.js';
