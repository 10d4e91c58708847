import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { aligners } from '../src/align/aligners.js';
import { collectSpaceMoments } from '../src/align/moments.js';
import { applyTransforms } from '../src/align/transform.js';
import { selectBackend } from '../src/backend/selectBackend.js';
import { TensorSet } from '../src/data/batches.js';
import type { LabelledSet } from '../src/data/dataset.js';
import { evaluateEnsemble, evaluateModel } from '../src/eval/evaluate.js';
import { mergers } from '../src/merge/mergers.js';
import { diagonalFisher } from '../src/merge/fisher.js';
import { mergeParams } from '../src/merge/mergeParams.js';
import { disposeParams, initParams } from '../src/nn/init.js';
import { mlpSpec } from '../src/nn/mlp.js';
import type { ParamMap } from '../src/nn/spec.js';
import { trainModel } from '../src/train/trainModel.js';
import { createRng } from '../src/util/random.js';

/** Every stage returns the tensors it promises and nothing else: the live count comes back. */
describe('no stage leaks tensors', () => {
  const spec = mlpSpec({ hidden: [12, 10] }, [20], 4);
  let data: TensorSet;
  let labelled: LabelledSet;

  beforeAll(async () => {
    await selectBackend('wasm');
    const rng = createRng(7);
    const count = 200;
    const x = Float32Array.from({ length: count * 20 }, () => rng());
    const y = Int32Array.from({ length: count }, (_, i) => i % 4);
    labelled = { x, y, count };
    data = new TensorSet(labelled, [20]);
  });

  /** Runs `stage`, disposes what it returns, and checks the live tensor count is unchanged. */
  async function expectNoLeak(stage: () => ParamMap[] | void | Promise<ParamMap[] | void>): Promise<void> {
    const before = tf.memory().numTensors;
    const outputs = (await stage()) ?? [];
    outputs.forEach(disposeParams);
    expect(tf.memory().numTensors).toBe(before);
  }

  it('across 208 training steps, alignment, Fisher, every merger of two and three models, merging and evaluation', async () => {
    let a: ParamMap = {};
    let b: ParamMap = {};
    const options = { epochs: 16, batchSize: 16, optimizer: 'sgd' as const, learningRate: 0.05, momentum: 0.9, seed: 1 };
    const before = tf.memory().numTensors;
    const init = initParams(spec, 1);
    a = (await trainModel(spec, init, data, options)).params; // 16 epochs x 13 steps = 208 steps
    disposeParams(init);
    // Only the trained parameters stay alive.
    expect(tf.memory().numTensors - before).toBe(Object.keys(spec.params).length);
    b = initParams(spec, 2);
    let moments: ReturnType<typeof collectSpaceMoments> = [];
    await expectNoLeak(() => {
      moments = collectSpaceMoments(spec, a, b, data, 32);
    });
    for (const method of aligners.names()) {
      await expectNoLeak(() => [applyTransforms(spec, b, aligners.get(method).align({ spec, paramsA: a, paramsB: b, moments }, { gamma: 1e-3 }).transforms)]);
    }
    await expectNoLeak(() => [diagonalFisher(spec, a, data, 'expected'), diagonalFisher(spec, a, data, 'empirical')]);
    // The Fisher information is cached by the caller across merges; computed once here.
    const c = initParams(spec, 3);
    const fisherCache = new Map<ParamMap, ParamMap>([a, b, c].map((p) => [p, diagonalFisher(spec, p, data, 'expected')]));
    // Two models, and three (N-way weights).
    for (const models of [[a, b], [a, b, c]]) {
      for (const merger of mergers.list()) {
        await expectNoLeak(async () => {
          const { masks } = await merger.masks(
            { spec, models, fisherOf: (p) => fisherCache.get(p)!, merge: labelled, inputShape: [20], seed: 0 },
            { init: 'fisher', fisherMode: 'expected', steps: models.length === 2 ? 200 : 20, batchSize: 16, learningRate: 0.01, validationFraction: 0.25, evalEvery: 10 },
          );
          return masks;
        });
      }
    }
    fisherCache.forEach(disposeParams);
    disposeParams(c);
    await expectNoLeak(() => {
      const merged = mergeParams(a, b, 0.3);
      evaluateModel(spec, merged, data);
      evaluateEnsemble(spec, [a, b], data);
      return [merged];
    });
    disposeParams(a);
    disposeParams(b);
    expect(tf.memory().numTensors).toBe(before);
  });
});
