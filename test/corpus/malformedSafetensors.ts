/**
 * A corpus of malformed checkpoints (issue 5): byte buffers that are not valid safetensors, valid
 * safetensors that are not merge-train checkpoints, and checkpoints that do not fit their own
 * metadata or each other. Each must be refused by the stage commands with exit code 2 and one line
 * on stderr naming the checkpoint file.
 *
 * The data section must be tiled exactly by the tensors: no overlaps, no holes, no trailing bytes.
 * That is the reference implementation's rule (safetensors `validate`: "MetadataIncompleteBuffer"
 * for uncovered bytes, "InvalidOffset" for a tensor that does not start where the previous one
 * ended), so merge-train refuses what the reference refuses and nothing else.
 */
import { encodeSafetensors, type NamedArrays } from '../../src/io/safetensors.js';
import { rawFile } from '../io/rawSafetensors.js';

export interface MalformedCheckpoint {
  title: string;
  /** The files to write, by name; `null` makes a directory of that name. */
  files: Record<string, Uint8Array | null>;
  /** The command line, given the paths of `files` by name (and of names not written, too). */
  args: (path: (name: string) => string) => string[];
  /** The file the message must name. */
  names: string;
  /** Fragments the one stderr line must contain. */
  expect: (string | RegExp)[];
}

/** The 8-byte prefix claiming a header of `length` bytes, followed by `rest`. */
function withLength(length: bigint, rest: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + rest.length);
  new DataView(out.buffer).setBigUint64(0, length, true);
  out.set(rest, 8);
  return out;
}

const text = (s: string) => new TextEncoder().encode(s);

/** One F32 tensor entry of a hand-written header. */
const f32 = (shape: number[], begin: number, end: number) => ({ dtype: 'F32', shape, data_offsets: [begin, end] });
const header = (entries: Record<string, unknown>) => JSON.stringify(entries);

export interface MlpCheckpointOptions {
  hidden?: number[];
  dataset?: string;
  inputShape?: number[];
  numClasses?: number;
  /** Replaces or removes (undefined) metadata entries. */
  metadata?: Record<string, string | undefined>;
  /** Changes the tensors before encoding. */
  edit?: (tensors: NamedArrays) => void;
  /** The data split recorded (default train 100 / merge 50 / test 50). */
  split?: { train: number; merge: number; test: number };
  /** What the file holds (default a base model); masks record how they were merged. */
  kind?: 'base' | 'alpha';
}

/**
 * A merge-train checkpoint of an MLP on MNIST, as `saveCheckpoint` writes it (no TensorFlow needed):
 * valid unless the options spoil it.
 */
export function mlpCheckpoint(options: MlpCheckpointOptions = {}): Uint8Array {
  const hidden = options.hidden ?? [4];
  const inputShape = options.inputShape ?? [28, 28, 1];
  const numClasses = options.numClasses ?? 10;
  const widths = [inputShape.reduce((a, b) => a * b, 1), ...hidden, numClasses];
  const tensors: NamedArrays = {};
  for (let i = 1; i < widths.length; i++) {
    const [fanIn, fanOut] = [widths[i - 1]!, widths[i]!];
    tensors[`fc${i}.weight`] = { shape: [fanIn, fanOut], data: new Float32Array(fanIn * fanOut).fill(0.01) };
    tensors[`fc${i}.bias`] = { shape: [fanOut], data: new Float32Array(fanOut) };
  }
  options.edit?.(tensors);
  const metadata: Record<string, string | undefined> = {
    format: 'merge-train/2',
    architecture: JSON.stringify({ family: 'mlp', config: { hidden }, inputShape, numClasses }),
    info: JSON.stringify({
      kind: options.kind ?? 'base',
      dataset: options.dataset ?? 'mnist',
      splitSeed: 0,
      split: options.split ?? { train: 100, merge: 50, test: 50 },
      key: `mlp-${hidden.join('-')}`,
      ...(options.kind === 'alpha'
        ? { merge: { method: 'uniform', options: {}, inputs: ['a', 'b'], meanAlpha: 0.5 } }
        : { seed: 0 }),
    }),
    layout: 'dense weights are [in, out]',
    ...options.metadata,
  };
  const defined = Object.fromEntries(Object.entries(metadata).filter((entry): entry is [string, string] => entry[1] !== undefined));
  return encodeSafetensors(tensors, defined);
}

