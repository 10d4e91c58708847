import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { z } from 'zod';

/**
 * The JSON record at `path` when it is one of `schema` (and, given `key`, of that key); a missing,
 * unreadable or foreign file reads as none, so the stage that writes it makes it again and writes
 * over it.
 */
export async function readKeyedRecord<S extends z.ZodType<{ key: string }>>(path: string, schema: S, key?: string): Promise<z.infer<S> | undefined> {
  if (!existsSync(path)) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(await readFile(path, 'utf8')));
    return parsed.success && (key === undefined || parsed.data.key === key) ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
