import type { ArchitectureRecord } from '../nn/families.js';
import { datasets } from '../data/registry.js';
import { families } from '../nn/families.js';
import { InputError } from '../util/errors.js';
import type { FormatHints } from './modelFormat.js';
import type { TorchDefinition, TorchShapes } from './torchDefinition.js';
import { torchMlp } from './torchMlp.js';
import { torchResnet } from './torchResnet.js';
import { torchVgg } from './torchVgg.js';

/** The PyTorch definitions of merge-train's families, one per family. */
export const torchDefinitions: readonly TorchDefinition[] = [torchMlp, torchVgg, torchResnet];

/** The PyTorch definition of `family`, refused naming the families that have one. */
export function torchDefinitionOf(family: string, source: string): TorchDefinition {
  const definition = torchDefinitions.find((d) => d.family === family);
  if (!definition) {
    throw new InputError(`${source}: merge-train has no PyTorch definition of the ${family} family; it has ${torchDefinitions.map((d) => d.family).join(', ')}`);
  }
  return definition;
}

/** The definition `hints` name, or the one whose keys the state dict has. */
function definitionFor(keys: readonly string[], hints: FormatHints, source: string): TorchDefinition {
  if (hints.family !== undefined) {
    try {
      families.get(hints.family); // an unknown name is refused with the valid ones
    } catch (error) {
      throw error instanceof InputError ? new InputError(`${source}: ${error.message}`) : error;
    }
    return torchDefinitionOf(hints.family, source);
  }
  const definition = torchDefinitions.find((d) => d.recognises(keys));
  if (definition) return definition;
  const known = torchDefinitions.map((d) => `${d.family}: ${d.keys}`).join('; ');
  throw new InputError(`${source}: its tensor names (${keys.slice(0, 3).join(', ')}${keys.length > 3 ? ', ...' : ''}) fit no PyTorch definition merge-train knows (${known}); name the family with --family`);
}

/**
 * The architecture of a PyTorch state dict, from its keys and shapes: the family (named by `hints`,
 * or recognised by its keys), the configuration its weights show (hints fill the rest) and the classes.
 * The input's shape is not in the weights (an MLP's first layer shows only its size, a convolution
 * only its channels): it comes from the hints (a dataset), which the weights must fit. Whatever the
 * weights do not determine and the hints do not give is refused naming the flag that gives it.
 */
export function inferTorchModel(shapes: TorchShapes, hints: FormatHints, source: string): ArchitectureRecord {
  const definition = definitionFor(Object.keys(shapes), hints, source);
  const inferred = definition.infer(shapes, hints.config, source);
  const datasetNames = datasets.names().join(', ');
  if (hints.numClasses !== undefined && hints.numClasses !== inferred.numClasses) {
    throw new InputError(`${source}: the classifier has ${inferred.numClasses} outputs but the dataset has ${hints.numClasses} classes; expected a model of the dataset given by --dataset`);
  }
  const inputShape = hints.inputShape;
  if (inputShape === undefined) {
    throw new InputError(`${source}: the weights do not say the shape of the model's input; give the dataset it was trained on with --dataset (${datasetNames})`);
  }
  const shown = inputShape.join('x');
  if ('features' in inferred.inputs && inferred.inputs.features !== inputShape.reduce((a, b) => a * b, 1)) {
    throw new InputError(`${source}: the first layer takes ${inferred.inputs.features} values but the dataset's inputs are ${shown}; expected a model of the dataset given by --dataset`);
  }
  if ('channels' in inferred.inputs && inferred.inputs.channels !== inputShape[inputShape.length - 1]) {
    throw new InputError(`${source}: the first convolution takes ${inferred.inputs.channels} channels but the dataset's inputs are ${shown}; expected a model of the dataset given by --dataset`);
  }
  return { family: inferred.family, config: inferred.config, inputShape: [...inputShape], numClasses: inferred.numClasses };
}
