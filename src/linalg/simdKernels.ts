import { SIMD_KERNELS_BASE64 } from './simdKernelsBinary.js';
import { wasmApi, type WasmMemory, type WasmModule } from './wasmApi.js';

/**
 * The hot inner loops of the dense float64 routines, as WebAssembly with 128-bit SIMD (two doubles
 * per instruction), written in simdKernels.wat and assembled by wabt (`npm run assemble-kernels`). V8 does not vectorise JavaScript, so these run about 4x faster than the best
 * plain-JS loops (measured: 7 vs 1.8 GFMA/s for a 2048x2048 product on one core).
 *
 * All pointers are byte offsets into the memory of a {@link Float64Workspace}; strides are in
 * doubles. Matrices are row-major.
 */

/** The kernels' JavaScript signatures (pointers are byte offsets, counts and strides in doubles). */
export interface SimdKernels {
  /** C[0:mc, 0:nc] += Ap Bp on packed panels (see simdKernels.wat). */
  gemm(ap: number, bp: number, c: number, ldc: number, mc: number, nc: number, kc: number, tile: number): void;
  /** y = A x for a symmetric A given by its upper triangle (row-major, stride lda). */
  symvUpper(a: number, lda: number, m: number, x: number, y: number): void;
  /** x . y */
  dot(x: number, y: number, n: number): number;
  /** y += alpha x */
  axpy(alpha: number, x: number, y: number, n: number): void;
}

let compiled: WasmModule | undefined;

/** Compiles the kernels once per process (synchronously: the module is a few KB). */
function kernelModule(): WasmModule {
  compiled ??= new wasmApi.Module(Uint8Array.from(Buffer.from(SIMD_KERNELS_BASE64, 'base64')));
  return compiled;
}

/** Instantiates the kernels over `memory`. */
export function instantiateKernels(memory: WasmMemory): SimdKernels {
  const instance = new wasmApi.Instance(kernelModule(), { env: { memory } });
  return instance.exports as unknown as SimdKernels;
}
