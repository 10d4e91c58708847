/**
 * Explicit, reproducible randomness. Every random choice derives its seed from the recipe seed and a
 * descriptive string ("split/mnist", "init/modelB/fc1.weight"), never from call order.
 */

/** 32-bit FNV-1a hash of a string: stable across processes and platforms. */
export function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** A sub-seed for `label` under `seed`, e.g. `subSeed(0, 'init/fc1.weight')`. */
export function subSeed(seed: number, label: string): number {
  return hashString(`${seed}/${label}`);
}

/** Mulberry32: a small, fast, seedable PRNG returning floats in [0, 1). */
export function createRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher-Yates shuffle of 0..n-1 with the given seed. */
export function shuffledIndices(n: number, seed: number): Int32Array {
  const rng = createRng(seed);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const tmp = order[i]!;
    order[i] = order[j]!;
    order[j] = tmp;
  }
  return order;
}
