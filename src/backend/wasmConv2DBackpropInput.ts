import * as tf from '@tensorflow/tfjs-core';
import { passJobs, runClaimedJobs } from './heapClaimedJobs.js';
import { heapOffset, type WasmHeapBackend } from './heapKernels.js';
import { checkNhwcFloat32, conv2DGradientInfo, type Conv2DGradientAttrs } from './wasmConv2DGradient.js';
import { wasmKernelCalls } from './wasmKernelCalls.js';

type Conv2DBackpropInputAttrs = Conv2DGradientAttrs & { inputShape: [number, number, number, number] };

/** How one phase r (positions u = h + top with u mod stride = r) of one spatial axis is computed. */
interface AxisPhase {
  /** Filter taps of this phase: r, r + stride, ...; 0 when r >= filter size (that phase of dx is zero). */
  taps: number;
  /** Where the phase's taps start in the reversed filter, which lists taps k-1, k-2, ..., 0. */
  reversedBegin: number;
  /** Padding of dy before / after for the 'valid' correlation; negative means crop. */
  before: number;
  after: number;
}

/** Per spatial axis: q runs over [q0, q0 + count) in every phase, covering u in [top, top + size). */
function axisPlan(size: number, outSize: number, filter: number, stride: number, top: number) {
  const q0 = Math.floor(top / stride);
  const count = Math.ceil((top + size) / stride) - q0;
  const phases: AxisPhase[] = [];
  for (let r = 0; r < stride; r++) {
    const taps = r < filter ? Math.ceil((filter - r) / stride) : 0;
    // dxPhase[q0 + k] = sum_t' dy[q0 + k - taps + 1 + t'] * flipped[t']  =>  dy padded by taps-1-q0 in front.
    phases.push({ taps, reversedBegin: filter - 1 - r - stride * (taps - 1), before: taps - 1 - q0, after: q0 + count - outSize });
  }
  return { q0, count, phases, crop: top - q0 * stride };
}

/** Where the phases of a strided input gradient go in dx: see interleavePhases. */
export interface PhaseLayout {
  strides: [number, number];
  /** Each phase's rows and columns (every phase has the same shape, [N, phaseRows, phaseColumns, C]). */
  phaseRows: number;
  phaseColumns: number;
  /** dx's first row and column sit at these positions of the interleaved phases. */
  crop: [number, number];
}

/** Phase rows a thread claims at a time: a few thousand floats of dx. */
const PHASE_FLOATS_PER_CLAIM = 4096;

/**
 * dx (float32, NHWC `dxShape`) from the phases of a strided input gradient: `pieces[r * sw + c]`
 * (undefined: zeros) holds, at [n, k, k', ch], dx[n, k sh + r - cropH, k' sw + c - cropW, ch], and
 * positions outside dx are dropped. Written in one pass on the heap threads (heapKernels'
 * interleavePhases, phase rows shared out by a counter); `jobs` (tests) fixes the job count.
 */
export function interleavePhases(
  backend: WasmHeapBackend,
  pieces: readonly (tf.TensorInfo | undefined)[],
  dxShape: [number, number, number, number],
  layout: PhaseLayout,
  jobs?: number,
): tf.TensorInfo {
  const [batch, height, width, channels] = dxShape;
  const { strides, phaseRows, phaseColumns, crop } = layout;
  if (pieces.length !== strides[0] * strides[1]) throw new Error(`interleavePhases: ${pieces.length} pieces for strides [${strides}]`);
  for (const piece of pieces) {
    if (piece && piece.shape.join() !== [batch, phaseRows, phaseColumns, channels].join()) {
      throw new Error(`interleavePhases: a piece has shape [${piece.shape}], expected [${[batch, phaseRows, phaseColumns, channels]}]`);
    }
  }
  const dx = backend.makeOutput(dxShape, 'float32');
  const size = tf.util.sizeFromShape(dxShape);
  if (size === 0) return dx;
  const chunk = Math.max(1, Math.ceil(PHASE_FLOATS_PER_CLAIM / (phaseColumns * channels)));
  const desc = backend.makeOutput([12 + pieces.length], 'int32');
  try {
    (backend.typedArrayFromHeap(desc) as Int32Array).set([
      pieces.length, batch, phaseRows, phaseColumns, channels, height, width, strides[0], strides[1], crop[0], crop[1], chunk,
      ...pieces.map((piece) => (piece ? heapOffset(backend, piece) : 0)),
    ]);
    runClaimedJobs(backend, 'interleavePhases', (counter) => [heapOffset(backend, dx), heapOffset(backend, desc), counter], passJobs(backend, size, jobs));
  } finally {
    (backend as unknown as tf.KernelBackend).disposeData(desc.dataId);
  }
  return dx;
}

