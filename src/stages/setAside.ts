import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import type { RunObserver } from '../util/observer.js';

/** `<file>.corrupt`, or `<file>.corrupt.<n>` when an earlier one is there: no set-aside file is lost. */
function freeName(path: string): string {
  let candidate = `${path}.corrupt`;
  for (let n = 1; existsSync(candidate); n++) candidate = `${path}.corrupt.${n}`;
  return candidate;
}

/**
 * Moves a file that cannot be read (truncated by a crash, damaged) out of the way, to `<file>.corrupt`,
 * saying so, so that its stage makes it again and nothing of it is lost to the user.
 */
export async function setAside(path: string, why: string, observer: RunObserver): Promise<void> {
  if (!existsSync(path)) return;
  const aside = freeName(path);
  await rename(path, aside);
  observer.warn(`${path} cannot be read (${why.split('\n')[0]}); set aside as ${aside} and made again`);
}
