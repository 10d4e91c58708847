import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import type { RunObserver } from '../util/observer.js';

/**
 * Moves a file that cannot be read (truncated by a crash, damaged) out of the way, to `<file>.corrupt`,
 * saying so, so that its stage makes it again and nothing of it is lost to the user.
 */
export async function setAside(path: string, why: string, observer: RunObserver): Promise<void> {
  if (!existsSync(path)) return;
  await rename(path, `${path}.corrupt`);
  observer.warn(`${path} cannot be read (${why.split('\n')[0]}); set aside as ${path}.corrupt and made again`);
}
