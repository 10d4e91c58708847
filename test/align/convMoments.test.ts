import * as tf from '@tensorflow/tfjs-core';
import { Matrix } from 'ml-matrix';
import { beforeAll, describe, expect, it } from 'vitest';
import { collectSpaceMoments } from '../../src/align/moments.js';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { TensorSet } from '../../src/data/batches.js';
import { families } from '../../src/nn/families.js';
import { disposeParams, initParams } from '../../src/nn/init.js';
import type { ModelSpec, ParamMap } from '../../src/nn/spec.js';
import { momentsOf, normalInputs, relativeError } from '../nn/helpers.js';

/** Every probed row of `space` for all of `x` at once (positions and repeated probes included). */
function probedRows(spec: ModelSpec, params: ParamMap, x: tf.Tensor, space: string): Matrix {
  const rows: number[][] = [];
  tf.tidy(() => {
    spec.forward(params, x, {
      probe: (name, value) => {
        if (name === space) rows.push(...(value.arraySync() as number[][]));
      },
    });
  });
  return new Matrix(rows);
}

describe('moments of convolutional and residual spaces', () => {
  beforeAll(async () => {
    await selectBackend('wasm');
  });

  for (const [family, config] of [
    ['vgg', { layout: [6, 'M', 5], batchNorm: true }],
    ['resnet', { blocks: [2, 1], widths: [4, 6] }],
  ] as const) {
    it(`${family}: every position (and every probe of a shared stream) is a sample`, () => {
      const entry = families.get(family);
      const spec = entry.build(entry.configSchema.parse(config), [6, 6, 2], 3);
      const [a, b] = [initParams(spec, 1), initParams(spec, 2)];
      const count = 40;
      const x = normalInputs(count * 72, 1, 9);
      const set = new TensorSet({ x, y: new Int32Array(count), count }, [6, 6, 2]);
      const moments = collectSpaceMoments(spec, a, b, set, 16);
      const input = tf.tensor4d(x, [count, 6, 6, 2]);
      for (const m of moments) {
        const reference = momentsOf(m.space, probedRows(spec, a, input, m.space), probedRows(spec, b, input, m.space));
        expect(m.count).toBe(reference.count);
        expect(relativeError(m.meanA, reference.meanA)).toBeLessThan(1e-4);
        expect(relativeError(m.covAA, reference.covAA)).toBeLessThan(1e-3);
        expect(relativeError(m.covAB, reference.covAB)).toBeLessThan(1e-3);
      }
      // the residual stream of stage 1 is read after the stem and after both of its blocks
      if (family === 'resnet') expect(moments.find((m) => m.space === 'stage1')!.count).toBe(count * 36 * 3);
      input.dispose();
      set.dispose();
      [a, b].forEach(disposeParams);
    });
  }
});
