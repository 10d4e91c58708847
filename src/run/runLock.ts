import { readFileSync, unlinkSync } from 'node:fs';
import { open, readFile, unlink } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { InputError } from '../util/errors.js';
import { atExit, isProcessAlive } from '../util/processCleanup.js';

/** The lock file of a run folder. */
export const LOCK_FILE = '.merge-train.lock';

/** Who holds a run folder. */
interface LockHolder {
  pid: number;
  /** When the holding process started, as the system counts it (Linux), to tell a reused pid apart. */
  processStart?: string;
  host: string;
  since: string;
}

/** When process `pid` started (field 22 of /proc/<pid>/stat, Linux), or undefined where that cannot be read. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: fields after it follow its closing bracket.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether the process that wrote `holder` still runs (on another host, it is assumed to). */
function holderAlive(holder: LockHolder): boolean {
  if (holder.host !== os.hostname()) return true;
  if (!isProcessAlive(holder.pid)) return false;
  return holder.processStart === undefined || processStart(holder.pid) === holder.processStart;
}

/**
 * Locks run folder `dir` for this process: a second run on it is refused, naming the holder, while
 * this one lives. A lock whose holder is gone (killed) is taken over. Returns the release, which also
 * runs when the process ends.
 */
export async function lockRunFolder(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, processStart: processStart(process.pid), host: os.hostname(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(JSON.stringify(me));
      await handle.close();
      const cancel = atExit(() => {
        if (readFileSync(path, 'utf8') === JSON.stringify(me)) unlinkSync(path);
      });
      return async () => {
        cancel();
        if ((await readFile(path, 'utf8').catch(() => '')) === JSON.stringify(me)) await unlink(path).catch(() => undefined);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let holder: LockHolder | undefined;
    try {
      holder = JSON.parse(await readFile(path, 'utf8')) as LockHolder;
    } catch {
      holder = undefined; // torn or unreadable: no one can be holding it through that
    }
    if (holder && holderAlive(holder)) {
      throw new InputError(`${dir} is in use by another merge-train run (pid ${holder.pid} on ${holder.host}, since ${holder.since}); wait for it to end, or choose another --out`);
    }
    await unlink(path).catch(() => undefined);
  }
  throw new InputError(`${dir}: could not take its lock ${path}; another run keeps taking it`);
}
