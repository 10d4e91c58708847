import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { InputError } from '../util/errors.js';

/** Where a value failed its schema first: the field as `.a[0].b` ('' for the value itself), and why. */
export function firstIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0]!;
  return {
    field: issue.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join(''),
    message: issue.message.replace(/^Invalid input: /, ''),
  };
}

/**
 * The JSON file at `path` as a value of `schema`. A missing file is an InputError saying `missing`;
 * bad JSON, or a value of another shape, one naming the file and the first wrong field, then
 * `expected` (what the file should be).
 */
export async function readValidatedJson<S extends z.ZodType>(path: string, schema: S, messages: { missing: string; expected: string }): Promise<z.infer<S>> {
  if (!existsSync(path)) throw new InputError(messages.missing);
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new InputError(`${path} is not valid JSON: ${(error as Error).message.split('\n')[0]}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const { field, message } = firstIssue(parsed.error);
    throw new InputError(`${path}: ${field || '(top level)'}: ${message}; ${messages.expected}`);
  }
  return parsed.data;
}
