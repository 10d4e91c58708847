import { recordedKey } from '../artifacts/checkpoint.js';
import type { RunObserver } from '../util/observer.js';
import { resumeFile } from './resumeFile.js';
import { setAside } from './setAside.js';

/**
 * Whether `path` holds the artifact of `key` already, so its stage can skip itself. An unreadable
 * file there is set aside; when the artifact is current, the training state a killed stage may have
 * left beside it goes (a finished artifact never keeps its training state).
 */
export async function holdsArtifact(path: string, key: string, observer: RunObserver): Promise<boolean> {
  const recorded = await recordedKey(path);
  if (recorded.unreadable !== undefined) await setAside(path, recorded.unreadable, observer);
  if (recorded.key !== key) return false;
  await resumeFile(path, key, '', observer).remove();
  return true;
}
