import type { ModelSpec } from '../nn/spec.js';
import { InputError } from '../util/errors.js';

/** A state dict's tensor shapes by key. */
export type TorchShapes = Readonly<Record<string, readonly number[]>>;

/** What a state dict shows of its model: the family's configuration, the classes and the input's width. */
export interface InferredTorchModel {
  family: string;
  config: Record<string, unknown>;
  numClasses: number;
  /** An MLP's first layer's inputs (an example's values), or the first convolution's input channels. */
  inputs: { features: number } | { channels: number };
}

/**
 * The PyTorch definition (an nn.Module) that matches one merge-train family, parameter for
 * parameter: its state-dict keys, and the configuration its weights show.
 */
export interface TorchDefinition {
  /** The merge-train family it matches. */
  family: string;
  /** Its keys in brief, for messages ("layers.<i>.weight"). */
  keys: string;
  /** Whether these state-dict keys are this definition's (its characteristic keys are there). */
  recognises(keys: readonly string[]): boolean;
  /**
   * The configuration the weights show. `config` (from the user) fills what the weights cannot show
   * and overrides what they can; the spec built from the result is then checked tensor by tensor.
   * Refuses, naming `source`, weights this definition cannot have and what the user must give.
   */
  infer(shapes: TorchShapes, config: Record<string, unknown> | undefined, source: string): InferredTorchModel;
  /**
   * The state-dict key of each of `spec`'s parameters. `keys` (a file's, when reading) picks among
   * the definition's variants where it has more than one naming.
   */
  keyOf(spec: ModelSpec, keys?: readonly string[]): (param: string) => string;
  /** What loading `spec`'s weights into this definition needs beyond its defaults, if anything. */
  exportNote?(spec: ModelSpec): string | undefined;
}

/** Keys matching `pattern`, with the pattern's numeric groups, ordered by them. */
export function numberedKeys(keys: readonly string[], pattern: RegExp): { key: string; numbers: number[] }[] {
  return keys
    .flatMap((key) => {
      const match = pattern.exec(key);
      return match ? [{ key, numbers: match.slice(1).map(Number) }] : [];
    })
    .sort((a, b) => {
      for (let i = 0; i < a.numbers.length; i++) if (a.numbers[i] !== b.numbers[i]) return a.numbers[i]! - b.numbers[i]!;
      return 0;
    });
}

/** The shape of `key`, refused naming `source` unless it has `rank` axes. */
export function shapeOf(shapes: TorchShapes, key: string, rank: number, what: string, source: string): readonly number[] {
  const shape = Object.hasOwn(shapes, key) ? shapes[key] : undefined;
  if (!shape) throw new InputError(`${source}: tensor ${key} is missing; expected ${what}`);
  if (shape.length !== rank) throw new InputError(`${source}: tensor ${key} has shape [${shape.join(',')}]; expected ${what} (${rank} axes)`);
  return shape;
}
