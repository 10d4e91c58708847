import { CommanderError } from 'commander';
import { InputError } from '../util/errors.js';

/**
 * Maps any error to what the user sees and the exit code: bad input is one line and exit 2 (a stack
 * trace only with --verbose); anything else is a bug: one line, exit 1, the stack with --verbose.
 */
export function reportError(error: unknown, verbose: boolean): number {
  if (error instanceof CommanderError) {
    // Commander has printed its own message (or the help, for exit code 0).
    return error.exitCode === 0 ? 0 : 2;
  }
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = message.split('\n')[0];
  if (error instanceof InputError) {
    // Always one line: a message that spans lines is joined, not cut.
    console.error(`merge-train: ${message.trim().replace(/\s*\n\s*/g, ' ')}`);
    if (verbose && error.stack) console.error(error.stack);
    return error.exitCode;
  }
  console.error(`merge-train: internal error: ${firstLine}${verbose ? '' : ' (run with --verbose for the stack trace)'}`);
  if (verbose && error instanceof Error && error.stack) console.error(error.stack);
  return 1;
}
