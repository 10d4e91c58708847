import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeSafetensors,
  encodeSafetensors,
  readSafetensors,
  writeSafetensors,
  type NamedArrays,
} from '../../src/io/safetensors.js';
import { InputError } from '../../src/util/errors.js';
import { rawFile } from './rawSafetensors.js';


function littleEndian(kind: 'f32' | 'i32' | 'f64' | 'i64' | 'u64' | 'f16bits' | 'u16' | 'u32', values: number[]): Uint8Array {
  const size = { f32: 4, i32: 4, f64: 8, i64: 8, u64: 8, f16bits: 2, u16: 2, u32: 4 }[kind];
  const view = new DataView(new ArrayBuffer(values.length * size));
  values.forEach((value, i) => {
    if (kind === 'f32') view.setFloat32(i * size, value, true);
    else if (kind === 'i32') view.setInt32(i * size, value, true);
    else if (kind === 'f64') view.setFloat64(i * size, value, true);
    else if (kind === 'i64') view.setBigInt64(i * size, BigInt(value), true);
    else if (kind === 'u64') view.setBigUint64(i * size, BigInt(value), true);
    else if (kind === 'u32') view.setUint32(i * size, value, true);
    else view.setUint16(i * size, value, true);
  });
  return new Uint8Array(view.buffer);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Asserts that decoding fails with an InputError whose message is exactly `problem` after the prefix. */
function expectInvalid(bytes: Uint8Array, problem: string | RegExp, source = 'model.safetensors'): void {
  let caught: unknown;
  try {
    decodeSafetensors(bytes, source);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(InputError);
  const message = (caught as Error).message;
  const prefix = `${source} is not a valid safetensors file: `;
  expect(message.startsWith(prefix)).toBe(true);
  expect(message).not.toContain('\n');
  if (typeof problem === 'string') expect(message.slice(prefix.length)).toBe(problem);
  else expect(message.slice(prefix.length)).toMatch(problem);
}

describe('known encodings (the reference serializer test vectors)', () => {
  const sixFloats = littleEndian('f32', [0, 1, 2, 3, 4, 5]);

  it('encodes one F32 tensor with a header that needs no padding', () => {
    const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    expect(header.length).toBe(64);
    const expected = rawFile(header, sixFloats);
    const encoded = encodeSafetensors({ 'attn.0': { shape: [1, 2, 3], data: Float32Array.from([0, 1, 2, 3, 4, 5]) } });
    expect([...encoded]).toEqual([...expected]);
    const { tensors, metadata } = decodeSafetensors(expected);
    expect(metadata).toEqual({});
    expect(tensors['attn.0']!.shape).toEqual([1, 2, 3]);
    expect([...tensors['attn.0']!.data]).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('pads the header with spaces to a multiple of 8 bytes', () => {
    const header = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}';
    expect(header.length).toBe(65);
    const expected = rawFile(`${header}       `, sixFloats);
    expect(expected.length).toBe(8 + 72 + 24);
    const encoded = encodeSafetensors({ attn0: { shape: [1, 1, 2, 3], data: Float32Array.from([0, 1, 2, 3, 4, 5]) } });
    expect([...encoded]).toEqual([...expected]);
  });

  it('encodes an empty file, with and without metadata', () => {
    expect([...encodeSafetensors({})]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    const withMetadata = encodeSafetensors({}, { framework: 'pt' });
    expect([...withMetadata]).toEqual([...rawFile('{"__metadata__":{"framework":"pt"}}     ')]);
    expect(decodeSafetensors(withMetadata)).toEqual({ tensors: {}, metadata: { framework: 'pt' } });
  });

  it('orders tensors by descending dtype (F32, I32, U8) then by name', () => {
    const encoded = encodeSafetensors(
      {
        z: { shape: [2], data: Uint8Array.from([7, 8]) },
        b: { shape: [1], data: Int32Array.from([-2]) },
        a: { shape: [1], data: Int32Array.from([-1]) },
        y: { shape: [], data: Float32Array.from([0.5]) },
      },
      { version: '1', author: 'me' },
    );
    const header =
      '{"__metadata__":{"author":"me","version":"1"},' +
      '"y":{"dtype":"F32","shape":[],"data_offsets":[0,4]},' +
      '"a":{"dtype":"I32","shape":[1],"data_offsets":[4,8]},' +
      '"b":{"dtype":"I32","shape":[1],"data_offsets":[8,12]},' +
      '"z":{"dtype":"U8","shape":[2],"data_offsets":[12,14]}}';
    const padding = ' '.repeat((8 - (header.length % 8)) % 8);
    const data = concat(littleEndian('f32', [0.5]), littleEndian('i32', [-1, -2]), Uint8Array.from([7, 8]));
    expect([...encoded]).toEqual([...rawFile(header + padding, data)]);
  });

  it('writes int64 tensors (PyTorch counters) as I64, first as the reference orders them', () => {
    const encoded = encodeSafetensors({
      w: { shape: [1], data: Float32Array.from([2]) },
      count: { shape: [], data: BigInt64Array.from([-3n]) },
    });
    const header =
      '{"count":{"dtype":"I64","shape":[],"data_offsets":[0,8]},' + '"w":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}';
    const padding = ' '.repeat((8 - (header.length % 8)) % 8);
    expect([...encoded]).toEqual([...rawFile(header + padding, concat(littleEndian('i64', [-3]), littleEndian('f32', [2])))]);
    expect(Array.from(decodeSafetensors(encoded).tensors.count!.data)).toEqual([-3]);
  });

  it('decodes a hand-written file with tensors in any key order and unaligned offsets', () => {
    // U8 first puts the F32 at byte 3: legal, and the reader must copy rather than view it.
    const header =
      '{"w":{"dtype":"F32","shape":[2],"data_offsets":[3,11]},"__metadata__":{"k":"v"},' +
      '"m":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},"i":{"dtype":"I32","shape":[1,1],"data_offsets":[11,15]}}';
    const data = concat(Uint8Array.from([1, 2, 255]), littleEndian('f32', [1.5, -2.25]), littleEndian('i32', [-7]));
    const { tensors, metadata } = decodeSafetensors(rawFile(header, data));
    expect(metadata).toEqual({ k: 'v' });
    expect(tensors['m']).toEqual({ shape: [3], data: Uint8Array.from([1, 2, 255]) });
    expect(tensors['w']).toEqual({ shape: [2], data: Float32Array.from([1.5, -2.25]) });
    expect(tensors['i']).toEqual({ shape: [1, 1], data: Int32Array.from([-7]) });
  });
});

describe('round trips', () => {
  const tensors: NamedArrays = {
    'fc1.weight': { shape: [2, 3], data: Float32Array.from([1, -0, NaN, Infinity, -Infinity, 3.25e-40]) },
    'fc1.bias': { shape: [3], data: Float32Array.from([0.1, 0.2, 0.3]) },
    covariance: { shape: [3], data: Float64Array.from([0.1, -0, -1e300]) },
    labels: { shape: [4], data: Int32Array.from([-2147483648, 2147483647, 0, 5]) },
    pixels: { shape: [2, 2], data: Uint8Array.from([0, 1, 128, 255]) },
    scalar: { shape: [], data: Float32Array.from([42]) },
    empty: { shape: [0], data: new Float32Array(0) },
    emptyInner: { shape: [2, 0, 3], data: new Int32Array(0) },
    emptyBytes: { shape: [0, 4], data: new Uint8Array(0) },
    'ünïcode ✓': { shape: [1], data: Uint8Array.from([9]) },
  };
  const metadata = { format: 'pt', note: 'quotes " and \\ and\nnewline', '2': 'integer-like key' };

  it('decode(encode(x)) is x, including metadata, scalars and empty tensors', () => {
    const bytes = encodeSafetensors(tensors, metadata);
    const decoded = decodeSafetensors(bytes);
    expect(decoded.metadata).toEqual(metadata);
    expect(Object.keys(decoded.tensors).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, tensor] of Object.entries(tensors)) {
      const got = decoded.tensors[name]!;
      expect(got.shape).toEqual(tensor.shape);
      expect(got.data.constructor).toBe(tensor.data.constructor);
      expect(Object.is(got.data[1], tensor.data[1])).toBe(true); // -0 survives
      expect(got.data).toEqual(tensor.data);
    }
  });

  it('decoded arrays do not alias the input bytes', () => {
    const bytes = encodeSafetensors({ a: { shape: [1], data: Float32Array.from([1]) } });
    const { tensors: decoded } = decodeSafetensors(bytes);
    bytes.fill(0, bytes.length - 4);
    expect(decoded['a']!.data[0]).toBe(1);
  });

  it('header of every encoding is 8-byte aligned, so every tensor is aligned', () => {
    for (let length = 1; length < 12; length++) {
      const bytes = encodeSafetensors({ ['x'.repeat(length)]: { shape: [1], data: Float32Array.from([1]) } });
      expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8).toBe(0);
    }
  });

  it('rejects arrays that do not match their shape, and the reserved name', () => {
    expect(() => encodeSafetensors({ a: { shape: [2, 2], data: new Float32Array(3) } })).toThrow(/4 elements\) but 3 values/);
    expect(() => encodeSafetensors({ a: { shape: [-1], data: new Float32Array(0) } })).toThrow(/non-negative integers/);
    expect(() => encodeSafetensors({ __metadata__: { shape: [0], data: new Float32Array(0) } })).toThrow(/reserved/);
  });
});

describe('other dtypes convert on read', () => {
  it('reads F64 exactly (Float64Array), and F16 and BF16 as Float32Array', () => {
    const f16 = [0x3c00, 0xc000, 0x0001, 0x7c00, 0x0000, 0x8000, 0x3555]; // 1, -2, 2^-24, inf, 0, -0, ~1/3
    const bf16 = [0x3f80, 0xc040, 0x7f80]; // 1, -3, inf
    const header =
      '{"d":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"h":{"dtype":"F16","shape":[7],"data_offsets":[16,30]},' +
      '"b":{"dtype":"BF16","shape":[3],"data_offsets":[30,36]}}';
    const data = concat(littleEndian('f64', [0.1, -1e300]), littleEndian('f16bits', f16), littleEndian('f16bits', bf16));
    const { tensors } = decodeSafetensors(rawFile(header, data));
    expect(tensors['d']!.data).toEqual(Float64Array.from([0.1, -1e300]));
    expect(tensors['h']!.data).toBeInstanceOf(Float32Array);
    expect([...tensors['h']!.data]).toEqual([1, -2, 2 ** -24, Infinity, 0, -0, Math.fround(0.333251953125)]);
    expect([...tensors['b']!.data]).toEqual([1, -3, Infinity]);
  });

  it('reads integer dtypes as Int32Array and BOOL as Uint8Array', () => {
    const header =
      '{"a":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"b":{"dtype":"U64","shape":[1],"data_offsets":[16,24]},' +
      '"c":{"dtype":"U32","shape":[1],"data_offsets":[24,28]},"d":{"dtype":"I16","shape":[1],"data_offsets":[28,30]},' +
      '"e":{"dtype":"U16","shape":[1],"data_offsets":[30,32]},"f":{"dtype":"I8","shape":[2],"data_offsets":[32,34]},' +
      '"g":{"dtype":"BOOL","shape":[2],"data_offsets":[34,36]}}';
    const data = concat(
      littleEndian('i64', [-5, 2147483647]),
      littleEndian('u64', [7]),
      littleEndian('u32', [123456]),
      Uint8Array.from([0xff, 0xff]), // I16 -1
      Uint8Array.from([0xff, 0xff]), // U16 65535
      Uint8Array.from([0x80, 0x7f]), // I8 -128, 127
      Uint8Array.from([1, 0]),
    );
    const { tensors } = decodeSafetensors(rawFile(header, data));
    expect(tensors['a']!.data).toEqual(Int32Array.from([-5, 2147483647]));
    expect(tensors['b']!.data).toEqual(Int32Array.from([7]));
    expect(tensors['c']!.data).toEqual(Int32Array.from([123456]));
    expect(tensors['d']!.data).toEqual(Int32Array.from([-1]));
    expect(tensors['e']!.data).toEqual(Int32Array.from([65535]));
    expect(tensors['f']!.data).toEqual(Int32Array.from([-128, 127]));
    expect(tensors['g']!.data).toEqual(Uint8Array.from([1, 0]));
  });

  it('rejects 64-bit integers outside the int32 range', () => {
    const header = '{"steps":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}';
    expectInvalid(
      rawFile(header, littleEndian('i64', [1, 2 ** 40])),
      'tensor "steps" of dtype I64 has value 1099511627776 at index 1, outside the int32 range it is read into',
    );
  });
});

describe('validation', () => {
  const f32 = (offsets: string, shape = '[1]', name = 'a') =>
    `"${name}":{"dtype":"F32","shape":${shape},"data_offsets":${offsets}}`;

  it('rejects files shorter than the length prefix', () => {
    expectInvalid(new Uint8Array(5), 'it is 5 bytes long; expected at least 8 (the header length)');
  });

  it('rejects bad header lengths', () => {
    expectInvalid(new Uint8Array(8), 'header length is 0; expected a JSON object of at least 2 bytes');
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 100_000_001n, true);
    expectInvalid(huge, 'header length 100000001 exceeds the limit of 100000000 bytes');
    new DataView(huge.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
    expectInvalid(huge, 'header length 18446744073709551615 exceeds the limit of 100000000 bytes');
    const past = rawFile('{}');
    new DataView(past.buffer).setBigUint64(0, 100n, true);
    expectInvalid(past, 'header length 100 runs past the end of the file (10 bytes); expected at most 2');
  });

  it('rejects headers that are not a UTF-8 JSON object', () => {
    const invalidUtf8 = rawFile('{ }');
    invalidUtf8[9] = 0xff;
    expectInvalid(invalidUtf8, 'header is not valid UTF-8');
    expectInvalid(rawFile('{"a":'), /^header is not valid JSON \(.+\)$/);
    expectInvalid(rawFile('\uFEFF{}'), /^header is not valid JSON/);
    expectInvalid(rawFile('[1,2]'), 'header must be a JSON object; got [1,2]');
    expectInvalid(rawFile('null'), 'header must be a JSON object; got null');
  });

  it('rejects entries that are missing fields or have the wrong types', () => {
    expectInvalid(rawFile('{"a":5}'), 'tensor "a" is 5; expected an object with dtype, shape and data_offsets');
    expectInvalid(
      rawFile('{"a":{"shape":[1],"data_offsets":[0,4]}}', 4),
      'tensor "a" has no dtype; expected one of BOOL, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64',
    );
    expectInvalid(rawFile('{"a":{"dtype":"F32","data_offsets":[0,4]}}', 4), 'tensor "a" has no shape; expected an array of non-negative integers');
    expectInvalid(rawFile('{"a":{"dtype":"F32","shape":[1]}}', 4), 'tensor "a" has no data_offsets; expected [begin, end]');
    expectInvalid(rawFile('{"a":{"dtype":7,"shape":[1],"data_offsets":[0,4]}}', 4), /^tensor "a" has unknown or unsupported dtype 7; expected one of BOOL/);
    expectInvalid(rawFile('{"a":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}}', 4), /^tensor "a" has unknown or unsupported dtype "F31"/);
    expectInvalid(rawFile('{"a":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}', 4), /unsupported dtype "F8_E4M3"/);
    for (const shape of ['"4"', '[-1]', '[1.5]', '[null]', '{}']) {
      expectInvalid(rawFile(`{${f32('[0,4]', shape)}}`, 4), `tensor "a" has shape ${shape}; expected an array of non-negative integers`);
    }
    for (const offsets of ['[0]', '[0,4,8]', '[-4,0]', '[0,"4"]', '[0.5,4]', '"0,4"']) {
      expectInvalid(rawFile(`{${f32(offsets)}}`, 4), `tensor "a" has data_offsets ${offsets}; expected [begin, end], two non-negative integers`);
    }
  });

  it('rejects offsets that are reversed or outside the buffer', () => {
    expectInvalid(rawFile(`{${f32('[8,4]')}}`, 8), 'tensor "a" has data_offsets [8, 4]; begin must not exceed end');
    expectInvalid(rawFile(`{${f32('[0,4]')}}`, 3), 'tensor "a" has data_offsets [0, 4] but the data buffer is only 3 bytes');
  });

  it('rejects a byte length that does not match dtype and shape', () => {
    expectInvalid(
      rawFile(`{${f32('[0,100]', '[784,512]', 'fc1.weight')}}`, 100),
      'tensor "fc1.weight" has data_offsets [0, 100] but dtype F32 and shape [784,512] need 1605632 bytes',
    );
    // A huge declared shape fails the same way, before anything is allocated for it.
    expectInvalid(rawFile(`{${f32('[0,4]', '[1000000000,1000000000,1000000000]')}}`, 4), /need 4e\+27 bytes$/);
  });

  it('rejects overlapping tensors, holes and uncovered trailing bytes', () => {
    expectInvalid(
      rawFile(`{${f32('[0,8]', '[2]', 'a')},${f32('[4,12]', '[2]', 'b')}}`, 12),
      'tensor "b" (data_offsets [4, 12]) overlaps tensor "a" (data_offsets [0, 8]); expected disjoint tensors',
    );
    expectInvalid(
      rawFile(`{${f32('[0,4]', '[1]', 'a')},${f32('[0,4]', '[1]', 'b')}}`, 4),
      'tensor "b" (data_offsets [0, 4]) overlaps tensor "a" (data_offsets [0, 4]); expected disjoint tensors',
    );
    expectInvalid(
      rawFile(`{${f32('[0,4]', '[1]', 'a')},${f32('[8,12]', '[1]', 'b')}}`, 12),
      'bytes [4, 8) of the data buffer are not covered by any tensor; expected contiguous tensors',
    );
    expectInvalid(rawFile(`{${f32('[4,8]')}}`, 8), 'bytes [0, 4) of the data buffer are not covered by any tensor; expected contiguous tensors');
    expectInvalid(
      rawFile(`{${f32('[0,4]')}}`, 6),
      'bytes [4, 6) at the end of the data buffer are not covered by any tensor; expected the tensors to end at the end of the file',
    );
    expectInvalid(
      rawFile('{}', 1),
      'bytes [0, 1) at the end of the data buffer are not covered by any tensor; expected the tensors to end at the end of the file',
    );
  });

  it('accepts empty tensors anywhere in the tiling', () => {
    const header = `{${f32('[0,0]', '[0]', 'e1')},${f32('[0,4]', '[1]', 'a')},${f32('[4,4]', '[0,3]', 'e2')}}`;
    const { tensors } = decodeSafetensors(rawFile(header, 4));
    expect(tensors['e2']).toEqual({ shape: [0, 3], data: new Float32Array(0) });
  });

  it('rejects __metadata__ that is not a string-to-string map', () => {
    expectInvalid(rawFile('{"__metadata__":[1]}'), '__metadata__ is [1]; expected an object mapping strings to strings');
    expectInvalid(
      rawFile('{"__metadata__":{"epochs":3}}'),
      '__metadata__ key "epochs" has value 3; expected an object mapping strings to strings',
    );
    expect(decodeSafetensors(rawFile('{"__metadata__":null}')).metadata).toEqual({});
  });

  it('names the source in messages, and <buffer> by default', () => {
    expect(() => decodeSafetensors(new Uint8Array(0))).toThrow('<buffer> is not a valid safetensors file: it is 0 bytes long');
  });
});

describe('files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'safetensors-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes and reads back a file', async () => {
    const path = join(dir, 'nested', 'model.safetensors');
    const tensors: NamedArrays = {
      w: { shape: [2, 2], data: Float32Array.from([1, 2, 3, 4]) },
      n: { shape: [1], data: Int32Array.from([3]) },
      m: { shape: [3], data: Uint8Array.from([1, 0, 1]) },
    };
    await writeSafetensors(path, tensors, { step: '10' });
    const read = await readSafetensors(path);
    expect(read).toEqual({ tensors, metadata: { step: '10' } });
  });

  it('reads unaligned tensors from a file by copying them', async () => {
    const path = join(dir, 'unaligned.safetensors');
    const header = '{"m":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"w":{"dtype":"F32","shape":[1],"data_offsets":[1,5]}}';
    await writeFile(path, rawFile(header, concat(Uint8Array.from([9]), littleEndian('f32', [2.5]))));
    const { tensors } = await readSafetensors(path);
    expect(tensors['w']!.data).toEqual(Float32Array.from([2.5]));
  });

  it('reports problems with the path', async () => {
    const path = join(dir, 'bad.safetensors');
    await writeFile(path, rawFile('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', 4));
    await expect(readSafetensors(path)).rejects.toThrow(
      new InputError(`${path} is not a valid safetensors file: tensor "a" has data_offsets [0, 4] but dtype F32 and shape [2] need 8 bytes`),
    );
    await writeFile(path, new Uint8Array(3));
    await expect(readSafetensors(path)).rejects.toThrow(`${path} is not a valid safetensors file: it is 3 bytes long`);
    await expect(readSafetensors(join(dir, 'missing.safetensors'))).rejects.toThrow(
      new InputError(`cannot read ${join(dir, 'missing.safetensors')}: no such file or folder`),
    );
    await expect(readSafetensors(dir)).rejects.toBeInstanceOf(InputError);
  });
});
