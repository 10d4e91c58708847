/** Register tile (fixed by the kernel) and cache blocks: an A block (MC x KC, 256 KiB) stays in L2. */
export const TILE = 4;
export const KC = 256;
export const MC = 128;
export const NC = 2048;

/** Doubles of packing scratch that every workspace reserves for gemm (see Float64Workspace). */
export const GEMM_SCRATCH_DOUBLES = MC * KC + KC * NC + TILE * TILE;