const invalid = 'is not a valid safetensors file: ';
const evalOf = (path: (name: string) => string) => ['eval', path('model.safetensors')];

/** A malformed single file given to `merge-train eval`. */
function bad(title: string, bytes: Uint8Array, expect: (string | RegExp)[]): MalformedCheckpoint {
  return { title, files: { 'model.safetensors': bytes }, args: evalOf, names: 'model.safetensors', expect };
}

const deepJson = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;

export const malformedCheckpoints: MalformedCheckpoint[] = [
  // --- The length prefix --------------------------------------------------------------------
  bad('an empty file', new Uint8Array(0), [`${invalid}it is 0 bytes long; expected at least 8`]),
  bad('shorter than the 8-byte prefix', new Uint8Array([1, 2, 3, 4, 5]), [`${invalid}it is 5 bytes long; expected at least 8`]),
  bad('header length 0', withLength(0n, text('{}')), [`${invalid}header length is 0`]),
  bad('header length past the end of the file', withLength(1000n, text('{}')), [`${invalid}header length 1000 runs past the end of the file (10 bytes); expected at most 2`]),
  bad('header length absurdly large (1 TB)', withLength(1n << 40n, text('{}')), [`${invalid}header length 1099511627776 exceeds the limit of 100000000 bytes`]),
  bad('header length just over the 100 MB limit', withLength(100_000_001n, text('{}')), [`${invalid}header length 100000001 exceeds the limit`]),
  bad('a text file', text('this is not a safetensors file at all'), [invalid]),

  // --- The header ---------------------------------------------------------------------------
  bad('header not UTF-8', withLength(4n, new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), [`${invalid}header is not valid UTF-8`]),
  bad('header not JSON', rawFile('{"a": '), [`${invalid}header is not valid JSON`]),
  bad('header with a byte-order mark', rawFile('\ufeff{}'), [`${invalid}header is not valid JSON`]),
  bad('header a JSON array', rawFile('[1, 2]'), [`${invalid}header must be a JSON object; got [1,2]`]),
  bad('header a JSON string', rawFile('"tensors"'), [`${invalid}header must be a JSON object; got "tensors"`]),
  bad('header nested deeper than the stack', rawFile(deepJson), [`${invalid}header must be a JSON object; got [...]`]),
  bad('a tensor entry that is a number', rawFile(header({ w: 5 })), [`${invalid}tensor "w" is 5; expected an object with dtype, shape and data_offsets`]),
  bad('a tensor without dtype', rawFile(header({ w: { shape: [1], data_offsets: [0, 4] } }), 4), [`${invalid}tensor "w" has no dtype; expected one of BOOL, U8`]),
  bad('a tensor without shape', rawFile(header({ w: { dtype: 'F32', data_offsets: [0, 4] } }), 4), [`${invalid}tensor "w" has no shape; expected an array of non-negative integers`]),
  bad('a tensor without data_offsets', rawFile(header({ w: { dtype: 'F32', shape: [1] } }), 4), [`${invalid}tensor "w" has no data_offsets; expected [begin, end]`]),
  bad('an unknown dtype', rawFile(header({ w: { dtype: 'float32', shape: [1], data_offsets: [0, 4] } }), 4), [`${invalid}tensor "w" has unknown or unsupported dtype "float32"; expected one of`]),
  bad('an FP8 dtype', rawFile(header({ w: { dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] } }), 4), [`${invalid}tensor "w" has unknown or unsupported dtype "F8_E4M3"`]),
  bad('a negative dimension', rawFile(header({ w: f32([-1, 2], 0, 8) }), 8), [`${invalid}tensor "w" has shape [-1,2]; expected an array of non-negative integers`]),
  bad('a fractional dimension', rawFile(header({ w: f32([1.5], 0, 4) }), 4), [`${invalid}tensor "w" has shape [1.5]; expected an array of non-negative integers`]),
  bad('a shape that is a number', rawFile(header({ w: f32(4 as unknown as number[], 0, 16) }), 16), [`${invalid}tensor "w" has shape 4; expected an array`]),
  bad('three data offsets', rawFile(header({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4, 8] } }), 8), [`${invalid}tensor "w" has data_offsets [0,4,8]; expected [begin, end], two non-negative integers`]),
  bad('negative data offsets', rawFile(header({ w: f32([1], -4, 0) }), 4), [`${invalid}tensor "w" has data_offsets [-4,0]; expected [begin, end], two non-negative integers`]),
  bad('data offsets past the end of the file', rawFile(header({ w: f32([4], 0, 16) }), 8), [`${invalid}tensor "w" has data_offsets [0, 16] but the data buffer is only 8 bytes`]),
  bad('reversed data offsets', rawFile(header({ w: f32([1], 8, 4) }), 8), [`${invalid}tensor "w" has data_offsets [8, 4]; begin must not exceed end`]),
  bad('byte length not shape x dtype size', rawFile(header({ w: f32([3], 0, 8) }), 8), [`${invalid}tensor "w" has data_offsets [0, 8] but dtype F32 and shape [3] need 12 bytes`]),
  bad('a shape whose size overflows', rawFile(header({ w: f32([2 ** 40, 2 ** 40], 0, 8) }), 8), [`${invalid}tensor "w" has data_offsets [0, 8] but dtype F32 and shape`]),
  bad('overlapping tensors', rawFile(header({ a: f32([2], 0, 8), b: f32([2], 4, 12) }), 12), [`${invalid}tensor "b" (data_offsets [4, 12]) overlaps tensor "a" (data_offsets [0, 8]); expected disjoint tensors`]),
  bad('a hole between tensors', rawFile(header({ a: f32([1], 0, 4), b: f32([1], 8, 12) }), 12), [`${invalid}bytes [4, 8) of the data buffer are not covered by any tensor`]),
  bad('trailing bytes after the last tensor', rawFile(header({ a: f32([1], 0, 4) }), 12), [`${invalid}bytes [4, 12) at the end of the data buffer are not covered by any tensor`]),
  bad('__metadata__ a string', rawFile(header({ __metadata__: 'mlp' })), [`${invalid}__metadata__ is "mlp"; expected an object mapping strings to strings`]),
  bad('__metadata__ with a number value', rawFile(header({ __metadata__: { epochs: 10 } })), [`${invalid}__metadata__ key "epochs" has value 10; expected an object mapping strings to strings`]),

  // --- Valid safetensors, not a merge-train checkpoint that fits its own metadata ---------------
  bad('safetensors without merge-train metadata', rawFile(header({ w: f32([1], 0, 4) }), 4), ['has no "architecture" metadata: it was not written by merge-train']),
  bad('another format', mlpCheckpoint({ metadata: { format: 'pt' } }), ['metadata "format" is "pt"; expected merge-train/2']),
  bad('architecture metadata not JSON', mlpCheckpoint({ metadata: { architecture: '{mlp' } }), ['metadata "architecture" is not valid JSON']),
  bad('architecture metadata null', mlpCheckpoint({ metadata: { architecture: 'null' } }), ['metadata "architecture": expected object, received null']),
  bad('architecture without an input shape', mlpCheckpoint({ metadata: { architecture: '{"family":"mlp","config":{},"numClasses":10}' } }), ['metadata "architecture".inputShape: expected array, received undefined']),
  bad('an unknown family in the architecture', mlpCheckpoint({ metadata: { architecture: '{"family":"transformer","config":{},"inputShape":[28,28,1],"numClasses":10}' } }), ['metadata "architecture".family: unknown model family "transformer"; valid: mlp, vgg, resnet']),
  bad('a bad config in the architecture', mlpCheckpoint({ metadata: { architecture: '{"family":"mlp","config":{"hidden":[-4]},"inputShape":[28,28,1],"numClasses":10}' } }), ['metadata "architecture": mlp config.hidden.0']),
  bad('a resnet architecture that cannot be built', mlpCheckpoint({ metadata: { architecture: '{"family":"resnet","config":{"blocks":[1,1],"widths":[8]},"inputShape":[28,28,1],"numClasses":10}' } }), ['metadata "architecture": resnet config.widths: expected one width per stage, as many as model.config.blocks (2)']),
  bad('info metadata missing', mlpCheckpoint({ metadata: { info: undefined } }), ['has no "info" metadata']),
  bad('info without a dataset', mlpCheckpoint({ metadata: { info: '{"kind":"base","splitSeed":0}' } }), ['metadata "info".dataset: expected string, received undefined']),
  bad('info with an unknown dataset', mlpCheckpoint({ dataset: 'imagenet' }), ['metadata "info".dataset: unknown dataset "imagenet"; valid: mnist, fashion-mnist, cifar10, cifar100']),
  bad('an architecture that does not fit its dataset', mlpCheckpoint({ dataset: 'cifar10' }), ['metadata "architecture" takes inputs [28,28,1] and 10 classes, but its dataset cifar10 has inputs [32,32,3] and 10 classes']),
  bad('a parameter missing', mlpCheckpoint({ edit: (t) => delete t['fc2.bias'] }), ['parameter fc2.bias is missing (expected shape [10])']),
  bad('an extra parameter', mlpCheckpoint({ edit: (t) => (t['fc3.weight'] = { shape: [1], data: new Float32Array(1) }) }), ['unexpected parameter fc3.weight for a mlp model']),
  bad('a parameter of the wrong shape', mlpCheckpoint({ edit: (t) => (t['fc1.bias'] = { shape: [5], data: new Float32Array(5) }) }), ['parameter fc1.bias has shape [5], expected [4]']),
  bad('integer weights', mlpCheckpoint({ edit: (t) => (t['fc1.bias'] = { shape: [4], data: new Int32Array(4) }) }), ['parameter fc1.bias has an integer or boolean dtype; expected floating-point weights']),

  // --- Numbers that are not numbers ----------------------------------------------------------------
  bad('NaN weights', mlpCheckpoint({ edit: (t) => t['fc1.weight']!.data.fill(NaN, 0, 3) }), ['tensor fc1.weight holds 3 NaN and 0 infinite values; expected finite weights']),
  bad(
    'infinite weights in two tensors',
    mlpCheckpoint({ edit: (t) => [t['fc1.bias']!.data.fill(Infinity, 0, 1), t['fc2.weight']!.data.fill(-Infinity, 0, 2)] }),
    ['tensor fc1.bias holds 0 NaN and 1 infinite values (2 tensors hold such values)'],
  ),
  {
    title: 'NaN weights given to merge',
    files: { 'a.safetensors': mlpCheckpoint(), 'b.safetensors': mlpCheckpoint({ edit: (t) => t['fc2.bias']!.data.fill(NaN) }) },
    args: (path) => ['merge', path('a.safetensors'), path('b.safetensors'), '--alpha', 'uniform', '--out', path('out.safetensors')],
    names: 'b.safetensors',
    expect: ['tensor fc2.bias holds 10 NaN'],
  },
  {
    title: 'NaN weights given to align',
    files: { 'a.safetensors': mlpCheckpoint({ edit: (t) => t['fc1.weight']!.data.fill(NaN) }), 'b.safetensors': mlpCheckpoint() },
    args: (path) => ['align', path('a.safetensors'), path('b.safetensors'), '--method', 'cca', '--out', path('out.safetensors')],
    names: 'a.safetensors',
    expect: ['tensor fc1.weight holds 3136 NaN'],
  },

  // --- Not a file -------------------------------------------------------------------------------
  { title: 'a checkpoint that does not exist', files: {}, args: evalOf, names: 'model.safetensors', expect: ['cannot read', 'no such file'] },
  { title: 'a directory', files: { 'model.safetensors': null }, args: evalOf, names: 'model.safetensors', expect: ['cannot read', 'it is a directory'] },

  // --- Checkpoints that do not go together --------------------------------------------------------
  {
    title: 'eval of two architectures',
    files: { 'a.safetensors': mlpCheckpoint({ hidden: [4] }), 'b.safetensors': mlpCheckpoint({ hidden: [6] }) },
    args: (path) => ['eval', path('a.safetensors'), path('b.safetensors')],
    names: 'b.safetensors',
    expect: ['have different architectures (mlp {"hidden":[4]} vs {"hidden":[6]}; parameter fc1.weight is [784,4] vs [784,6])', 'expected checkpoints of one architecture'],
  },
  {
    title: 'align of two architectures',
    files: { 'a.safetensors': mlpCheckpoint({ hidden: [4] }), 'b.safetensors': mlpCheckpoint({ hidden: [4, 4] }) },
    args: (path) => ['align', path('a.safetensors'), path('b.safetensors'), '--method', 'cca', '--out', path('out.safetensors')],
    names: 'a.safetensors',
    expect: ['have different architectures (mlp {"hidden":[4]} vs {"hidden":[4,4]}; parameter fc2.weight is [4,10] vs [4,4])'],
  },
  {
    title: 'merge of two architectures',
    files: { 'a.safetensors': mlpCheckpoint({ hidden: [4] }), 'b.safetensors': mlpCheckpoint({ hidden: [5] }) },
    args: (path) => ['merge', path('a.safetensors'), path('b.safetensors'), '--alpha', 'uniform', '--out', path('out.safetensors')],
    names: 'b.safetensors',
    expect: ['parameter fc1.weight is [784,4] vs [784,5]'],
  },
  {
    title: "merge with a B' aligned to another model",
    files: {
      'a.safetensors': mlpCheckpoint(),
      'b.safetensors': mlpCheckpoint({
        metadata: {
          info: JSON.stringify({ kind: 'aligned', dataset: 'mnist', splitSeed: 0, split: { train: 100, merge: 50, test: 50 }, key: 'b-aligned', align: { method: 'cca', options: { gamma: 1 } }, inputs: ['another-model', 'b'] }),
        },
      }),
    },
    args: (path) => ['merge', path('a.safetensors'), path('b.safetensors'), '--alpha', 'uniform', '--out', path('out.safetensors')],
    names: 'b.safetensors',
    expect: ['was aligned to another model than', 'align it to', 'first (merge-train align)'],
  },
  {
    title: 'eval of checkpoints of one dataset and seed but other split sizes',
    files: { 'a.safetensors': mlpCheckpoint(), 'b.safetensors': mlpCheckpoint({ split: { train: 100, merge: 60, test: 40 } }) },
    args: (path) => ['eval', path('a.safetensors'), path('b.safetensors')],
    names: 'b.safetensors',
    expect: ['come from different data splits (merge 50 vs 60, test 50 vs 40)'],
  },
  {
    title: 'alpha masks given as a model',
    files: { 'alpha.safetensors': mlpCheckpoint({ kind: 'alpha' }) },
    args: (path) => ['eval', path('alpha.safetensors')],
    names: 'alpha.safetensors',
    expect: ['holds alpha masks; expected a base model or an aligned model or a merged model'],
  },
  {
    title: 'align of checkpoints from different datasets',
    files: { 'a.safetensors': mlpCheckpoint(), 'b.safetensors': mlpCheckpoint({ dataset: 'fashion-mnist' }) },
    args: (path) => ['align', path('a.safetensors'), path('b.safetensors'), '--method', 'cca', '--out', path('out.safetensors')],
    names: 'b.safetensors',
    expect: ['come from different data splits (dataset mnist vs fashion-mnist)'],
  },
  {
    title: 'align with a malformed second checkpoint',
    files: { 'a.safetensors': mlpCheckpoint(), 'b.safetensors': rawFile('{"w": ') },
    args: (path) => ['align', path('a.safetensors'), path('b.safetensors'), '--method', 'cca', '--out', path('out.safetensors')],
    names: 'b.safetensors',
    expect: [`${invalid}header is not valid JSON`],
  },
];
