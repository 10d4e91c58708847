/**
 * An error caused by what the user gave us (a recipe, a checkpoint, a flag), not by a bug.
 * The CLI prints its message as one line and exits with code 2; no stack trace unless --verbose.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
  readonly exitCode = 2;
}

/** Throws an {@link InputError} with `message` unless `condition` holds. */
export function ensure(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new InputError(typeof message === 'string' ? message : message());
}
