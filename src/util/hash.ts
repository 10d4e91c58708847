import { createHash } from 'node:crypto';

/**
 * A short, stable hash of a JSON value: the key of an artifact made from these settings. Object keys
 * are sorted first, so the order fields are written in (a recipe's YAML) does not count.
 */
export function settingsKey(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(canonical(value))).digest('hex').slice(0, 16);
}

/** `value` with every object's keys in sorted order (undefined fields dropped, as JSON does). */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
  );
}
