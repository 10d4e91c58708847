/**
 * Reads a masks file for the report, its tensors in model order. Safetensors stores tensors sorted by
 * name (conv1, fc, layer1.0.conv1, ...), which puts a ResNet's classifier among its first layers; the
 * architecture in the file's metadata gives the order in which the model uses its parameters.
 */

import { readSafetensors } from '../io/safetensors.js';
import { families, parseFamilyConfig } from '../nn/families.js';
import type { AlphaMaskSet } from './types.js';

/** Options of {@link readAlphaMasks}. */
export interface ReadAlphaMasksOptions {
  /**
   * Leave out the parameters the architecture marks as not trained (BatchNorm's running statistics):
   * they are recomputed after merging and alpha is never learned for them (default false).
   */
  trainableOnly?: boolean;
}

/** The parameter order, and what is trainable, of the model a masks file's metadata describes; undefined if it describes none. */
function architectureOrder(metadata: Record<string, string>): { order: string[]; untrained: Set<string> } | undefined {
  try {
    const record = JSON.parse(metadata.architecture ?? '') as { family: string; config: unknown; inputShape: number[]; numClasses: number };
    const family = families.get(record.family);
    const spec = family.build(parseFamilyConfig(family, record.config, 'masks'), record.inputShape, record.numClasses);
    const order = Object.keys(spec.params);
    return { order, untrained: new Set(order.filter((name) => spec.params[name]!.trainable === false)) };
  } catch {
    // Not a merge-train file, or a family this build lacks: the masks are still worth drawing, in file order.
    return undefined;
  }
}

/**
 * The alpha masks of a masks file, keyed by parameter name in the order the model's architecture
 * (from the file's metadata) declares its parameters; tensors it does not name, or all of them when
 * the metadata describes no model, follow in file order. Values are float32.
 */
export async function readAlphaMasks(path: string, options: ReadAlphaMasksOptions = {}): Promise<AlphaMaskSet> {
  const { tensors, metadata } = await readSafetensors(path);
  const architecture = architectureOrder(metadata);
  const names = Object.keys(tensors);
  const known = new Set(names);
  const declared = new Set(architecture?.order);
  const ordered = [...(architecture?.order.filter((name) => known.has(name)) ?? []), ...names.filter((name) => !declared.has(name))];
  const masks: AlphaMaskSet = {};
  for (const name of ordered) {
    if (options.trainableOnly && architecture?.untrained.has(name)) continue;
    const { shape, data } = tensors[name]!;
    masks[name] = { shape, values: Float32Array.from(data) };
  }
  return masks;
}
