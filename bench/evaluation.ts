/**
 * The evaluation section of the bench: examples per second of evaluation (evaluateModel on a test
 * set, BatchNorm folded, batches sized by the memory budget) for the bench's three training cases,
 * and its ratio to the same network's training throughput, each evaluation timed right after an
 * epoch of training so that both see the machine alike.
 */
import { evaluateModel } from '../src/eval/evaluate.js';
import { families } from '../src/nn/families.js';
import { disposeParams, initParams } from '../src/nn/init.js';
import { trainModel } from '../src/train/trainModel.js';
import type { Figure } from './regressions.js';
import { syntheticSet } from './sections.js';
import { median } from './timing.js';
import { trainingCases, trainingSettings, type TrainingCaseKey } from './trainingCases.js';

/** Examples evaluated per timed pass: a recipe's 10,000-image test split for the MLP, fewer for the slower conv nets. */
const evaluationExamples: Record<TrainingCaseKey, number> = { mlp: 10_000, vgg: 4096, resnet: 2048 };

/**
 * Per training case: evaluation examples/s (median of `repeats` passes after a warm-up) and the
 * median over rounds of evaluation examples/s divided by training examples/s (one epoch of SGD with
 * momentum at batch 128, timed in the same round). The network's BatchNorm statistics are those of
 * its initialisation; folding costs the same whatever their values.
 */
export async function evaluationThroughput(repeats: number): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const key of Object.keys(trainingCases) as TrainingCaseKey[]) {
    const c = trainingCases[key];
    const family = families.get(c.family);
    const spec = family.build(family.configSchema.parse(c.config) as Record<string, unknown>, c.inputShape, 10);
    const params = initParams(spec, 0);
    const train = syntheticSet(c.examples, c.inputShape, 10, 7);
    const test = syntheticSet(evaluationExamples[key], c.inputShape, 10, 8);
    let seed = 0;
    const trainingRate = async () => {
      const started = performance.now();
      const out = await trainModel(spec, params, train, { epochs: 1, optimizer: 'sgd', ...trainingSettings, seed: seed++ });
      const seconds = (performance.now() - started) / 1000;
      disposeParams(out.params);
      return c.examples / seconds;
    };
    const evaluationRate = () => {
      const started = performance.now();
      evaluateModel(spec, params, test);
      return test.count / ((performance.now() - started) / 1000);
    };
    try {
      await trainingRate(); // warm-up
      evaluationRate();
      const rounds: { training: number; evaluation: number }[] = [];
      for (let i = 0; i < repeats; i++) rounds.push({ training: await trainingRate(), evaluation: evaluationRate() });
      figures.push(
        { key: `evaluation.${key}.examples`, label: `${c.label}: evaluation`, value: median(rounds.map((r) => r.evaluation)), unit: 'examples/s', better: 'higher' },
        {
          key: `evaluation.${key}.ratio`,
          label: `${c.label}: evaluation / training`,
          value: median(rounds.map((r) => r.evaluation / r.training)),
          unit: 'x',
          better: 'higher',
        },
      );
    } finally {
      disposeParams(params);
      [train, test].forEach((set) => set.dispose());
    }
  }
  return figures;
}
