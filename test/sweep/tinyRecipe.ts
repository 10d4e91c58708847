import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes `<dir>/tiny.yaml`: a recipe of two small MLPs on a few hundred real MNIST digits, aligned
 * with none and permutation and merged uniformly, so a sweep over it runs in seconds a point.
 */
export function writeTinyRecipe(dir: string, epochs = 1): string {
  const path = join(dir, 'tiny.yaml');
  writeFileSync(
    path,
    `
name: tiny
data: { dataset: mnist, split: { train: 300, merge: 200, test: 200 } }
model: { family: mlp, config: { hidden: [8] } }
train: { models: 2, epochs: ${epochs}, batchSize: 50 }
align: { methods: [none, permutation] }
merge: { alphas: [uniform] }
`,
  );
  return path;
}
