/**
 * The Hugging Face safetensors format (https://huggingface.co/docs/safetensors): an 8-byte
 * little-endian u64 header length N, N bytes of UTF-8 JSON header, then the tensor bytes.
 * The header maps tensor names to `{dtype, shape, data_offsets: [begin, end]}` (offsets relative to
 * the start of the byte buffer) plus an optional `"__metadata__"` string-to-string map.
 *
 * The writer produces the same bytes as the reference (Rust) serializer; the reader applies the
 * reference validation rules and reports each problem as an {@link InputError} before it allocates
 * any tensor.
 */
import { open, stat } from 'node:fs/promises';
import { InputError } from '../util/errors.js';
import { describeFsError, fileKind, isFsError } from './fsErrors.js';
import { writeFileAtomic } from './atomicWrite.js';

/** Tensors by name: a row-major shape and its data. `[]` is a scalar (one element). */
export interface NamedArrays {
  [name: string]: { shape: number[]; data: TensorData };
}

/** The typed arrays tensors are held in: F64 stays exact, other floats widen or narrow to F32. */
export type TensorData = Float64Array | Float32Array | Int32Array | Uint8Array;

/**
 * Tensors to write: those read back, and I64 ones too (PyTorch keeps its counters, BatchNorm's
 * num_batches_tracked, as int64; the reader narrows I64 to int32).
 */
export interface WritableArrays {
  [name: string]: { shape: number[]; data: TensorData | BigInt64Array };
}

/** What a safetensors file holds. */
export interface SafetensorsContents {
  tensors: NamedArrays;
  /** The `__metadata__` map; `{}` when the file has none. */
  metadata: Record<string, string>;
}

/** The largest header the reference implementation accepts (and so do we). */
export const MAX_HEADER_BYTES = 100_000_000;

/** The key of the free-form string map in the header. */
const METADATA_KEY = '__metadata__';

/** Which typed array a stored dtype is read into. */
type Target = 'F64' | 'F32' | 'I32' | 'U8';
/** The dtypes written: the read targets, and I64. */
type Written = Target | 'I64';

interface DtypeInfo {
  /** Bytes per element. */
  readonly size: number;
  /** Position in the reference `Dtype` enum, which orders tensors in the written buffer. */
  readonly rank: number;
  readonly target: Target;
}

/**
 * The dtypes merge-train reads. F64 is read into Float64Array; other types convert on read: floats to
 * Float32Array, integers to Int32Array (range-checked), BOOL to Uint8Array. The FP8 types are not
 * supported.
 */
const dtypes: Readonly<Record<string, DtypeInfo>> = {
  BOOL: { size: 1, rank: 0, target: 'U8' },
  U8: { size: 1, rank: 1, target: 'U8' },
  I8: { size: 1, rank: 2, target: 'I32' },
  I16: { size: 2, rank: 5, target: 'I32' },
  U16: { size: 2, rank: 6, target: 'I32' },
  F16: { size: 2, rank: 7, target: 'F32' },
  BF16: { size: 2, rank: 8, target: 'F32' },
  I32: { size: 4, rank: 9, target: 'I32' },
  U32: { size: 4, rank: 10, target: 'I32' },
  F32: { size: 4, rank: 11, target: 'F32' },
  F64: { size: 8, rank: 12, target: 'F64' },
  I64: { size: 8, rank: 13, target: 'I32' },
  U64: { size: 8, rank: 14, target: 'I32' },
};
const dtypeNames = Object.keys(dtypes).join(', ');

/** Typed arrays use the host byte order; the file is little-endian. Big-endian hosts take the slow path. */
const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

// ---------------------------------------------------------------------------------------------
// Writing

interface PreparedTensor {
  name: string;
  dtype: Written;
  shape: number[];
  data: TensorData | BigInt64Array;
  /** UTF-8 bytes of the name: the reference sorts names bytewise. */
  key: Buffer;
}

function dtypeOf(data: TensorData | BigInt64Array): Written {
  if (data instanceof BigInt64Array) return 'I64';
  if (data instanceof Float64Array) return 'F64';
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Int32Array) return 'I32';
  if (data instanceof Uint8Array) return 'U8';
  throw new TypeError(`unsupported array type ${Object.prototype.toString.call(data)}`);
}

