import os from 'node:os';
import { InputError } from './errors.js';

/**
 * A degree of parallelism: `value` when given, else the environment variable `envName`, else one
 * per core. Refuses anything but a positive integer, naming where it came from.
 */
export function parallelism(what: string, value: number | undefined, envName: string): number {
  const fromEnv = process.env[envName];
  const resolved = value ?? (fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : os.availableParallelism());
  if (!Number.isSafeInteger(resolved) || resolved < 1) {
    throw new InputError(`${what} must be a positive integer; got ${value ?? `${envName}=${fromEnv}`}`);
  }
  return resolved;
}
