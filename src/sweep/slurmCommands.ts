import { execFile } from 'node:child_process';
import { InputError } from '../util/errors.js';

/** What a finished command gave back. */
export interface CommandResult {
  /** Exit code; 127 when the program could not be started (not installed). */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a Slurm client command (`sbatch`, `squeue`, `scancel`) and resolves with what it gave back,
 * whatever its exit code. Injectable, so that tests can check what would be submitted without a cluster.
 */
export type SlurmRunner = (program: string, args: readonly string[]) => Promise<CommandResult>;

/** The runner of the real commands, found on PATH, in this process's environment (SLURM_CONF included). */
export const runSlurmCommand: SlurmRunner = (program, args) =>
  new Promise((resolve) => {
    execFile(program, [...args], { maxBuffer: 1 << 26 }, (error, stdout, stderr) => {
      if (!error) return resolve({ code: 0, stdout, stderr });
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return resolve({ code: 127, stdout, stderr: `${program}: command not found (is Slurm installed, and on PATH?)` });
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr: stderr || error.message });
    });
  });

/** A command's complaint as one line: its first non-empty line of stderr, else of stdout. */
function complaint(result: CommandResult): string {
  const line = (text: string) => text.split('\n').map((l) => l.trim()).find((l) => l.length > 0);
  return line(result.stderr) ?? line(result.stdout) ?? 'no message';
}

/** A failed command as one InputError line: the command, its exit code and what it said. */
export function commandError(what: string, program: string, result: CommandResult): InputError {
  return new InputError(`${what}: ${program} failed (exit code ${result.code}): ${complaint(result)}`);
}

/**
 * Runs `program args` through `runner` and returns its stdout; a failure is one InputError line (see
 * {@link commandError}): Slurm's own messages say what is wrong (a partition, an account, a time limit).
 */
export async function slurmCommand(runner: SlurmRunner, program: string, args: readonly string[], what: string): Promise<string> {
  const result = await runner(program, args);
  if (result.code !== 0) throw commandError(what, program, result);
  return result.stdout;
}
