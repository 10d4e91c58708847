import { mergers } from '../merge/mergers.js';

/** One variant of a method: its name, its settings, and (alignments) its BatchNorm mode. */
export interface Variant {
  method: string;
  options: Record<string, unknown>;
  batchNorm?: string;
}

/** A setting as a label shows it. */
function shown(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
}

/** What every label of a merger states: the alpha init of one that starts from an init ("uniform init"). */
function alwaysShown(variant: Variant): string[] {
  const merger = mergers.has(variant.method) ? mergers.get(variant.method) : undefined;
  return merger?.usesInit && variant.options.init !== undefined ? [`${shown(variant.options.init)} init`] : [];
}

/**
 * Names for variants of methods, as reports show them: the method's name, then in brackets what
 * tells it apart from the other variants of the same method (the settings whose values differ among
 * them, and the BatchNorm mode if that differs), e.g. "cca", "cca (gamma 0.1)", "learned (fisher init)".
 */
export function variantLabels(variants: readonly Variant[]): string[] {
  return variants.map((variant) => {
    const siblings = variants.filter((other) => other.method === variant.method);
    // Compared among the siblings that have the setting at all (an init's settings come with that init).
    const differs = (value: (v: Variant) => unknown) => new Set(siblings.filter((v) => value(v) !== undefined).map((v) => shown(value(v)))).size > 1;
    const always = alwaysShown(variant);
    const details = [...always];
    if (variant.batchNorm !== undefined && differs((v) => v.batchNorm)) details.push(variant.batchNorm);
    for (const key of Object.keys(variant.options)) {
      if (key === 'init' && always.length > 0) continue;
      if (variant.options[key] !== undefined && differs((v) => v.options[key])) details.push(`${key} ${shown(variant.options[key])}`);
    }
    return details.length ? `${variant.method} (${details.join(', ')})` : variant.method;
  });
}
