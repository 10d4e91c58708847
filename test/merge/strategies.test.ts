import { describe, expect, it } from 'vitest';
import { aligners } from '../../src/align/aligners.js';
import { strategies, type ModelNode, type StrategyServices } from '../../src/merge/strategies.js';

/**
 * Services over plain numbers: a model is its id, a merge of a group is the group's ids joined by "+"
 * in brackets, its merge-split accuracy and its similarity to other models are given by a table.
 * Every group merged is logged, so a test sees which merges a strategy asked for, in which order.
 */
function fakeServices(accuracy: Record<string, number> = {}, similarity: Record<string, number> = {}) {
  const log: string[][] = [];
  const joint: boolean[] = [];
  const services: StrategyServices = {
    async mergeGroups(groups, options = {}) {
      log.push(...groups.map((group) => group.map((node) => node.id)));
      joint.push(...groups.map(() => options.jointly ?? false));
      return groups.map((group) => ({ id: `(${group.map((node) => node.id).join('+')})`, members: group.flatMap((node) => node.members) }));
    },
    mergeAccuracy: async (model) => accuracy[model.id] ?? 0,
    similarity: async (a, b) => similarity[[a.id, b.id].sort().join(',')] ?? 0,
  };
  return { services, log, joint };
}

const models = (count: number): ModelNode[] => Array.from({ length: count }, (_, i) => ({ id: String(i), members: [`m${i}`] }));

describe('all-to-one', () => {
  const allToOne = strategies.get('all-to-one');

  it('merges every model with the first in one step', async () => {
    const { services, log } = fakeServices();
    const result = await allToOne.merge(models(4), services, { reference: 'first' });
    expect(log).toEqual([['0', '1', '2', '3']]);
    expect(result.root).toEqual({ id: '(0+1+2+3)', members: ['m0', 'm1', 'm2', 'm3'] });
    expect(result.steps).toHaveLength(1);
  });

  it('puts the best or the worst model on the merge split first, the first among equals', async () => {
    const accuracy = { 0: 0.5, 1: 0.9, 2: 0.2, 3: 0.9 };
    for (const [reference, first] of [
      ['best', '1'],
      ['worst', '2'],
    ] as const) {
      const { services, log } = fakeServices(accuracy);
      await allToOne.merge(models(4), services, { reference });
      expect(log).toEqual([[first, ...['0', '1', '2', '3'].filter((id) => id !== first)]]);
    }
  });
});

describe('hierarchical', () => {
  const hierarchical = strategies.get('hierarchical');

  it('merges pairs in order, level by level, and carries an odd model out up a level', async () => {
    const { services, log } = fakeServices();
    const result = await hierarchical.merge(models(5), services, { pairing: 'ordered' });
    expect(log).toEqual([
      ['0', '1'],
      ['2', '3'],
      ['(0+1)', '(2+3)'],
      ['((0+1)+(2+3))', '4'],
    ]);
    expect(result.root.id).toBe('(((0+1)+(2+3))+4)');
    expect(result.root.members).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(result.steps.map((step) => step.inputs.map((node) => node.id))).toEqual(log);
  });

  it('pairs the most similar models first (greedy), the rest by what remains', async () => {
    const similarity = { '0,3': 0.9, '1,2': 0.8, '0,1': 0.85, '2,3': 0.1, '0,2': 0.2, '1,3': 0.3 };
    const { services, log } = fakeServices({}, similarity);
    await hierarchical.merge(models(4), services, { pairing: 'similar' });
    // 0+3 first (0.9); 0+1 (0.85) is taken, so 1+2 (0.8).
    expect(log.slice(0, 2)).toEqual([
      ['0', '3'],
      ['1', '2'],
    ]);
    expect(log).toHaveLength(3);
  });

  it('with two models is one merge, as all-to-one', async () => {
    const pair = fakeServices();
    const one = fakeServices();
    await hierarchical.merge(models(2), pair.services, { pairing: 'ordered' });
    await strategies.get('all-to-one').merge(models(2), one.services, { reference: 'first' });
    expect(pair.log).toEqual(one.log);
  });
});

describe('merge-many', () => {
  const mergeMany = strategies.get('merge-many');

  it('merges all models in one step, aligned jointly', async () => {
    const { services, log, joint } = fakeServices();
    const result = await mergeMany.merge(models(3), services, {});
    expect(log).toEqual([['0', '1', '2']]);
    expect(joint).toEqual([true]);
    expect(result.root.members).toEqual(['m0', 'm1', 'm2']);
  });

  it('needs an aligner with a joint form', () => {
    expect(mergeMany.unsupported?.(aligners.get('cca'))).toBe('cca has no joint form for many models');
    expect(mergeMany.unsupported?.(aligners.get('weight-matching'))).toBeUndefined();
  });

  it('the other strategies align each model to a reference', async () => {
    const { services, joint } = fakeServices();
    await strategies.get('hierarchical').merge(models(4), services, { pairing: 'ordered' });
    expect(joint.every((j) => !j)).toBe(true);
  });
});
