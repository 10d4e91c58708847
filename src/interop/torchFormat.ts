import { writeSafetensors } from '../io/safetensors.js';
import { architectureRecord, families, parseFamilyConfig, type ArchitectureRecord } from '../nn/families.js';
import type { ModelSpec } from '../nn/spec.js';
import { InputError } from '../util/errors.js';
import type { FormatHints, ModelFormatEntry } from './modelFormat.js';
import { inferTorchModel, torchDefinitionOf, torchDefinitions } from './torchInfer.js';
import { stateDictLayout } from './torchLayout.js';
import { paramsFromStateDict, readTorchStateDict, stateDictFromParams, torchShapesOf } from './torchStateDict.js';

/** The metadata key where an exported file records its merge-train architecture, so it reads back as it was. */
const ARCHITECTURE_KEY = 'merge-train.architecture';

/** The family and configuration a file exported by merge-train records, if it records them. */
function recordedArchitecture(metadata: Record<string, string>, path: string): Pick<ArchitectureRecord, 'family' | 'config'> | undefined {
  const text = metadata[ARCHITECTURE_KEY];
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const record = value as Partial<ArchitectureRecord> | undefined;
  if (typeof record?.family !== 'string' || typeof record.config !== 'object' || record.config === null || Array.isArray(record.config)) {
    throw new InputError(`${path}: metadata "${ARCHITECTURE_KEY}" is not the {family, config} JSON merge-train writes; remove it to read the file as any PyTorch state dict`);
  }
  return { family: record.family, config: record.config };
}

/** The spec of `record`, refused naming `path` where the configuration is not valid or does not build. */
function specOf(record: ArchitectureRecord, path: string): ModelSpec {
  const family = families.get(record.family);
  const config = parseFamilyConfig(family, record.config, path);
  try {
    return family.build(config, record.inputShape, record.numClasses);
  } catch (error) {
    if (error instanceof InputError) throw new InputError(`${path}: ${error.message}`);
    throw error;
  }
}

/**
 * PyTorch state dicts saved as safetensors, of the PyTorch definitions of merge-train's families
 * (torchMlp.ts, torchVgg.ts, torchResnet.ts; axis layouts in torchLayout.ts). Reading infers the
 * family and configuration from the keys and shapes (see inferTorchModel); writing gives float32
 * tensors that `load_state_dict(strict=True)` takes, each BatchNorm's num_batches_tracked an int64 0.
 */
export const torchFormat: ModelFormatEntry = {
  name: 'torch',
  description: 'PyTorch state dict saved as safetensors (nn.Linear [out, in], nn.Conv2d [out, in, kh, kw]) of the PyTorch definitions of mlp, vgg and resnet',
  reference: 'https://pytorch.org/tutorials/beginner/saving_loading_models.html',
  async read(path: string, hints: FormatHints) {
    const { tensors, metadata } = await readTorchStateDict(path);
    if (metadata.format?.startsWith('merge-train/')) {
      throw new InputError(`${path} is a merge-train checkpoint already: align, merge and eval read it as it is`);
    }
    const recorded = recordedArchitecture(metadata, path);
    // What merge-train recorded stands in for the flags a plain PyTorch file needs, unless they name another family.
    const usable = recorded && (hints.family === undefined || hints.family === recorded.family) ? recorded : undefined;
    const withRecorded: FormatHints = usable ? { ...hints, family: usable.family, config: hints.config ?? usable.config } : hints;
    const record = inferTorchModel(torchShapesOf(tensors), withRecorded, path);
    // A recorded configuration is whole: the weights were checked against it, and nothing is filled in.
    if (usable && hints.config === undefined) record.config = usable.config;
    const spec = specOf(record, path);
    const layout = stateDictLayout(spec, torchDefinitionOf(spec.family, path).keyOf(spec, Object.keys(tensors)));
    return { spec, params: paramsFromStateDict(spec, layout, tensors, path) };
  },
  async write(spec, params, path) {
    const layout = stateDictLayout(spec, torchDefinitionOf(spec.family, path).keyOf(spec));
    const { family, config } = architectureRecord(spec);
    // `format: pt` is what safetensors.torch.save_file records.
    await writeSafetensors(path, stateDictFromParams(spec, layout, params), { format: 'pt', [ARCHITECTURE_KEY]: JSON.stringify({ family, config }) });
    return [path];
  },
  notes(spec) {
    const note = torchDefinitions.find((definition) => definition.family === spec.family)?.exportNote?.(spec);
    return note === undefined ? [] : [note];
  },
};
