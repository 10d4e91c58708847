import { expect } from 'vitest';
import type { CliResult } from './runCli.js';

/** Bad input is refused with exactly one line `merge-train: ...` on stderr matching `pattern`, no stack trace, and exit code 2. */
export function expectRefusal(result: CliResult, pattern: RegExp): void {
  expect(result.code, result.stderr).toBe(2);
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^merge-train: /);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}