/**
 * Serializes `tensors` (and an optional `__metadata__` map) to safetensors bytes, exactly as the
 * reference writer does: tensors ordered by descending dtype (I64, F64, F32, I32, U8; so each one is aligned)
 * then by name, compact JSON header with keys `dtype, shape, data_offsets`, padded with spaces to a
 * multiple of 8 bytes. Metadata keys are written sorted so the output is deterministic.
 * Throws a TypeError for a shape that does not match its data (a programming error).
 */
export function encodeSafetensors(tensors: WritableArrays, metadata?: Record<string, string>): Uint8Array {
  const prepared: PreparedTensor[] = Object.entries(tensors).map(([name, { shape, data }]) => {
    if (name === METADATA_KEY) throw new TypeError(`"${METADATA_KEY}" is reserved and cannot name a tensor`);
    if (!shape.every((dim) => Number.isSafeInteger(dim) && dim >= 0)) {
      throw new TypeError(`tensor "${name}" has shape ${JSON.stringify(shape)}; dims must be non-negative integers`);
    }
    const count = shape.reduce((product, dim) => product * dim, 1);
    if (count !== data.length) {
      throw new TypeError(`tensor "${name}" has shape ${JSON.stringify(shape)} (${count} elements) but ${data.length} values`);
    }
    return { name, dtype: dtypeOf(data), shape, data, key: Buffer.from(name, 'utf8') };
  });
  prepared.sort((a, b) => dtypes[b.dtype]!.rank - dtypes[a.dtype]!.rank || Buffer.compare(a.key, b.key));

  // Built by hand rather than JSON.stringify(object): JS objects put integer-like keys first.
  const parts: string[] = [];
  if (metadata !== undefined) {
    const pairs = Object.entries(metadata).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const [key, value] of pairs) {
      if (typeof value !== 'string') throw new TypeError(`metadata "${key}" must be a string, got ${typeof value}`);
    }
    const body = pairs.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(',');
    parts.push(`${JSON.stringify(METADATA_KEY)}:{${body}}`);
  }
  let offset = 0;
  for (const tensor of prepared) {
    const end = offset + tensor.data.byteLength;
    parts.push(
      `${JSON.stringify(tensor.name)}:{"dtype":"${tensor.dtype}","shape":[${tensor.shape.join(',')}],"data_offsets":[${offset},${end}]}`,
    );
    offset = end;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  // Padding to 8 bytes keeps every tensor aligned for zero-copy typed-array views.
  const headerLength = Math.ceil(json.length / 8) * 8;

  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let position = 8 + headerLength;
  for (const { data } of prepared) {
    if (littleEndianHost || data instanceof Uint8Array) {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), position);
    } else {
      for (let i = 0; i < data.length; i++) {
        if (data instanceof BigInt64Array) view.setBigInt64(position + 8 * i, data[i]!, true);
        else if (data instanceof Float64Array) view.setFloat64(position + 8 * i, data[i]!, true);
        else if (data instanceof Float32Array) view.setFloat32(position + 4 * i, data[i]!, true);
        else view.setInt32(position + 4 * i, data[i]!, true);
      }
    }
    position += data.byteLength;
  }
  return out;
}

