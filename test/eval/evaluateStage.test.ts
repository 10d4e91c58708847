import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataInfoOf, saveCheckpoint, type CheckpointInfo } from '../../src/artifacts/checkpoint.js';
import { selectBackend } from '../../src/backend/selectBackend.js';
import { evaluateEnsemble, evaluateModel } from '../../src/eval/evaluate.js';
import { families } from '../../src/nn/families.js';
import { disposeParams } from '../../src/nn/init.js';
import type { ModelSpec } from '../../src/nn/spec.js';
import { StageContext } from '../../src/stages/context.js';
import { evaluateStage, evaluationKey, evaluationPath } from '../../src/stages/evaluateStage.js';
import { randomParams } from '../nn/helpers.js';

const split = { train: 300, merge: 200, test: 200 };
const build = (family: string, config: Record<string, unknown>): ModelSpec => {
  const entry = families.get(family);
  return entry.build(entry.configSchema.parse(config), [28, 28, 1], 10);
};
const vgg = build('vgg', { layout: [6, 'M', 8], batchNorm: true });
const mlp = build('mlp', { hidden: [16] });
const resnetSame = build('resnet', { blocks: [1, 1], widths: [4, 8] });
const resnetSymmetric = build('resnet', { blocks: [1, 1], widths: [4, 8], padding: 'symmetric' });

describe('evaluateStage: several models in one pass', () => {
  const dir = mkdtempSync(join(tmpdir(), 'merge-train-evaluate-'));
  const file = (name: string) => join(dir, `${name}.safetensors`);
  const models = [['a', vgg, 1], ['b', vgg, 2], ['c', vgg, 3], ['m', mlp, 4], ['r', resnetSame, 5], ['s', resnetSymmetric, 6]] as const;

  beforeAll(async () => {
    await selectBackend('wasm');
    for (const [name, spec, seed] of models) {
      const params = randomParams(spec, seed);
      const info: CheckpointInfo = { kind: 'base', dataset: 'mnist', splitSeed: 3, split, seed, key: `model-${name}` };
      await saveCheckpoint(file(name), spec, params, info);
      disposeParams(params);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('scores each model and the ensemble as evaluated one by one, stores them, and reuses what is stored', async () => {
    const store = join(dir, 'evaluations');
    const ctx = new StageContext();
    const paths = ['a', 'b', 'c'].map(file);
    const checkpoints = await Promise.all(paths.map((path) => ctx.checkpoint(path)));
    const test = (await ctx.data(dataInfoOf(checkpoints[0]!.info))).test();
    const alone = checkpoints.map(({ spec, params }) => evaluateModel(spec, params, test));
    const ensemble = evaluateEnsemble(vgg, checkpoints.map((c) => c.params), test);

    const before = tf.memory().numTensors;
    const gathers = (info: Awaited<ReturnType<typeof tf.profile>>) => info.kernels.filter((k) => k.name === 'GatherV2').length;
    const single = await tf.profile(() => {
      evaluateModel(vgg, checkpoints[0]!.params, test);
    });
    let result!: Awaited<ReturnType<typeof evaluateStage>>;
    const stage = await tf.profile(async () => {
      result = await evaluateStage(paths, ctx, { ensemble: true, store });
    });
    // One pass over the test split for the three models and their ensemble: its batches are cut once.
    expect(gathers(stage)).toBe(gathers(single));
    expect(tf.memory().numTensors).toBe(before);
    expect(result.models.map(({ accuracy, loss }) => ({ accuracy, loss }))).toEqual(alone);
    expect(result.ensemble).toMatchObject(ensemble);
    for (const record of [...result.models, result.ensemble!]) {
      expect(JSON.parse(readFileSync(evaluationPath(store, record.key), 'utf8'))).toEqual(record);
    }
    ctx.dispose();

    // A fresh context finds every result stored: nothing is evaluated or rewritten.
    const written = statSync(evaluationPath(store, result.models[0]!.key)).mtimeMs;
    const again = new StageContext();
    expect(await evaluateStage(paths, again, { ensemble: true, store })).toEqual(result);
    expect(again.timings.evaluate).toBeUndefined();
    expect(statSync(evaluationPath(store, result.models[0]!.key)).mtimeMs).toBe(written);
    again.dispose();
  });

  it('groups models of different architectures into one pass each, keeping the order given', async () => {
    const ctx = new StageContext();
    const paths = ['m', 'a', 'c'].map(file);
    const checkpoints = await Promise.all(paths.map((path) => ctx.checkpoint(path)));
    const test = (await ctx.data(dataInfoOf(checkpoints[0]!.info))).test();
    const alone = checkpoints.map(({ spec, params }) => evaluateModel(spec, params, test));
    const { models, ensemble } = await evaluateStage(paths, ctx);
    expect(ensemble).toBeUndefined();
    expect(models.map(({ accuracy, loss }) => ({ accuracy, loss }))).toEqual(alone);
    expect(models.map((m) => m.key)).toEqual(checkpoints.map((c) => evaluationKey([c.info.key], dataInfoOf(c.info))));
    ctx.dispose();
  });

  it('evaluates only the models whose results are missing when no ensemble is asked for', async () => {
    const store = join(dir, 'partial');
    const ctx = new StageContext();
    const [first] = (await evaluateStage([file('a')], ctx, { store })).models;
    const stored = evaluationPath(store, first!.key);
    const written = statSync(stored).mtimeMs;
    const { models } = await evaluateStage([file('a'), file('b')], ctx, { store });
    expect(models[0]).toEqual(first);
    expect(statSync(stored).mtimeMs).toBe(written);
    expect(JSON.parse(readFileSync(evaluationPath(store, models[1]!.key), 'utf8'))).toEqual(models[1]);
    ctx.dispose();
  });

  it('scores an ensemble whose members differ in configuration only apart from its members, with the first spec, as before', async () => {
    const ctx = new StageContext();
    const paths = ['r', 's'].map(file);
    const checkpoints = await Promise.all(paths.map((path) => ctx.checkpoint(path)));
    const test = (await ctx.data(dataInfoOf(checkpoints[0]!.info))).test();
    const { models, ensemble } = await evaluateStage(paths, ctx, { ensemble: true });
    expect(models.map(({ accuracy, loss }) => ({ accuracy, loss }))).toEqual(checkpoints.map(({ spec, params }) => evaluateModel(spec, params, test)));
    expect(ensemble).toMatchObject(evaluateEnsemble(resnetSame, checkpoints.map((c) => c.params), test));
    ctx.dispose();
  });
});
