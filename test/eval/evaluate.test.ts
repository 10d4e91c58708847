import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { TensorSet } from '../../src/data/batches.js';
import { evaluateEnsemble, evaluateLogits, evaluateModel, evaluateModels, type Evaluation } from '../../src/eval/evaluate.js';
import { contiguousBatch, EVALUATION_MEMORY_MIB, evaluationBatchSize, MEASURED_BATCH } from '../../src/eval/evaluationBatches.js';
import { inferenceForm } from '../../src/eval/inferenceForm.js';
import { families } from '../../src/nn/families.js';
import { disposeParams } from '../../src/nn/init.js';
import { countCorrect, crossEntropy } from '../../src/nn/loss.js';
import type { ModelSpec, ParamMap } from '../../src/nn/spec.js';
import { InputError } from '../../src/util/errors.js';
import { randomParams, randomSet } from '../nn/helpers.js';

function buildSpec(family: string, config: Record<string, unknown>, inputShape: number[], numClasses: number): ModelSpec {
  const entry = families.get(family);
  return entry.build(entry.configSchema.parse(config), inputShape, numClasses);
}

/** The definition: mean cross-entropy and accuracy of the unfolded forward pass's logits over the whole set at once. */
function reference(logitsOf: (x: tf.Tensor) => tf.Tensor2D, data: TensorSet): Evaluation {
  return tf.tidy(() => {
    const logits = logitsOf(data.x);
    return { loss: crossEntropy(logits, data.y).dataSync()[0]!, accuracy: countCorrect(logits, data.y).dataSync()[0]! / data.count };
  });
}

function expectClose(actual: Evaluation, expected: Evaluation): void {
  expect(actual.accuracy).toBe(expected.accuracy);
  expect(Math.abs(actual.loss - expected.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(expected.loss)));
}

const liveData = () => [tf.memory().numTensors, tf.backend().numDataIds()];

/** The batches a pass cut: each is two row gathers (its examples and their labels). */
async function batchesCut(work: () => unknown): Promise<{ batches: number; peakBytes: number; startBytes: number }> {
  const startBytes = tf.memory().numBytes;
  const info = await tf.profile(() => {
    work();
  });
  return { batches: info.kernels.filter((k) => k.name === 'GatherV2').length / 2, peakBytes: info.peakBytes, startBytes };
}

