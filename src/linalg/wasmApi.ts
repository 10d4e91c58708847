/**
 * The part of the WebAssembly JavaScript API that the SIMD kernels use, typed locally: the
 * project's TypeScript libs (ES2022 + @types/node 20) declare no WebAssembly globals, and pulling
 * in the DOM lib for them would type the whole project as a browser.
 */

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

export type WasmModule = object;

interface WasmApi {
  Module: { new (bytes: Uint8Array): WasmModule; exports(module: WasmModule): { name: string; kind: string }[] };
  Instance: new (module: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  validate(bytes: Uint8Array): boolean;
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
}

/** Node's global WebAssembly object. */
export const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
