/**
 * Writing a spec by hand: a two-branch network that merge-train does not ship, described as a model
 * family from outside the library, with only what the package exports.
 *
 * ```text
 * input ─┬─ Dense a (ReLU) ─┐
 *        └─ Dense b (ReLU) ─┴─ join ─ Dense ─ logits
 * ```
 *
 * A spec is data: every parameter with its shape, its initialisation and, per axis, the feature space
 * the axis produces or consumes; the layers in forward order; and a forward pass that calls the
 * context's hooks (through `dense`) and probes each feature space's activations. The two ways of
 * joining the branches need different labels:
 * - `concat`: [h_a, h_b] feeds the head. Branch a's units and branch b's are two feature spaces, `a`
 *   and `b`, each aligned on its own. An axis belongs to one space, so the head's weight is stored as
 *   two blocks, `head.a` [a, classes] and `head.b` [b, classes], whose outputs are added.
 * - `sum`: h_a + h_b is one stream. Both branches produce the feature space `stream`, so one transform
 *   moves the units of both (as a ResNet's residual stream); the head consumes it.
 *
 * Register it, and recipes, the command line and the library accept `family: two-branch`:
 *
 * ```ts
 * import { families } from 'merge-train';
 * import { twoBranchFamily } from './twoBranch.js';
 *
 * families.register(twoBranchFamily);
 * const spec = families.get('two-branch').build({ branches: [64, 32], join: 'concat' }, [28, 28, 1], 10);
 * ```
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { consumes, defineFamily, dense, produces, type AffineLayer, type LayerInfo, type ParamInit, type ParamSpec } from '../src/index.js';

/** How the two branches meet: side by side (concatenated) or added into one stream. */
export const joins = ['concat', 'sum'] as const;

const width = z.number().int().positive();

const twoBranchConfig = z
  .strictObject({
    branches: z.tuple([width, width]).default([64, 32]).describe('units of branch a and of branch b'),
    join: z.enum(joins).default('concat').describe('concat: [h_a, h_b] feeds the head; sum: h_a + h_b does'),
  })
  .refine((config) => config.join !== 'sum' || config.branches[0] === config.branches[1], {
    path: ['branches'],
    message: 'summed branches need equal widths',
  });

/** The settings of a two-branch network (`model.config` in a recipe). */
export type TwoBranchConfig = z.input<typeof twoBranchConfig>;

/** PyTorch's default init of a Linear layer with `fanIn` inputs: U(+-1/sqrt(fanIn)), bias too. */
const linearInit = (fanIn: number): ParamInit => ({ kind: 'boundedUniform', bound: 1 / Math.sqrt(fanIn) });

/** A dense layer's parameter names, as the forward pass and the layer list refer to it. */
const layer = (name: string): AffineLayer => ({ weight: `${name}.weight`, bias: `${name}.bias` });

/**
 * The two-branch family: input → Dense a (ReLU) and Dense b (ReLU) in parallel → joined → Dense to
 * logits. Weights are [in, out] as merge-train stores every dense weight. See the file's comment for
 * the feature spaces of each join.
 */
export const twoBranchFamily = defineFamily({
  name: 'two-branch',
  description: 'two parallel ReLU branches, concatenated or summed, then a linear classifier (an example of a hand-written spec)',
  configSchema: twoBranchConfig,
  build: (config, inputShape, numClasses) => {
    const [unitsA, unitsB] = config.branches;
    const inputs = inputShape.reduce((a, b) => a * b, 1);
    const branchA = layer('a');
    const branchB = layer('b');
    // Summed, both branches write one space; concatenated, each writes its own.
    const [spaceA, spaceB] = config.join === 'sum' ? ['stream', 'stream'] : ['a', 'b'];
    const params: Record<string, ParamSpec> = {
      // The input image is no feature space (null): nothing before it could be transformed.
      [branchA.weight]: { shape: [inputs, unitsA], axes: [null, produces(spaceA)], init: linearInit(inputs) },
      [branchA.bias]: { shape: [unitsA], axes: [produces(spaceA)], init: linearInit(inputs) },
      [branchB.weight]: { shape: [inputs, unitsB], axes: [null, produces(spaceB)], init: linearInit(inputs) },
      [branchB.bias]: { shape: [unitsB], axes: [produces(spaceB)], init: linearInit(inputs) },
    };
    const layers: LayerInfo[] = [
      { kind: 'dense', ...branchA },
      { kind: 'dense', ...branchB },
    ];
    // The head. The logits are no feature space, so its output axis is unlabelled.
    const heads: { layer: AffineLayer; space: string; units: number }[] =
      config.join === 'sum'
        ? [{ layer: layer('head'), space: 'stream', units: unitsA }]
        : [
            // An axis belongs to one space, so the head's weight is one block per branch, each a dense
            // layer with a bias of its own (the two add up to the head's bias).
            { layer: layer('head.a'), space: 'a', units: unitsA },
            { layer: layer('head.b'), space: 'b', units: unitsB },
          ];
    const headFanIn = config.join === 'sum' ? unitsA : unitsA + unitsB;
    for (const head of heads) {
      params[head.layer.weight] = { shape: [head.units, numClasses], axes: [consumes(head.space), null], init: linearInit(headFanIn) };
      params[head.layer.bias] = { shape: [numClasses], axes: [null], init: linearInit(headFanIn) };
      layers.push({ kind: 'dense', ...head.layer });
    }
    return {
      config: { branches: [unitsA, unitsB], join: config.join },
      inputShape: [...inputShape],
      numClasses,
      params,
      layers,
      forward(weights, x, context) {
        const input = tf.reshape(x, [-1, inputs]) as tf.Tensor2D;
        // Through `dense`, the context's affine hook sees each declared layer (Fisher information's per-example gradients).
        const hiddenA = dense(weights, branchA, input, 'relu', context);
        const hiddenB = dense(weights, branchB, input, 'relu', context);
        if (config.join === 'sum') {
          const stream = tf.add(hiddenA, hiddenB) as tf.Tensor2D;
          // Each feature space is probed with the activations its transform acts on.
          context?.probe?.('stream', stream);
          return dense(weights, heads[0]!.layer, stream, 'linear', context);
        }
        context?.probe?.('a', hiddenA);
        context?.probe?.('b', hiddenB);
        const [headA, headB] = heads;
        return tf.add(dense(weights, headA!.layer, hiddenA, 'linear', context), dense(weights, headB!.layer, hiddenB, 'linear', context)) as tf.Tensor2D;
      },
    };
  },
});
