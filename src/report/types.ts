/**
 * Data types the figure builders take, for data that metrics.json does not hold.
 */

/**
 * One parameter tensor's merge mask: alpha per entry, row-major in `shape`
 * (1 = take model A's value, 0 = take model B's).
 */
export interface AlphaMask {
  shape: number[];
  values: Float32Array;
}

/** Merge masks of a whole model, keyed by parameter name. */
export interface AlphaMaskSet {
  [param: string]: AlphaMask;
}
