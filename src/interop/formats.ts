import { Registry } from '../util/registry.js';
import type { ModelFormatEntry } from './modelFormat.js';
import { layersModelFormat } from './layersModelFormat.js';
import { torchFormat } from './torchFormat.js';

export type { FormatHints, ImportedModel, ModelFormatEntry } from './modelFormat.js';

/**
 * The model file formats `merge-train import` reads and `merge-train export` writes;
 * `modelFormats.register` adds one. (merge-train's own checkpoints are safetensors files every stage reads.)
 */
export const modelFormats = new Registry<ModelFormatEntry>('model format', [torchFormat, layersModelFormat]);

/** The format `merge-train import` reads when none is named: a TensorFlow.js model.json, else a PyTorch state dict. */
export function formatOf(path: string): string {
  return path.toLowerCase().endsWith('.json') ? layersModelFormat.name : torchFormat.name;
}
