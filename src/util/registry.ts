import { InputError } from './errors.js';

/** What every registry entry carries: a key, one line for --help, and where the method comes from. */
export interface RegistryEntry {
  readonly name: string;
  readonly description: string;
  /** Paper or documentation link. */
  readonly reference?: string;
}

/** Levenshtein distance, for did-you-mean suggestions. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The closest of `candidates` to `word`, if it is close enough to be a likely typo. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

/**
 * A typed table of named methods (aligners, mergers, datasets, ...). Looking up an unknown name
 * throws an {@link InputError} that lists the valid names. Entries may be added at run time (a
 * user's own method): the recipe schema, the command line's choices and the report's labels are
 * derived from the registries when they are needed, so a registered entry appears in all of them.
 */
export class Registry<T extends RegistryEntry> {
  private readonly entries = new Map<string, T>();
  private static changes = 0;

  constructor(
    /** What the entries are, for messages: "aligner", "dataset". */
    readonly kind: string,
    entries: readonly T[],
  ) {
    for (const entry of entries) this.register(entry);
  }

  /** Increases whenever any registry changes: derived tables are rebuilt when it moves. */
  static get version(): number {
    return Registry.changes;
  }

  /** Adds `entry`; a name that is taken is refused. */
  register(entry: T): void {
    if (!/^[a-z0-9][\w-]*$/i.test(entry.name)) throw new Error(`${this.kind} name "${entry.name}": expected letters, digits, "_" and "-"`);
    if (this.entries.has(entry.name)) throw new Error(`a ${this.kind} named "${entry.name}" is already registered`);
    this.entries.set(entry.name, entry);
    Registry.changes++;
  }

  /** Removes the entry `name`, if there is one (for tests and plug-ins that clean up after themselves). */
  unregister(name: string): void {
    if (this.entries.delete(name)) Registry.changes++;
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  list(): T[] {
    return [...this.entries.values()];
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  get(name: string): T {
    const entry = this.entries.get(name);
    if (entry) return entry;
    const suggestion = didYouMean(name, this.names());
    throw new InputError(
      `unknown ${this.kind} "${name}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}; valid: ${this.names().join(', ')}`,
    );
  }
}