/**
 * Conv2DBackpropInput for the 'wasm' backend. tfjs-backend-wasm 4.22 has one, but it is a plain loop,
 * 5-15x slower than its (XNNPACK) forward Conv2D (~2 s against 0.15 s for N=128, 28x28, 32 -> 64
 * channels, 3x3 'same', one core). This one is made of forward Conv2Ds: for stride 1 the input
 * gradient is dy convolved with the filter rotated by 180 degrees with its channel axes swapped
 * ([KH, KW, Cout, Cin]) under the padding that lines the taps up again. For stride s it is split into
 * s*s phases (sub-pixel convolution): the rows/columns u = h + top with u mod s = r only see the taps
 * r, r + s, ..., so each phase is a stride-1 Conv2D of dy with that sub-filter, and the phases are
 * written straight into their places in dx (interleavePhases), on the heap threads. No multiply is
 * wasted on inserted zeros, and dx is written once.
 */
export function wasmConv2DBackpropInputConfig(): tf.KernelConfig | undefined {
  const kernels = wasmKernelCalls(['Conv2D', 'Transpose', 'Reverse', 'StridedSlice', 'Slice']);
  if (!kernels) return undefined;
  return {
    kernelName: 'Conv2DBackpropInput',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
      const convAttrs = attrs as unknown as Conv2DBackpropInputAttrs;
      checkNhwcFloat32('Conv2DBackpropInput', convAttrs.dataFormat, [dy, filter]);
      const info = conv2DGradientInfo('Conv2DBackpropInput', convAttrs, convAttrs.inputShape, filter.shape as [number, number, number, number], dy);
      const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, strideHeight, strideWidth, filterHeight, filterWidth } = info;
      const { call, free } = kernels(backend);
      const heapBackend = backend as unknown as WasmHeapBackend;
      const rows = axisPlan(inHeight, outHeight, filterHeight, strideHeight, info.padInfo.top);
      const cols = axisPlan(inWidth, outWidth, filterWidth, strideWidth, info.padInfo.left);

      // The filter rotated by 180 degrees with its channel axes swapped: [KH, KW, Cout, Cin].
      const reversed = call('Reverse', { x: filter }, { dims: [0, 1] });
      const rotated = call('Transpose', { x: reversed }, { perm: [0, 1, 3, 2] });
      free(reversed);

      const phase = (r: AxisPhase, c: AxisPhase): tf.TensorInfo => {
        const whole = r.taps === filterHeight && c.taps === filterWidth;
        const subFilter = whole
          ? rotated
          : call('StridedSlice', { x: rotated }, {
              begin: [r.reversedBegin, c.reversedBegin, 0, 0],
              end: [r.reversedBegin + strideHeight * (r.taps - 1) + 1, c.reversedBegin + strideWidth * (c.taps - 1) + 1, outChannels, inChannels],
              strides: [strideHeight, strideWidth, 1, 1],
              beginMask: 0,
              endMask: 0,
              ellipsisMask: 0,
              newAxisMask: 0,
              shrinkAxisMask: 0,
            });
        const crop = r.before < 0 || c.before < 0 || r.after < 0 || c.after < 0;
        const rowBegin = Math.max(-r.before, 0);
        const colBegin = Math.max(-c.before, 0);
        const source = crop
          ? call('Slice', { x: dy }, {
              begin: [0, rowBegin, colBegin, 0],
              size: [batchSize, outHeight + Math.min(r.after, 0) - rowBegin, outWidth + Math.min(c.after, 0) - colBegin, outChannels],
            })
          : dy;
        const out = call(
          'Conv2D',
          { x: source, filter: subFilter },
          {
            strides: 1,
            pad: [[0, 0], [Math.max(r.before, 0), Math.max(r.after, 0)], [Math.max(c.before, 0), Math.max(c.after, 0)], [0, 0]],
            dataFormat: 'NHWC',
            dilations: 1,
          },
        );
        if (source !== dy) free(source);
        if (subFilter !== rotated) free(subFilter);
        return out;
      };

      try {
        // stride 1: the one phase is dx (q0 = top and count = size on both axes: nothing to crop)
        if (strideHeight === 1 && strideWidth === 1) return phase(rows.phases[0]!, cols.phases[0]!);
        // The phases' pieces go straight to their places in dx (a phase with no taps: zeros).
        const pieces: (tf.TensorInfo | undefined)[] = [];
        try {
          for (const r of rows.phases) for (const c of cols.phases) pieces.push(r.taps === 0 || c.taps === 0 ? undefined : phase(r, c));
          return interleavePhases(heapBackend, pieces, [batchSize, inHeight, inWidth, inChannels], {
            strides: [strideHeight, strideWidth],
            phaseRows: rows.count,
            phaseColumns: cols.count,
            crop: [rows.crop, cols.crop],
          });
        } finally {
          for (const piece of pieces) if (piece) free(piece);
        }
      } finally {
        free(rotated);
      }
    },
  };
}
