/**
 * `npm run soak`: kills `merge-train run` at 20 random moments (SIGKILL, the default threads and
 * worker processes), resumes each, and checks that nothing temporary is left and that every artifact
 * is byte-identical to an uninterrupted run's. Prints one line per kill and a summary; exits 1 on a
 * difference. Takes a few minutes.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { artifactHashes, leftBehind, leftovers, results, runAndKill } from '../cli/killRun.js';

const recipe = `
name: soak
seed: 9
data: { dataset: mnist, split: { train: 3000, merge: 600, test: 300 } }
model: { family: mlp, config: { hidden: [48] } }
train: { models: 3, epochs: 6, batchSize: 50, learningRate: 0.05 }
align: { methods: [none, permutation, cca] }
merge: { alphas: [uniform, learned], steps: 60, batchSize: 50, evalEvery: 5 }
`;

const kills = Number(process.env.SOAK_KILLS ?? 20);
const dir = mkdtempSync(join(tmpdir(), 'merge-train-soak-'));
writeFileSync(join(dir, 'soak.yaml'), recipe);
const args = (out: string) => ['run', join(dir, 'soak.yaml'), '--out', out];

const reference = join(dir, 'reference');
const started = Date.now();
const full = await runAndKill(args(reference), reference, () => false);
const duration = Date.now() - started;
const [expected, hashes] = [results(reference), artifactHashes(reference)];
console.log(`uninterrupted run: ${(duration / 1000).toFixed(1)} s, ${full.writes} writes, ${Object.keys(hashes).length} artifacts`);

let failures = 0;
for (let i = 0; i < kills; i++) {
  const out = join(dir, `run-${i}`);
  const delay = Math.random() * duration;
  const killed = await runAndKill(args(out), out, (_writes, elapsed) => elapsed >= delay);
  const where = `kill ${i + 1} at ${(delay / 1000).toFixed(2)} s (${killed.writes} writes): left ${leftBehind(out)}`;
  const resumed = await runAndKill(args(out), out, () => false);
  const problems = [
    ...(resumed.killed ? ['the resumed run did not finish'] : []),
    ...(isDeepStrictEqual(results(out), expected) ? [] : ['results differ']),
    ...(isDeepStrictEqual(artifactHashes(out), hashes) ? [] : ['artifacts differ']),
    ...leftovers(out, [killed.pid, resumed.pid]).map((path) => `left ${path}`),
  ];
  failures += problems.length > 0 ? 1 : 0;
  console.log(`${where}; resumed: ${problems.length ? problems.join('; ') : 'byte-identical, nothing left over'}`);
}
console.log(`${kills - failures} of ${kills} killed runs resumed byte-identical with nothing left over`);
process.exit(failures > 0 ? 1 : 0);
