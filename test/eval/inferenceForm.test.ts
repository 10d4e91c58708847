import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { foldsForInference, inferenceForm } from '../../src/eval/inferenceForm.js';
import { families } from '../../src/nn/families.js';
import { disposeParams } from '../../src/nn/init.js';
import { layersFamily } from '../../src/nn/layersGraph.js';
import { hasBatchNorm } from '../../src/nn/resetBatchNorm.js';
import type { ModelSpec, ParamMap } from '../../src/nn/spec.js';
import { normalInputs, randomParams } from '../nn/helpers.js';
import { artifactsOf, convNet, residualNet, sequentialMlp, weightsOf } from '../nn/tfjsModels.js';

/** A model to fold: its spec and parameters (BatchNorm statistics far from identity), and whether it has BatchNorm to fold. */
interface Case {
  name: string;
  make: () => Promise<{ spec: ModelSpec; params: ParamMap }>;
  folds: boolean;
}

const built = (family: string, config: Record<string, unknown>, inputShape: number[], numClasses: number) => async () => {
  const entry = families.get(family);
  const spec = entry.build(entry.configSchema.parse(config), inputShape, numClasses);
  return { spec, params: randomParams(spec, 7) };
};

const keras = (make: (seed: number) => Parameters<typeof artifactsOf>[0], inputShape: number[], numClasses: number) => async () => {
  const model = make(3);
  const artifacts = await artifactsOf(model);
  model.dispose();
  return { spec: layersFamily.build(artifacts.modelTopology as Record<string, unknown>, inputShape, numClasses), params: weightsOf(artifacts) };
};

const cases: Case[] = [
  { name: 'MLP (no BatchNorm)', make: built('mlp', { hidden: [16, 8] }, [6], 4), folds: false },
  { name: 'VGG with BatchNorm', make: built('vgg', { layout: [4, 'M', 6, 'M', 8], batchNorm: true }, [8, 8, 2], 5), folds: true },
  { name: 'VGG without BatchNorm', make: built('vgg', { layout: [4, 'M', 6], batchNorm: false }, [8, 8, 2], 5), folds: false },
  { name: 'ResNet', make: built('resnet', { blocks: [1, 1], widths: [4, 6] }, [8, 8, 2], 5), folds: true },
  { name: 'ResNet, symmetric padding', make: built('resnet', { blocks: [2, 1], widths: [4, 6], padding: 'symmetric' }, [9, 9, 2], 5), folds: true },
  { name: 'Keras conv net with BatchNorm (layers family)', make: keras(convNet, [8, 8, 3], 4), folds: true },
  { name: 'Keras residual net (layers family)', make: keras(residualNet, [8, 8, 3], 5), folds: true },
  { name: 'Keras MLP (layers family, nothing to fold)', make: keras(sequentialMlp, [4, 5], 3), folds: false },
];

/** Largest |a - b| relative to the largest |b|. */
function relativeDifference(a: tf.Tensor, b: tf.Tensor): number {
  const [x, y] = [a.dataSync(), b.dataSync()];
  let difference = 0;
  let scale = 0;
  for (let i = 0; i < y.length; i++) {
    difference = Math.max(difference, Math.abs(x[i]! - y[i]!));
    scale = Math.max(scale, Math.abs(y[i]!));
  }
  return difference / scale;
}

const liveData = () => [tf.memory().numTensors, tf.backend().numDataIds()];

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`inferenceForm on ${backend}`, () => {
    beforeAll(async () => {
      await selectBackend(backend);
    });
    afterAll(() => tf.disposeVariables());

    for (const { name, make, folds } of cases) {
      it(`${name}: ${folds ? 'BatchNorm folded, the same logits up to rounding' : 'left as it is'}`, async () => {
        const { spec, params } = await make();
        const other = tf.tidy(() => Object.fromEntries(Object.entries(params).map(([n, p]) => [n, tf.mul(p, 0.9)])));
        const x = tf.tensor(normalInputs(12, spec.inputShape.reduce((a, b) => a * b, 1), 5), [12, ...spec.inputShape]);
        const before = liveData();
        const form = inferenceForm(spec, [params, other]);
        expect(form.folded).toBe(folds);
        expect(foldsForInference(spec)).toBe(folds);
        if (folds) {
          expect(hasBatchNorm(form.spec)).toBe(false);
          expect(form.members.every((m, i) => m !== [params, other][i])).toBe(true);
        } else {
          expect(form.spec).toBe(spec);
          expect(form.members[0]).toBe(params);
          expect(form.members[1]).toBe(other);
        }
        [params, other].forEach((member, i) => {
          const [reference, folded] = tf.tidy(() => [spec.forward(member, x), form.spec.forward(form.members[i]!, x)]);
          expect(folded.shape).toEqual([12, spec.numClasses]);
          expect(relativeDifference(folded, reference)).toBeLessThan(2e-5);
          tf.dispose([reference, folded]);
        });
        form.dispose();
        expect(liveData()).toEqual(before);
        // The caller's parameters are still there.
        expect(Object.values(params).every((p) => !p.isDisposed)).toBe(true);
        tf.dispose(x);
        [params, other].forEach(disposeParams);
      });
    }

    it('leaves a spec whose family is not registered as it is', async () => {
      const { spec, params } = await built('vgg', { layout: [4], batchNorm: true }, [6, 6, 1], 3)();
      const unregistered: ModelSpec = { ...spec, family: 'not-registered' };
      const form = inferenceForm(unregistered, [params]);
      expect(form.folded).toBe(false);
      expect(form.spec).toBe(unregistered);
      expect(form.members[0]).toBe(params);
      disposeParams(params);
    });
  });
}
