/**
 * The decoded-pool cache shared by the datasets that are slow to decode (CIFAR, Fashion-MNIST): the
 * pool as stored (uint8 pixels 0..255 + uint8 labels) in a safetensors file whose metadata says which
 * layout and which source it was built from, so a missing, corrupt or stale cache is rebuilt.
 */
import { readSafetensors, writeSafetensors } from '../io/safetensors.js';
import { InputError } from '../util/errors.js';
import type { Pool } from './dataset.js';

/** Pixels as stored (0..255) and labels, before scaling to [0, 1]. */
export interface BytePool {
  /** `[count, ...imageShape]` row-major. */
  pixels: Uint8Array;
  labels: Uint8Array;
}

/** What a cached pool must be to be used. */
export interface PoolCacheSpec {
  /** Metadata entries the cache must carry (a layout version, a source key); a mismatch means stale. */
  metadata: Record<string, string>;
  /** Shape of one image, e.g. `[32, 32, 3]`; the pixels tensor is `[count, ...imageShape]`. */
  imageShape: readonly number[];
  /** Every label must be below this. */
  numClasses: number;
}

/**
 * The cached pool, or undefined when there is none, it is damaged, its metadata does not match
 * `spec.metadata`, or its tensors are not uint8 pixels of `spec.imageShape` with one label below
 * `spec.numClasses` per image (then it is rebuilt).
 */
export async function readPoolCache(path: string, spec: PoolCacheSpec): Promise<BytePool | undefined> {
  let contents;
  try {
    contents = await readSafetensors(path);
  } catch (error) {
    if (error instanceof InputError) return undefined; // missing or corrupt: rebuild
    throw error;
  }
  const { tensors, metadata } = contents;
  const x = tensors['x'];
  const y = tensors['y'];
  if (Object.entries(spec.metadata).some(([key, value]) => metadata[key] !== value) || !x || !y) return undefined;
  const count = y.shape[0] ?? -1;
  const valid =
    x.data instanceof Uint8Array &&
    y.data instanceof Uint8Array &&
    y.shape.length === 1 &&
    x.shape.join(',') === [count, ...spec.imageShape].join(',') &&
    y.data.every((label) => label < spec.numClasses);
  return valid ? { pixels: x.data as Uint8Array, labels: y.data as Uint8Array } : undefined;
}

/**
 * Writes `pool` to the cache (atomically, so concurrent loaders cannot corrupt it) with
 * `spec.metadata` and `extraMetadata`. A cache that cannot be written only costs speed: it is
 * reported with a process warning naming the dataset `title`.
 */
export async function writePoolCache(
  path: string,
  pool: BytePool,
  spec: PoolCacheSpec,
  title: string,
  extraMetadata: Record<string, string> = {},
): Promise<void> {
  const count = pool.labels.length;
  try {
    await writeSafetensors(
      path,
      { x: { shape: [count, ...spec.imageShape], data: pool.pixels }, y: { shape: [count], data: pool.labels } },
      { ...spec.metadata, ...extraMetadata },
    );
  } catch (error) {
    process.emitWarning(`could not write the ${title} cache ${path}: ${(error as Error).message}`);
  }
}

/** The pool with pixels scaled to [0, 1]. */
export function bytePoolToPool({ pixels, labels }: BytePool): Pool {
  const x = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) x[i] = pixels[i]! / 255;
  return { x, y: Int32Array.from(labels) };
}
