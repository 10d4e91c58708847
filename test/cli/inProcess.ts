import { format } from 'node:util';
import { vi } from 'vitest';
import { main } from '../../src/cli/program.js';
import type { CliResult } from './runCli.js';

/**
 * Runs the command line in this process (`main`, what bin/merge-train calls, with its top-level error
 * handler), capturing what it writes; faster than a child process and sees registry entries that a
 * test registered.
 */
export async function runInProcess(args: string[]): Promise<CliResult> {
  const out = { stdout: '', stderr: '' };
  const capture = (stream: 'stdout' | 'stderr') => (...values: unknown[]) => {
    out[stream] += `${format(...values)}\n`;
  };
  const write = (stream: 'stdout' | 'stderr') => (chunk: string | Uint8Array) => {
    out[stream] += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  };
  const spies = [
    vi.spyOn(console, 'log').mockImplementation(capture('stdout')),
    vi.spyOn(console, 'info').mockImplementation(capture('stdout')),
    vi.spyOn(console, 'warn').mockImplementation(capture('stderr')),
    vi.spyOn(console, 'error').mockImplementation(capture('stderr')),
    vi.spyOn(process.stdout, 'write').mockImplementation(write('stdout') as typeof process.stdout.write),
    vi.spyOn(process.stderr, 'write').mockImplementation(write('stderr') as typeof process.stderr.write),
  ];
  try {
    const code = await main(['node', 'merge-train', ...args]);
    return { code, ...out };
  } finally {
    spies.forEach((spy) => spy.mockRestore());
  }
}
