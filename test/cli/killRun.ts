/**
 * Helpers for killing `merge-train run` while it works and checking what it leaves: used by
 * killResume.test.ts (kill points chosen by file writes) and test/soak/killSoak.ts (random moments).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunMetrics } from '../../src/artifacts/metrics.js';
import { temporaryWriter } from '../../src/io/atomicWrite.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Every file under `dir`, with its modification time. */
function filesUnder(dir: string): Map<string, number> {
  const found = new Map<string, number>();
  const walk = (folder: string) => {
    let entries;
    try {
      entries = readdirSync(folder, { withFileTypes: true });
    } catch {
      return; // not there yet, or removed while we looked
    }
    for (const entry of entries) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        try {
          found.set(path, statSync(path).mtimeMs);
        } catch {
          // renamed away between the listing and the stat
        }
      }
    }
  };
  walk(dir);
  return found;
}

/**
 * Runs the CLI with `args` and SIGKILLs it when `killNow(writes, elapsedMs)` says so, `writes` being
 * how many files (or new versions of a file) appeared under `watched` so far, polled every 5 ms.
 * Resolves with the writes seen, whether it was killed before it finished, and its pid.
 */
export function runAndKill(
  args: string[],
  watched: string,
  killNow: (writes: number, elapsedMs: number) => boolean,
): Promise<{ writes: number; killed: boolean; pid: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', `${root}/src/cli/main.ts`, ...args], { cwd: root, stdio: 'ignore' });
    const seen = new Map<string, number>();
    let writes = 0;
    const poll = setInterval(() => {
      for (const [path, mtime] of filesUnder(watched)) {
        if (temporaryWriter(relative(watched, path).split('/').at(-1)!) !== undefined || seen.get(path) === mtime) continue;
        seen.set(path, mtime);
        writes++;
      }
      if (killNow(writes, Date.now() - started)) child.kill('SIGKILL');
    }, 5);
    child.on('exit', (_code, signal) => {
      clearInterval(poll);
      resolve({ writes, killed: signal === 'SIGKILL', pid: child.pid! });
    });
  });
}

/** A short account of what a killed run left: the stage files and states, for messages. */
export function leftBehind(dir: string): string {
  const names = [...filesUnder(dir).keys()].map((path) => relative(dir, path));
  const count = (folder: string) => names.filter((n) => n.startsWith(`${folder}/`) && !n.includes('.training.')).length;
  return [
    `${count('models')} models`,
    `${count('aligned')} aligned`,
    `${count('merges')} merges`,
    ...names.filter((n) => n.includes('.training.')).map((n) => `state ${n}`),
  ].join(', ');
}

/** The numbers a run produces (timings, resources and file paths vary by run; these must not). */
export function results(dir: string) {
  const metrics = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')) as RunMetrics;
  const models = metrics.models.map(({ checkpoint: _inRunDirectory, ...rest }) => rest);
  return { models, ensemble: metrics.ensemble, merges: metrics.merges, curves: metrics.alphaCurves, alignment: metrics.alignment, many: metrics.many };
}

/** The hash of every artifact file of a run folder, by its path in the folder. */
export function artifactHashes(dir: string): Record<string, string> {
  const hashes: Record<string, string> = {};
  for (const path of filesUnder(dir).keys()) {
    const name = relative(dir, path);
    if (!/^(many\/)?(models|statistics|aligned|merges|masks)\/.*\.safetensors$/.test(name) || name.includes('.training.')) continue;
    hashes[name] = createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  return hashes;
}

/**
 * What should not outlive the runs of processes `pids` on `dir`: temporary files in the folder, a
 * lock, training states, scratch folders of those processes.
 */
export function leftovers(dir: string, pids: readonly number[]): string[] {
  const inFolder = [...filesUnder(dir).keys()]
    .map((path) => relative(dir, path))
    .filter((name) => temporaryWriter(name.split('/').at(-1)!) !== undefined || name === '.merge-train.lock' || name.endsWith('.training.safetensors'));
  const scratch = readdirSync(tmpdir()).filter((name) => pids.some((pid) => name.startsWith(`merge-train-wasm-${pid}-`)));
  return [...inFolder, ...scratch.map((name) => join(tmpdir(), name))];
}
