import * as tf from '@tensorflow/tfjs-core';
import { slice_util } from '@tensorflow/tfjs-core';
import { wasmKernelOverride } from './wasmKernelOverride.js';

/**
 * Slice of a contiguous range (whole rows of a batch: how data sets are cut into batches) for the
 * 'wasm' backend, copied from a view of the heap. The backend's kernel first reads the whole input out
 * of the heap (readSync copies it), so cutting a batch cost as much as copying the whole data set.
 * Strided slices and strings keep the backend's kernel.
 */
export function wasmSliceConfig(): tf.KernelConfig | undefined {
  return wasmKernelOverride('Slice', (args, backend) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { begin, size } = args.attrs as unknown as { begin: number | number[]; size: number | number[] };
    if (x.dtype === 'string') return undefined;
    const [start, extent] = slice_util.parseSliceParams(x as tf.Tensor, begin, size) as [number[], number[]];
    if (!slice_util.isSliceContinous(x.shape, start, extent)) return undefined;
    const offset = slice_util.computeFlatOffset(start, tf.util.computeStrides(x.shape));
    const out = backend.makeOutput(extent, x.dtype);
    const source = backend.typedArrayFromHeap(x);
    backend.typedArrayFromHeap(out).set(source.subarray(offset, offset + tf.util.sizeFromShape(extent)));
    return out;
  });
}