describe('evaluationBatchSize', () => {
  it('is the largest batch within the budget, at least one example and at most the ones remaining', () => {
    expect(evaluationBatchSize(1000, 10_000, 50)).toBe(10);
    expect(evaluationBatchSize(1000, 10_999, 50)).toBe(10);
    expect(evaluationBatchSize(1000, 10_000, 7)).toBe(7);
    expect(evaluationBatchSize(1000, 999, 50)).toBe(1);
    expect(evaluationBatchSize(0.5, 2 ** 20, 3)).toBe(3);
  });

  it('refuses sizes that make no batch, with a one-line message', () => {
    expect(() => evaluationBatchSize(0, 100, 5)).toThrow(InputError);
    expect(() => evaluationBatchSize(10, 100, 0)).toThrow(/0 examples remaining; expected a positive integer/);
    expect(() => evaluationBatchSize(10, -1, 5)).toThrow(/must be positive/);
  });
});

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`evaluation on ${backend}`, () => {
    const vgg = buildSpec('vgg', { layout: [4, 'M', 6, 'M', 8], batchNorm: true }, [8, 8, 2], 5);
    const mlp = buildSpec('mlp', { hidden: [24, 16] }, [10], 5);
    let data: TensorSet;
    let mlpData: TensorSet;
    let members: ParamMap[];

    beforeAll(async () => {
      await selectBackend(backend);
      data = new TensorSet(randomSet(150, [8, 8, 2], 5, 1), [8, 8, 2]);
      mlpData = new TensorSet(randomSet(300, [10], 5, 2), [10]);
      members = [3, 4, 5].map((seed) => randomParams(vgg, seed));
    });
    afterAll(() => {
      members.forEach(disposeParams);
      [data, mlpData].forEach((set) => set.dispose());
    });

    it('evaluateModel scores what the unfolded forward pass scores (BatchNorm folded, batches past the measured one)', () => {
      for (const params of members) expectClose(evaluateModel(vgg, params, data), reference((x) => vgg.forward(params, x), data));
    });

    it('evaluateModels scores each model and the ensemble in one pass, each exactly as evaluated alone', async () => {
      const before = liveData();
      const together = evaluateModels(vgg, members, data, { ensemble: true });
      expect(together.models).toHaveLength(members.length);
      members.forEach((params, i) => expect(together.models[i]).toEqual(evaluateModel(vgg, params, data)));
      expect(together.ensemble).toEqual(evaluateEnsemble(vgg, members, data));
      const mean = (x: tf.Tensor) => tf.mean(tf.stack(members.map((p) => vgg.forward(p, x))), 0) as tf.Tensor2D;
      expectClose(together.ensemble!, reference(mean, data));
      expect(evaluateModels(vgg, members, data, { models: false, ensemble: true })).toEqual({ models: [], ensemble: together.ensemble });
      expect(evaluateModels(vgg, members, data)).toEqual({ models: together.models });
      expect(evaluateModels(vgg, [], data, { ensemble: true })).toEqual({ models: [] });
      expect(liveData()).toEqual(before);
      // One pass: the set is cut into batches once for all three models and the ensemble.
      const alone = await batchesCut(() => evaluateModel(vgg, members[0]!, data));
      const all = await batchesCut(() => evaluateModels(vgg, members, data, { ensemble: true }));
      expect(all.batches).toBe(alone.batches);
    });

    it('sizes batches by the memory budget: a measured first batch, then the largest that fit', async () => {
      const params = randomParams(mlp, 9);
      const expected = evaluateModel(mlp, params, mlpData);
      expectClose(expected, reference((x) => mlp.forward(params, x), mlpData));
      // What an example takes, measured as the pass measures it: one forward pass's tensors, the input and the label.
      const probe = contiguousBatch(mlpData, 0, 10);
      const form = inferenceForm(mlp, [params]);
      const activations = tf.tidy(() => {
        const before = tf.memory().numBytes;
        form.spec.forward(form.members[0]!, probe.x);
        return (tf.memory().numBytes - before) / 10;
      });
      form.dispose();
      tf.dispose([probe.x, probe.y]);
      const perExample = activations + 4 * (10 + 1);
      expect(activations).toBeGreaterThanOrEqual(4 * (24 + 16 + 5)); // at least every layer's output
      for (const examples of [3, 25, 100]) {
        const memoryMiB = (examples * perExample) / 2 ** 20;
        const before = liveData();
        let result: Evaluation | undefined;
        const cut = await batchesCut(() => (result = evaluateModels(mlp, [params], mlpData, { memoryMiB }).models[0]));
        expect(cut.batches).toBe(1 + Math.ceil((mlpData.count - MEASURED_BATCH) / examples));
        // The pass stays within the budget, past the folded parameters and a batch's scores.
        expect(cut.peakBytes - cut.startBytes).toBeLessThanOrEqual(Math.max(examples, MEASURED_BATCH) * perExample + 4096);
        expect(result!.accuracy).toBe(expected.accuracy);
        expect(Math.abs(result!.loss - expected.loss)).toBeLessThan(1e-5);
        expect(liveData()).toEqual(before);
      }
      // The default budget takes the whole rest of a small set in one batch.
      expect(EVALUATION_MEMORY_MIB * 2 ** 20).toBeGreaterThan(mlpData.count * perExample);
      expect((await batchesCut(() => evaluateModel(mlp, params, mlpData))).batches).toBe(2);
      disposeParams(params);
    });

    it('evaluateLogits keeps fixed batches and its own logits, and frees everything when the logits fail', () => {
      const params = members[0]!;
      const before = liveData();
      for (const batchSize of [1000, 64, 7]) expectClose(evaluateLogits((x) => vgg.forward(params, x), data, batchSize), reference((x) => vgg.forward(params, x), data));
      expect(liveData()).toEqual(before);
      let calls = 0;
      const failing = (x: tf.Tensor) => {
        if (++calls === 3) throw new Error('logits failed');
        return vgg.forward(params, x);
      };
      expect(() => evaluateLogits(failing, data, 40)).toThrow('logits failed');
      expect(liveData()).toEqual(before);
      expect(() => evaluateLogits((x) => vgg.forward(params, x), data, 0)).toThrow(/batch size must be a positive integer; got 0/);
    });

    it('scores NaN on an empty set, and refuses an ensemble of no models', () => {
      const empty = new TensorSet({ x: new Float32Array(0), y: new Int32Array(0), count: 0 }, [8, 8, 2]);
      const before = liveData();
      const scored = evaluateModel(vgg, members[0]!, empty);
      expect(Number.isNaN(scored.accuracy) && Number.isNaN(scored.loss)).toBe(true);
      expect(() => evaluateEnsemble(vgg, [], data)).toThrow('evaluateEnsemble: an ensemble needs at least one model');
      expect(liveData()).toEqual(before);
      empty.dispose();
    });

    it('cuts contiguous batches, refusing ranges outside the set', () => {
      const batch = contiguousBatch(mlpData, 290, 10);
      expect(batch.x.shape).toEqual([10, 10]);
      const expected = tf.tidy(() => [tf.slice(mlpData.x, [290, 0], [10, 10]), tf.slice(mlpData.y, [290], [10])]);
      expect(Array.from(batch.x.dataSync())).toEqual(Array.from(expected[0]!.dataSync()));
      expect(Array.from(batch.y.dataSync())).toEqual(Array.from(expected[1]!.dataSync()));
      tf.dispose([batch.x, batch.y, ...expected]);
      expect(() => contiguousBatch(mlpData, 295, 10)).toThrow('cannot cut examples [295, 305) from a set of 300');
      expect(() => contiguousBatch(mlpData, 0, 0)).toThrow(InputError);
    });
  });
}
