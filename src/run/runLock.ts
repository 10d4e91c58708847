import { readFileSync, unlinkSync } from 'node:fs';
import { link, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { InputError } from '../util/errors.js';
import { atExit, isProcessAlive } from '../util/processCleanup.js';

/** The lock file of a run folder. */
export const LOCK_FILE = '.merge-train.lock';

/** A lock that cannot be read is assumed held for this long (a holder may be writing it), then taken over. */
const UNREADABLE_LOCK_MS = 60_000;

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

/** The lock's text and who it names, or undefined for a holder when it cannot be parsed. */
async function readLock(path: string): Promise<{ text: string; holder?: LockHolder } | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined; // gone meanwhile
  }
  try {
    return { text, holder: JSON.parse(text) as LockHolder };
  } catch {
    return { text };
  }
}

/**
 * Locks run folder `dir` for this process: a second run on it is refused, naming the holder, while
 * this one lives. The lock appears whole or not at all (written aside, then linked into place), and a
 * lock whose holder is gone (killed) is taken over by moving it aside first, so two runs that find
 * the same stale lock cannot both take it. Returns the release, which also runs when the process ends.
 */
export async function lockRunFolder(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, processStart: processStart(process.pid), host: os.hostname(), since: new Date().toISOString() };
  const text = JSON.stringify(me);
  // Named as temporary files are, so a sweep removes those a killed process left.
  const unique = () => join(dir, `${LOCK_FILE}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  for (let attempt = 0; attempt < 5; attempt++) {
    const written = unique();
    await writeFile(written, text);
    try {
      await link(written, path); // fails if a lock is there: the check and the taking are one step
      const cancel = atExit(() => {
        if (readFileSync(path, 'utf8') === text) unlinkSync(path);
      });
      return async () => {
        cancel();
        if ((await readFile(path, 'utf8').catch(() => '')) === text) await unlink(path).catch(() => undefined);
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      await unlink(written).catch(() => undefined);
    }
    const found = await readLock(path);
    if (!found) continue;
    const age = Date.now() - (await stat(path).then((s) => s.mtimeMs, () => Date.now()));
    const held = found.holder ? holderAlive(found.holder) : age < UNREADABLE_LOCK_MS;
    if (held) {
      const who = found.holder ? `pid ${found.holder.pid} on ${found.holder.host}, since ${found.holder.since}` : 'its lock is being written';
      throw new InputError(`${dir} is in use by another merge-train run (${who}); wait for it to end, or choose another --out`);
    }
    // Stale: move it aside, and go on only if what was moved is the stale lock itself.
    const aside = unique();
    try {
      await rename(path, aside);
    } catch {
      continue; // someone else moved it first
    }
    const moved = await readFile(aside, 'utf8').catch(() => '');
    if (moved !== found.text) await link(aside, path).catch(() => undefined); // a fresh lock: put it back
    await unlink(aside).catch(() => undefined);
  }
  throw new InputError(`${dir}: could not take its lock ${path}; other runs keep taking it`);
}
