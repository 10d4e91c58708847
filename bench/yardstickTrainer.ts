/**
 * merge-train's side of the PyTorch yardstick, run as a child process by torchCompare.ts: the wasm
 * backend's thread count is fixed per process, so each thread count gets a process of its own, kept
 * alive across rounds so that start-up is never timed.
 *
 *   node --import tsx bench/yardstickTrainer.ts <threads> '<cases as JSON>'
 *
 * Reads one request a line from stdin, `epoch <case key>`, trains that case for one epoch (the first
 * request of a case also builds its model and data, outside the timing) and answers on stdout with a
 * line `yardstick {"seconds": ...}`; the first answer, `yardstick {"ready": ...}`, says the backend is
 * up. Its protocol and answers are the same as bench/torchYardstick.py's.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createInterface } from 'node:readline';
import { selectBackend } from '../src/backend/selectBackend.js';
import { TensorSet } from '../src/data/batches.js';
import { families } from '../src/nn/families.js';
import { disposeParams, initParams } from '../src/nn/init.js';
import type { ModelSpec, ParamMap } from '../src/nn/spec.js';
import { trainModel } from '../src/train/trainModel.js';
import { createRng } from '../src/util/random.js';
import type { TrainingCase } from './sections.js';
import { ANSWER_PREFIX } from './yardstickChild.js';
import { trainingSettings } from './trainingCases.js';

const answer = (message: object) => process.stdout.write(`${ANSWER_PREFIX}${JSON.stringify(message)}\n`);

interface Prepared {
  spec: ModelSpec;
  params: ParamMap;
  data: TensorSet;
  epochs: number;
}

/** A case's model, seeded initial parameters and synthetic data (normal inputs, uniform labels). */
function prepare(c: TrainingCase): Prepared {
  const family = families.get(c.family);
  const spec = family.build(family.configSchema.parse(c.config) as Record<string, unknown>, c.inputShape, 10);
  const rng = createRng(7);
  const data = new TensorSet(
    { x: tf.randomNormal([c.examples, ...c.inputShape], 0, 1, 'float32', 7), y: tf.tensor1d(Int32Array.from({ length: c.examples }, () => Math.floor(rng() * 10)), 'int32') },
    c.inputShape,
  );
  return { spec, params: initParams(spec, 0), data, epochs: 0 };
}

/** One epoch from the case's initial parameters, timed without building anything. */
async function epochSeconds(p: Prepared): Promise<number> {
  const started = performance.now();
  const out = await trainModel(p.spec, p.params, p.data, { epochs: 1, optimizer: 'sgd', seed: p.epochs++, ...trainingSettings });
  const seconds = (performance.now() - started) / 1000;
  disposeParams(out.params);
  return seconds;
}

async function main(): Promise<void> {
  const [threadsArg, casesArg] = process.argv.slice(2);
  const threads = Number(threadsArg);
  const cases = new Map((JSON.parse(casesArg ?? '[]') as TrainingCase[]).map((c) => [c.key, c]));
  const backend = await selectBackend('wasm', { threads });
  answer({ ready: true, backend, threads });
  const prepared = new Map<string, Prepared>();
  // One request at a time: the parent waits for each answer before it sends the next line.
  for await (const line of createInterface({ input: process.stdin })) {
    const [command, key = ''] = line.trim().split(/\s+/);
    try {
      const c = cases.get(key);
      if (command !== 'epoch' || !c) throw new Error(`unknown request "${line.trim()}"; expected "epoch <${[...cases.keys()].join('|')}>"`);
      if (!prepared.has(key)) prepared.set(key, prepare(c));
      answer({ seconds: await epochSeconds(prepared.get(key)!) });
    } catch (error) {
      answer({ error: error instanceof Error ? error.message : String(error) });
    }
  }
  for (const p of prepared.values()) {
    disposeParams(p.params);
    p.data.dispose();
  }
}

await main();
