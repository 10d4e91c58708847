import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { disposeParams, initParams } from '../../src/nn/init.js';
import { mlpSpec } from '../../src/nn/mlp.js';
import { baseModelSeed } from '../../src/stages/trainStage.js';

describe('base-model seeds', () => {
  beforeAll(async () => {
    await selectBackend('cpu');
  });

  it('runs with neighbouring seeds share no base model: every (run seed, index) has its own seed', () => {
    const seeds = [0, 1, 2, 3].flatMap((runSeed) => Array.from({ length: 16 }, (_, index) => baseModelSeed(runSeed, index)));
    expect(new Set(seeds).size).toBe(seeds.length);
    // The scheme this replaces gave run 0's model 1 the seed of run 1's model 0.
    expect(baseModelSeed(0, 1)).not.toBe(baseModelSeed(1, 0));
    // and it is stable: the same run and index give the same seed
    expect(baseModelSeed(7, 3)).toBe(baseModelSeed(7, 3));
  });

  it('so the initial weights of seeds 0 and 1 share nothing', () => {
    const spec = mlpSpec({ hidden: [8] }, [6], 3);
    const before = tf.memory().numTensors;
    const weights = (runSeed: number, index: number) => {
      const params = initParams(spec, baseModelSeed(runSeed, index));
      const values = Array.from(params['fc1.weight']!.dataSync());
      disposeParams(params);
      return values.join(',');
    };
    const inits = [0, 1].flatMap((runSeed) => [0, 1, 2].map((index) => weights(runSeed, index)));
    expect(new Set(inits).size).toBe(inits.length);
    expect(tf.memory().numTensors).toBe(before);
  });
});
