import type { ModelSpec, ParamMap } from '../nn/spec.js';
import type { RegistryEntry } from '../util/registry.js';

/**
 * What a model file may not say about the model, given by the user (command-line flags) or by the
 * dataset the model is for. A format reads what the file says and takes the rest from here; where
 * both speak, the hint wins and the file must agree with it.
 */
export interface FormatHints {
  /** A registered family name. */
  family?: string;
  /** The family's configuration (or part of it: the rest is read from the file). */
  config?: Record<string, unknown>;
  /** One example's shape, [height, width, channels] or [features], as merge-train feeds it. */
  inputShape?: number[];
  numClasses?: number;
}

/** A model read from a file of another format: a spec of a registered family and its parameters. */
export interface ImportedModel {
  spec: ModelSpec;
  /** Parameters in merge-train's names and layouts (dense weights [in, out], kernels [kh, kw, in, out]); the caller owns them. */
  params: ParamMap;
}

/** A model file format merge-train reads and writes (`merge-train import` / `export --format <name>`). */
export interface ModelFormatEntry extends RegistryEntry {
  /**
   * The model in `path`, refused with an InputError naming the file and what is wrong or missing
   * (and the flag that gives what the file cannot say).
   */
  read(path: string, hints: FormatHints): Promise<ImportedModel>;
  /** Writes the model to `path` in this format; returns the files written. */
  write(spec: ModelSpec, params: ParamMap, path: string): Promise<string[]>;
  /** What a user of a file written for `spec` must know to get the same function out of it, if anything. */
  notes?(spec: ModelSpec): string[];
}
