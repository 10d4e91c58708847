/**
 * The values of a sweep axis as reports show them (`0.1`, `[16, 16]`, `fold-scale`) and, where they
 * can be ordered, in order: numbers by value, lists of numbers (layer widths) element by element.
 */

/** What a cell shows for an axis its point does not set (an explicit point's): the base recipe's value applies. */
export const UNSET_TEXT = '(base recipe)';

/** A value as a table cell or tick shows it: lists in brackets, text as written. */
export function valueText(value: unknown): string {
  if (value === undefined) return UNSET_TEXT;
  if (Array.isArray(value)) return `[${value.map(valueText).join(', ')}]`;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return JSON.stringify(value);
}

/** Whether every value is a finite number, or every one a non-empty list of finite numbers. */
function orderable(values: readonly unknown[]): boolean {
  const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  return values.every(isNumber) || values.every((v) => Array.isArray(v) && v.length > 0 && v.every(isNumber));
}

/** Orders numbers by value and lists of numbers element by element, a shorter list before its extensions. */
function compareOrderable(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const [x, y] = [a as number[], b as number[]];
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/**
 * The distinct values of an axis in order, or undefined where they cannot be ordered (text, mappings,
 * a mix): such an axis is a table column but never a figure's x axis. Distinct by their JSON.
 */
export function orderedValues(values: readonly unknown[]): unknown[] | undefined {
  const distinct = [...new Map(values.map((v) => [JSON.stringify(v), v])).values()];
  return orderable(distinct) ? distinct.sort(compareOrderable) : undefined;
}
