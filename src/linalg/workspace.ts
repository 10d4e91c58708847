import { GEMM_SCRATCH_DOUBLES } from './gemmBlocks.js';
import { instantiateKernels, type SimdKernels } from './simdKernels.js';
import { wasmApi, type WasmMemory } from './wasmApi.js';

/**
 * A row-major float64 matrix inside a {@link Float64Workspace}: element (i, j) is
 * `workspace.heap[offset + i * stride + j]`. Sub-matrices are views with a shifted offset and the
 * parent's stride, as in BLAS.
 */
export interface MatrixView {
  offset: number;
  rows: number;
  cols: number;
  stride: number;
}

const PAGE_DOUBLES = 65536 / 8;
/** wasm32 addresses 4 GiB; V8 allows all of it. */
const MAX_PAGES = 65536;

/**
 * Memory for one dense computation: a WebAssembly memory that the SIMD kernels work on directly,
 * handed out by a bump allocator (with {@link mark}/{@link release} for temporaries). Everything is
 * freed together when the workspace is dropped.
 *
 * Growing the memory replaces its buffer, so read {@link heap} again after any allocation instead of
 * keeping an old view.
 */
export class Float64Workspace {
  readonly kernels: SimdKernels;
  /** gemm's packing buffers, reserved first so that no {@link release} can hand them out again. */
  readonly gemmScratch: number;
  private readonly memory: WasmMemory;
  private view: Float64Array;
  /** Next free double. Starts past a small reserved area (offset 0 stays unused, as null). */
  private top = 8;
  /** Doubles below this have been handed out before; above it the memory is still as created, zero. */
  private used = 8;

  /** @param capacity doubles to reserve up front (besides gemm's scratch); more is grown on demand. */
  constructor(capacity = 0) {
    const pages = Math.max(1, Math.ceil((capacity + GEMM_SCRATCH_DOUBLES + 64) / PAGE_DOUBLES));
    this.memory = new wasmApi.Memory({ initial: pages, maximum: MAX_PAGES });
    this.view = new Float64Array(this.memory.buffer);
    this.kernels = instantiateKernels(this.memory);
    this.gemmScratch = this.allocate(GEMM_SCRATCH_DOUBLES);
  }

  /** The whole memory as doubles (a fresh view if the memory has grown). */
  get heap(): Float64Array {
    if (this.view.buffer !== this.memory.buffer) this.view = new Float64Array(this.memory.buffer);
    return this.view;
  }

  /** Allocates `length` doubles (zeroed), aligned to 16 bytes; returns the offset in doubles. */
  allocate(length: number): number {
    const offset = this.top + (this.top & 1);
    const end = offset + length;
    const available = this.memory.buffer.byteLength / 8;
    if (end > available) {
      const pages = Math.ceil((end - available) / PAGE_DOUBLES);
      if (this.memory.buffer.byteLength / 65536 + pages > MAX_PAGES) throw new Error(`workspace: ${end} doubles exceed the 4 GiB of wasm32 memory`);
      this.memory.grow(pages);
    }
    this.top = end;
    if (offset < this.used) this.heap.fill(0, offset, Math.min(end, this.used));
    this.used = Math.max(this.used, end);
    return offset;
  }

  /** Allocates a zeroed rows x cols matrix. */
  matrix(rows: number, cols: number): MatrixView {
    return { offset: this.allocate(rows * cols), rows, cols, stride: cols };
  }

  /** Copies a row-major array into a new matrix. */
  matrixFrom(data: ArrayLike<number>, rows: number, cols: number): MatrixView {
    if (data.length !== rows * cols) throw new Error(`workspace: expected ${rows * cols} values, got ${data.length}`);
    const m = this.matrix(rows, cols);
    this.heap.set(data, m.offset);
    return m;
  }

  /** The current allocation point, to {@link release} back to. */
  mark(): number {
    return this.top;
  }

  /** Frees everything allocated since `mark`. */
  release(mark: number): void {
    this.top = mark;
  }

  /** Copies a matrix out as a dense row-major array. */
  read(m: MatrixView): Float64Array {
    const out = new Float64Array(m.rows * m.cols);
    const heap = this.heap;
    for (let i = 0; i < m.rows; i++) out.set(heap.subarray(m.offset + i * m.stride, m.offset + i * m.stride + m.cols), i * m.cols);
    return out;
  }
}

/** The sub-matrix of `m` with `rows` x `cols` starting at (row, col). */
export function subMatrix(m: MatrixView, row: number, col: number, rows: number, cols: number): MatrixView {
  if (row < 0 || col < 0 || row + rows > m.rows || col + cols > m.cols) {
    throw new Error(`subMatrix: [${row}+${rows}, ${col}+${cols}] outside ${m.rows}x${m.cols}`);
  }
  return { offset: m.offset + row * m.stride + col, rows, cols, stride: m.stride };
}
