import { mergers } from '../merge/mergers.js';

/**
 * One variant of a method: its name, its settings, and anything else that tells it apart (an
 * alignment's BatchNorm mode and statistics batch size, a merge's statistics reset).
 */
export interface Variant {
  method: string;
  options: Record<string, unknown>;
  [setting: string]: unknown;
}

/** A setting as a label shows it: the BatchNorm mode by its name alone, the others as `name value`. */
function shown(key: string, value: unknown): string {
  const text = typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : JSON.stringify(value);
  return key === 'batchNorm' ? text : `${key} ${text}`;
}

/** Every setting of a variant, its own and its method's, by name. */
function settingsOf({ method: _method, options, ...rest }: Variant): Record<string, unknown> {
  return { ...rest, ...options };
}

/** What every label of a merger states: the alpha init of one that starts from an init ("uniform init"). */
function alwaysShown(variant: Variant): string[] {
  const merger = mergers.has(variant.method) ? mergers.get(variant.method) : undefined;
  return merger?.usesInit && variant.options.init !== undefined ? [`${String(variant.options.init)} init`] : [];
}

/**
 * Names for variants of methods, as reports show them: the method's name, then in brackets what
 * tells it apart from the other variants of the same method (the settings whose values differ among
 * them), e.g. cca, cca (gamma 0.1), cca (transform), learned (fisher init).
 */
export function variantLabels(variants: readonly Variant[]): string[] {
  return variants.map((variant) => {
    const siblings = variants.filter((other) => other.method === variant.method).map(settingsOf);
    const own = settingsOf(variant);
    const always = alwaysShown(variant);
    const details = [...always];
    for (const [key, value] of Object.entries(own)) {
      if (value === undefined || (key === 'init' && always.length > 0)) continue;
      // Compared among the siblings that could have the setting: those with the same init, where unset is
      // a value of its own (an optional setting), and those that have it (an init's settings come with that init).
      const values = new Set(siblings.filter((s) => s[key] !== undefined || s.init === own.init).map((s) => JSON.stringify(s[key] ?? null)));
      if (values.size > 1) details.push(shown(key, value));
    }
    return details.length ? `${variant.method} (${details.join(', ')})` : variant.method;
  });
}