/** Writes `tensors` to `path` as safetensors, atomically (see {@link writeFileAtomic}). */
export async function writeSafetensors(
  path: string,
  tensors: WritableArrays,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

// ---------------------------------------------------------------------------------------------
// Reading

interface TensorEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

/** A validated header: where each tensor lies in the data buffer. */
interface Layout {
  entries: TensorEntry[];
  metadata: Record<string, string>;
}

type Fail = (problem: string) => never;

function failFor(source: string): Fail {
  return (problem) => {
    throw new InputError(`${source} is not a valid safetensors file: ${problem}`);
  };
}

/** A short one-line rendering of a JSON value for messages. */
function show(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Array.isArray(value) ? '[...]' : '{...}'; // nested deeper than the stack
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSize(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Validates the 8-byte prefix against the file length; returns the header length N. */
function readHeaderLength(prefix: Uint8Array, fileLength: number, fail: Fail): number {
  if (fileLength < 8) fail(`it is ${fileLength} bytes long; expected at least 8 (the header length)`);
  const length = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (length === 0n) fail('header length is 0; expected a JSON object of at least 2 bytes');
  if (length > BigInt(MAX_HEADER_BYTES)) {
    fail(`header length ${length} exceeds the limit of ${MAX_HEADER_BYTES} bytes`);
  }
  const n = Number(length);
  if (8 + n > fileLength) {
    fail(`header length ${n} runs past the end of the file (${fileLength} bytes); expected at most ${fileLength - 8}`);
  }
  return n;
}

/** Parses and validates the header; `bufferLength` is the size of the data that follows it. */
function parseHeader(headerBytes: Uint8Array, bufferLength: number, fail: Fail): Layout {
  let text = '';
  try {
    // ignoreBOM keeps a BOM in the text so JSON.parse rejects it, as the reference does.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(headerBytes);
  } catch {
    fail('header is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    fail(`header is not valid JSON (${String((error as Error).message).replace(/\s+/g, ' ')})`);
  }
  if (!isPlainObject(parsed)) fail(`header must be a JSON object; got ${show(parsed)}`);

  const entries: TensorEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (name === METADATA_KEY) {
      metadata = parseMetadata(value, fail);
      continue;
    }
    if (!isPlainObject(value)) {
      fail(`tensor "${name}" is ${show(value)}; expected an object with dtype, shape and data_offsets`);
    }
    const { dtype, shape, data_offsets: offsets } = value;
    if (dtype === undefined) fail(`tensor "${name}" has no dtype; expected one of ${dtypeNames}`);
    if (typeof dtype !== 'string' || !Object.hasOwn(dtypes, dtype)) {
      fail(`tensor "${name}" has unknown or unsupported dtype ${show(dtype)}; expected one of ${dtypeNames}`);
    }
    if (shape === undefined) fail(`tensor "${name}" has no shape; expected an array of non-negative integers`);
    if (!Array.isArray(shape) || !shape.every(isSize)) {
      fail(`tensor "${name}" has shape ${show(shape)}; expected an array of non-negative integers`);
    }
    if (offsets === undefined) fail(`tensor "${name}" has no data_offsets; expected [begin, end]`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isSize)) {
      fail(`tensor "${name}" has data_offsets ${show(offsets)}; expected [begin, end], two non-negative integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) fail(`tensor "${name}" has data_offsets [${begin}, ${end}]; begin must not exceed end`);
    if (end > bufferLength) {
      fail(`tensor "${name}" has data_offsets [${begin}, ${end}] but the data buffer is only ${bufferLength} bytes`);
    }
    // Cannot overflow into a false match: end - begin < 2^53 and any larger product is inexact but larger.
    const needed = (shape as number[]).reduce((product, dim) => product * dim, 1) * dtypes[dtype]!.size;
    if (end - begin !== needed) {
      fail(
        `tensor "${name}" has data_offsets [${begin}, ${end}] but dtype ${dtype} and shape [${(shape as number[]).join(',')}] need ${needed} bytes`,
      );
    }
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }

  // The reference requires the tensors to tile the buffer exactly: no overlaps, no holes.
  const ordered = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous: TensorEntry | undefined;
  for (const entry of ordered) {
    if (entry.begin < cursor && previous) {
      fail(
        `tensor "${entry.name}" (data_offsets [${entry.begin}, ${entry.end}]) overlaps tensor "${previous.name}" (data_offsets [${previous.begin}, ${previous.end}]); expected disjoint tensors`,
      );
    }
    if (entry.begin > cursor) {
      fail(`bytes [${cursor}, ${entry.begin}) of the data buffer are not covered by any tensor; expected contiguous tensors`);
    }
    cursor = entry.end;
    previous = entry;
  }
  if (cursor !== bufferLength) {
    fail(
      `bytes [${cursor}, ${bufferLength}) at the end of the data buffer are not covered by any tensor; expected the tensors to end at the end of the file`,
    );
  }
  return { entries, metadata };
}

function parseMetadata(value: unknown, fail: Fail): Record<string, string> {
  if (value === null) return {}; // the reference reads null as "no metadata"
  if (!isPlainObject(value)) fail(`${METADATA_KEY} is ${show(value)}; expected an object mapping strings to strings`);
  for (const [key, item] of Object.entries(value)) {
    if (typeof item !== 'string') {
      fail(`${METADATA_KEY} key "${key}" has value ${show(item)}; expected an object mapping strings to strings`);
    }
  }
  // fromEntries defines own properties, so a "__proto__" key cannot touch the prototype.
  return Object.fromEntries(Object.entries(value)) as Record<string, string>;
}

/**
 * Turns one tensor's bytes into a typed array. With `share`, an aligned F32/I32/U8 tensor is a view
 * of `bytes` (no copy); otherwise the result owns fresh memory.
 */
function decodeTensor(entry: TensorEntry, bytes: Uint8Array, share: boolean, fail: Fail): TensorData {
  const { dtype, name } = entry;
  const info = dtypes[dtype]!;
  const count = bytes.length / info.size;
  if (dtype === 'U8' || dtype === 'BOOL') return share ? bytes : bytes.slice();
  if (littleEndianHost && (dtype === 'F32' || dtype === 'I32')) {
    // slice() starts a new buffer at offset 0, which is always aligned.
    const source = share && bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
    return dtype === 'F32'
      ? new Float32Array(source.buffer, source.byteOffset, count)
      : new Int32Array(source.buffer, source.byteOffset, count);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const outOfRange = (value: bigint | number, index: number): never =>
    fail(`tensor "${name}" of dtype ${dtype} has value ${value} at index ${index}, outside the int32 range it is read into`);
  switch (dtype) {
    case 'F32':
      return Float32Array.from({ length: count }, (_, i) => view.getFloat32(4 * i, true));
    case 'F64':
      return Float64Array.from({ length: count }, (_, i) => view.getFloat64(8 * i, true));
    case 'F16':
      return Float32Array.from({ length: count }, (_, i) => halfToFloat(view.getUint16(2 * i, true)));
    case 'BF16': {
      // bfloat16 is the top half of a float32.
      const bits = Uint32Array.from({ length: count }, (_, i) => view.getUint16(2 * i, true) << 16);
      return new Float32Array(bits.buffer);
    }
    case 'I32':
      return Int32Array.from({ length: count }, (_, i) => view.getInt32(4 * i, true));
    case 'I8':
      return Int32Array.from({ length: count }, (_, i) => view.getInt8(i));
    case 'I16':
      return Int32Array.from({ length: count }, (_, i) => view.getInt16(2 * i, true));
    case 'U16':
      return Int32Array.from({ length: count }, (_, i) => view.getUint16(2 * i, true));
    case 'U32':
      return Int32Array.from({ length: count }, (_, i) => {
        const value = view.getUint32(4 * i, true);
        return value > INT32_MAX ? outOfRange(value, i) : value;
      });
    case 'I64':
    case 'U64':
      return Int32Array.from({ length: count }, (_, i) => {
        const value = dtype === 'I64' ? view.getBigInt64(8 * i, true) : view.getBigUint64(8 * i, true);
        return value < INT32_MIN || value > INT32_MAX ? outOfRange(value, i) : Number(value);
      });
    default:
      throw new Error(`unhandled dtype ${dtype}`); // unreachable: parseHeader admits only table dtypes
  }
}

/** IEEE 754 half precision to a JS number. */
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero or subnormal
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function extractTensors(layout: Layout, data: Uint8Array, share: boolean, fail: Fail): NamedArrays {
  return Object.fromEntries(
    layout.entries.map((entry) => [
      entry.name,
      { shape: [...entry.shape], data: decodeTensor(entry, data.subarray(entry.begin, entry.end), share, fail) },
    ]),
  );
}

/**
 * Parses safetensors bytes. `source` names the bytes in error messages (a file path).
 * The returned arrays are copies: they do not alias `bytes`.
 * @throws InputError naming `source`, the problem and what was expected, for any malformed input.
 */
export function decodeSafetensors(bytes: Uint8Array, source = '<buffer>'): SafetensorsContents {
  const fail = failFor(source);
  const n = readHeaderLength(bytes.subarray(0, 8), bytes.length, fail);
  const layout = parseHeader(bytes.subarray(8, 8 + n), bytes.length - 8 - n, fail);
  return { tensors: extractTensors(layout, bytes.subarray(8 + n), false, fail), metadata: layout.metadata };
}

type FileHandle = Awaited<ReturnType<typeof open>>;

/**
 * Opens `path`, reads and validates its header, and hands the layout to `then` (which may read the
 * data section). Every filesystem failure becomes an {@link InputError} naming the file.
 */
async function withValidatedHeader<T>(
  path: string,
  then: (handle: FileHandle, layout: Layout, dataStart: number, dataLength: number, fail: Fail) => Promise<T>,
): Promise<T> {
  const fail = failFor(path);
  let handle: FileHandle;
  try {
    // Before opening: opening a FIFO waits for a writer that may never come.
    const stats = await stat(path);
    if (!stats.isFile()) throw new InputError(`cannot read ${path}: it is ${fileKind(stats)}; expected a safetensors file`);
    handle = await open(path, 'r');
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`cannot read ${path}: ${describeFsError(error)}`);
  }
  try {
    const fileLength = (await handle.stat()).size;
    const prefix = new Uint8Array(Math.min(8, fileLength)); // short files fail in readHeaderLength
    await readFully(handle, prefix, 0, fail);
    const n = readHeaderLength(prefix, fileLength, fail);
    const headerBytes = new Uint8Array(n);
    await readFully(handle, headerBytes, 8, fail);
    const layout = parseHeader(headerBytes, fileLength - 8 - n, fail);
    return await then(handle, layout, 8 + n, fileLength - 8 - n, fail);
  } catch (error) {
    // Filesystem failures (EIO, ...) are about the user's file; anything else is a bug and propagates.
    if (isFsError(error)) throw new InputError(`cannot read ${path}: ${describeFsError(error)}`);
    throw error;
  } finally {
    await handle.close();
  }
}

/**
 * Reads a safetensors file. The header is read and validated before the data is; aligned F32/I32/U8
 * tensors are views into one buffer holding the file's data section.
 * @throws InputError if the file is missing, unreadable or malformed.
 */
export function readSafetensors(path: string): Promise<SafetensorsContents> {
  return withValidatedHeader(path, async (handle, layout, dataStart, dataLength, fail) => {
    if (dataLength > MAX_DATA_BYTES) fail(`its tensors hold ${dataLength} bytes; merge-train reads at most ${MAX_DATA_BYTES} (4 GiB)`);
    let data: Uint8Array;
    try {
      data = new Uint8Array(dataLength);
    } catch {
      throw new InputError(`cannot read ${path}: its ${dataLength} bytes of tensors do not fit in this process's memory`);
    }
    await readFully(handle, data, dataStart, fail);
    return { tensors: extractTensors(layout, data, true, fail), metadata: layout.metadata };
  });
}

/** What a safetensors header says: the metadata, and each tensor's dtype and shape. */
export interface SafetensorsHeader {
  metadata: Record<string, string>;
  tensors: Record<string, { dtype: string; shape: number[] }>;
}

/**
 * The header of a safetensors file, reading and validating only the header (the tensors are checked
 * to tile the file exactly): cheap for a large file, e.g. to check what it holds before loading it.
 * @throws InputError if the file is missing, unreadable or its header is malformed.
 */
export function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  return withValidatedHeader(path, async (_handle, layout) => ({
    metadata: layout.metadata,
    tensors: Object.fromEntries(layout.entries.map(({ name, dtype, shape }) => [name, { dtype, shape: [...shape] }])),
  }));
}

/** The `__metadata__` map of a safetensors file, reading only its header (see {@link readSafetensorsHeader}). */
export async function readSafetensorsMetadata(path: string): Promise<Record<string, string>> {
  return (await readSafetensorsHeader(path)).metadata;
}

/** The most one read call asks for: a single read of 2 GiB or more is out of Node's range. */
const READ_CHUNK_BYTES = 1 << 30;

/** The largest data section the reader allocates: 4 GiB, what one typed array holds on Node.js 20 and the WASM heap at most. */
export const MAX_DATA_BYTES = 2 ** 32;

/** Fills `target` from the file at `position`; a short read means the file shrank under us. */
async function readFully(
  handle: FileHandle,
  target: Uint8Array,
  position: number,
  fail: Fail,
): Promise<void> {
  let filled = 0;
  while (filled < target.length) {
    const { bytesRead } = await handle.read(target, filled, Math.min(target.length - filled, READ_CHUNK_BYTES), position + filled);
    if (bytesRead === 0) fail(`the file ended after ${position + filled} bytes while being read; expected ${position + target.length}`);
    filled += bytesRead;
  }
}

