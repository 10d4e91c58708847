import { loadResumeState, removeResumeState, saveResumeState } from '../io/resumeState.js';
import type { RunObserver } from '../util/observer.js';
import { InputError } from '../util/errors.js';
import type { ResumeStore } from '../util/resumable.js';
import { setAside } from './setAside.js';

/** Where the work on `output` keeps its progress: beside it, `<name>.training.safetensors`. */
export function resumePath(output: string): string {
  return output.replace(/(\.safetensors)?$/, '.training.safetensors');
}

/**
 * A store for the work that makes `output`, in the file beside it, valid only for the settings of
 * `key`; `label` names the work when it resumes.
 */
export function resumeFile(output: string, key: string, label: string, observer: RunObserver): ResumeStore & { remove(): Promise<void> } {
  const path = resumePath(output);
  return {
    load: async () => {
      let state;
      try {
        state = await loadResumeState(path, key);
      } catch (error) {
        // Damaged (a crash mid-write of an older version, a full disk): start over, keeping the file.
        const damaged = error instanceof InputError && (error.message.startsWith(`${path} is not a valid safetensors file`) || error.message.startsWith(`${path} is not a resumable state`));
        if (!damaged) throw error;
        await setAside(path, error.message, observer);
        return undefined;
      }
      if (state) observer.log(`${label}: resuming from ${path}`);
      return state;
    },
    save: (state) => saveResumeState(path, state, key),
    remove: () => removeResumeState(path),
  };
}
