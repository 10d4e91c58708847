import * as tf from '@tensorflow/tfjs-core';
import { families, parseFamilyConfig } from '../nn/families.js';
import { layersFamily } from '../nn/layersGraph.js';
import { declaredShapes } from '../nn/layersPlan.js';
import type { LayersTopology } from '../nn/layersTopology.js';
import { validateParams, type ModelSpec, type ParamMap } from '../nn/spec.js';
import { InputError } from '../util/errors.js';
import { kerasModelOf } from './kerasTopology.js';
import { readLayersModelFiles, writeLayersModelFiles, type NamedWeight } from './layersModelFiles.js';
import type { FormatHints, ModelFormatEntry } from './modelFormat.js';

/** Where a file merge-train wrote records the family and configuration it came from (userDefinedMetadata). */
const ARCHITECTURE_KEY = 'merge-train.architecture';

/** `error` with `path` in front, if it is an InputError that does not name it yet. */
function naming(path: string, error: unknown): unknown {
  return error instanceof InputError && !error.message.startsWith(path) ? new InputError(`${path}: ${error.message}`) : error;
}

/** The family and configuration a file written by merge-train records, if any. */
function recordedArchitecture(metadata: Record<string, unknown>, path: string): { family: string; config: Record<string, unknown> } | undefined {
  const record = metadata[ARCHITECTURE_KEY] as { family?: unknown; config?: unknown } | undefined;
  if (record === undefined) return undefined;
  if (typeof record?.family !== 'string' || typeof record.config !== 'object' || record.config === null || Array.isArray(record.config)) {
    throw new InputError(`${path}: userDefinedMetadata "${ARCHITECTURE_KEY}" is not the {family, config} merge-train writes; remove it to read the file as any LayersModel`);
  }
  return { family: record.family, config: record.config as Record<string, unknown> };
}

/** The spec the file (and the hints) describe; a hint wins where both speak, and the file's topology must then agree. */
function specOf(topology: unknown, metadata: Record<string, unknown>, hints: FormatHints, path: string): ModelSpec {
  const recorded = recordedArchitecture(metadata, path);
  const usable = recorded && (hints.family === undefined || hints.family === recorded.family) ? recorded : undefined;
  const family = families.get(hints.family ?? usable?.family ?? layersFamily.name);
  // The topology says what the data looks like, whatever family the weights are read as.
  const declared = declaredShapes(parseFamilyConfig(layersFamily, topology, `${path} modelTopology`) as LayersTopology);
  const inputShape = hints.inputShape ?? declared.inputShape;
  if (!inputShape) throw new InputError(`${path}: the model's input does not declare its shape (batch_input_shape); give the input shape`);
  const numClasses = hints.numClasses ?? declared.numClasses;
  const given = family === layersFamily ? (hints.config ?? topology) : (hints.config ?? usable?.config);
  if (given === undefined) {
    throw new InputError(`${path}: reading a LayersModel as ${family.name} needs its configuration, which only files merge-train writes record; give it, or read the file as ${layersFamily.name}`);
  }
  return family.build(parseFamilyConfig(family, given, path), inputShape, numClasses);
}

/** The spec's parameters from the file's weights, by their tfjs names; every weight must be one, of the right shape. */
function paramsOf(spec: ModelSpec, weights: NamedWeight[], weightName: (param: string) => string, path: string): ParamMap {
  const byName = new Map(weights.map((weight) => [weight.name, weight]));
  const arrays: Record<string, NamedWeight> = {};
  for (const param of Object.keys(spec.params)) {
    const name = weightName(param);
    const weight = byName.get(name);
    if (!weight) throw new InputError(`${path}: weight ${name} is missing (the ${spec.family} model's ${param}, shape [${spec.params[param]!.shape.join(', ')}])`);
    arrays[param] = weight;
    byName.delete(name);
  }
  const [extra] = byName.keys();
  if (extra !== undefined) throw new InputError(`${path}: weight ${extra} belongs to no layer of the ${spec.family} model`);
  validateParams(spec, arrays, path);
  return Object.fromEntries(Object.entries(arrays).map(([param, { shape, data }]) => [param, tf.tensor(data, shape, 'float32')]));
}

/**
 * TensorFlow.js LayersModels: model.json and its weight shards, as tf.LayersModel.save, the Keras
 * converter (tensorflowjs_converter --output_format tfjs_layers_model) and tf.loadLayersModel use them.
 * Reading derives the spec from the layer graph (the `layers` family; see layersGraph.ts), or, for a
 * file merge-train wrote from one of its own families, gives back that family's spec and parameters.
 * Writing gives one model.json and one `<name>.weights.bin`: a `layers` spec's own topology, or for
 * mlp, vgg and resnet an equivalent functional Keras model (kerasTopology.ts). Float32 weights only.
 */
export const layersModelFormat: ModelFormatEntry = {
  name: 'tfjs',
  description: 'TensorFlow.js LayersModel (model.json + weight shards; Keras models through tensorflowjs_converter), architecture derived from the layer graph',
  reference: 'https://www.tensorflow.org/js/guide/save_load',
  async read(path, hints) {
    const { topology, weights, metadata } = await readLayersModelFiles(path);
    try {
      const spec = specOf(topology, metadata, hints, path);
      return { spec, params: paramsOf(spec, weights, kerasModelOf(spec).weightName, path) };
    } catch (error) {
      throw naming(path, error);
    }
  },
  async write(spec, params, path) {
    validateParams(spec, params, 'the model to write');
    const { topology, weightName } = kerasModelOf(spec);
    const weights = Object.keys(spec.params).map((param) => ({ name: weightName(param), shape: [...params[param]!.shape], data: params[param]!.dataSync() as Float32Array }));
    const metadata = spec.family === layersFamily.name ? undefined : { [ARCHITECTURE_KEY]: { family: spec.family, config: spec.config } };
    return writeLayersModelFiles(path, topology, weights, metadata);
  },
};
