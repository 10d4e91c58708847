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
 * throws an {@link InputError} that lists the valid names.
 */
export class Registry<T extends RegistryEntry> {
  private readonly entries = new Map<string, T>();

  constructor(
    /** What the entries are, for messages: "aligner", "dataset". */
    readonly kind: string,
    entries: readonly T[],
  ) {
    for (const entry of entries) this.entries.set(entry.name, entry);
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
