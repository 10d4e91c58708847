/**
 * Issue 5, "every bad input refused clearly": every malformed recipe and checkpoint of the corpus goes
 * through the real command line (`main`, the function bin/merge-train calls, with its top-level error
 * handler) and must be refused with exit code 2 and exactly one line on stderr that names the file and
 * says what is wrong and what was expected; no stack trace unless --verbose. A few entries also run
 * in a child process, to check the real process's exit code and stderr.
 *
 * Recipes are refused before any data is loaded: `runRecipe` is replaced by a function that fails
 * the test (with an internal error, exit code 1) if a recipe gets that far.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runInProcess } from '../cli/inProcess.js';
import { runCli, type CliResult } from '../cli/runCli.js';
import { malformedCheckpoints, type MalformedCheckpoint } from './malformedSafetensors.js';
import { malformedRecipes, type MalformedRecipe } from './malformedRecipes.js';

vi.mock('../../src/run/runRecipe.js', () => ({
  runRecipe: () => Promise.reject(new Error('corpus: the recipe was accepted and would have run')),
}));

/** A refusal: exit code 2, one line `merge-train: ...` naming `file`, with every fragment, no stack. */
function expectRefusal(result: CliResult, file: string, fragments: (string | RegExp)[]): void {
  const lines = result.stderr.trimEnd().split('\n');
  const context = `stderr: ${result.stderr}`;
  expect(result.code, context).toBe(2);
  expect(lines, context).toHaveLength(1);
  const line = lines[0]!;
  expect(line).toMatch(/^merge-train: /);
  expect(line).toContain(file);
  for (const fragment of fragments) {
    if (typeof fragment === 'string') expect(line).toContain(fragment);
    else expect(line).toMatch(fragment);
  }
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'merge-train-corpus-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes a corpus recipe to its own file; returns its path. */
function writeRecipe(entry: MalformedRecipe, index: number): string {
  const path = join(dir, `recipe-${index}-${entry.file ?? 'bad.yaml'}`);
  writeFileSync(path, entry.text);
  return path;
}

/** Writes a corpus entry's files to a folder of their own; returns the path of a name in it. */
function writeCheckpoints(entry: MalformedCheckpoint, index: number): (name: string) => string {
  const folder = join(dir, `checkpoint-${index}`);
  mkdirSync(folder);
  for (const [name, bytes] of Object.entries(entry.files)) {
    if (bytes === null) mkdirSync(join(folder, name));
    else writeFileSync(join(folder, name), bytes);
  }
  return (name) => join(folder, name);
}

describe('the corpus', () => {
  it('has at least 50 malformed recipes and 20 malformed safetensors files, with distinct titles', () => {
    expect(malformedRecipes.length).toBeGreaterThanOrEqual(50);
    expect(malformedCheckpoints.length).toBeGreaterThanOrEqual(20);
    expect(new Set(malformedRecipes.map((e) => e.title)).size).toBe(malformedRecipes.length);
    expect(new Set(malformedCheckpoints.map((e) => e.title)).size).toBe(malformedCheckpoints.length);
  });
});

describe('malformed recipes are refused with one line, exit code 2', () => {
  malformedRecipes.forEach((entry, index) => {
    it(entry.title, async () => {
      const path = writeRecipe(entry, index);
      const result = await runInProcess(['run', path, '--out', join(dir, 'out'), ...(entry.args ?? [])]);
      expectRefusal(result, path, entry.expect);
    });
  });

  it('a recipe that does not exist', async () => {
    const path = join(dir, 'nowhere.yaml');
    expectRefusal(await runInProcess(['run', path]), path, ['not found']);
  });

  it('a recipe that is a directory', async () => {
    const path = join(dir, 'recipes.yaml');
    mkdirSync(path);
    expectRefusal(await runInProcess(['run', path]), path, ['cannot read recipe', 'it is a directory']);
  });
});

describe('malformed checkpoints are refused with one line, exit code 2', () => {
  malformedCheckpoints.forEach((entry, index) => {
    it(entry.title, async () => {
      const path = writeCheckpoints(entry, index);
      const result = await runInProcess(entry.args(path));
      expectRefusal(result, path(entry.names), entry.expect);
    });
  });
});

describe('--verbose adds the stack trace', () => {
  it('to a refused recipe', async () => {
    const path = writeRecipe(malformedRecipes.find((e) => e.title === 'zero epochs')!, 1000);
    const result = await runInProcess(['--verbose', 'run', path]);
    expect(result.code).toBe(2);
    const [first, ...rest] = result.stderr.trimEnd().split('\n');
    expect(first).toContain(`${path}: train.epochs: expected an integer > 0, got 0`);
    expect(rest.join('\n')).toMatch(/^InputError: /);
    expect(rest.join('\n')).toMatch(/\n\s+at /);
  });

  it('to a refused checkpoint', async () => {
    const path = writeCheckpoints(malformedCheckpoints.find((e) => e.title === 'reversed data offsets')!, 1000);
    const result = await runInProcess(['eval', path('model.safetensors'), '--verbose']);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toContain('begin must not exceed end');
    expect(result.stderr).toMatch(/\n\s+at /);
  });
});

describe('in a real process', () => {
  it('a malformed recipe and a malformed checkpoint exit with code 2 and one line, or a stack with --verbose', async () => {
    const recipe = writeRecipe(malformedRecipes.find((e) => e.title === 'an unknown aligner')!, 2000);
    const checkpoint = writeCheckpoints(malformedCheckpoints.find((e) => e.title === 'overlapping tensors')!, 2000)('model.safetensors');
    const [plainRecipe, plainCheckpoint, verboseRecipe, verboseCheckpoint] = await Promise.all([
      runCli(['run', recipe]),
      runCli(['eval', checkpoint]),
      runCli(['run', recipe, '--verbose']),
      runCli(['--verbose', 'eval', checkpoint]),
    ]);
    expectRefusal(plainRecipe, recipe, ['align.methods[0]: expected one of none, permutation, cca, weight-matching, got "ccaa" (did you mean "cca"?)']);
    expectRefusal(plainCheckpoint, checkpoint, ['overlaps tensor "a"']);
    for (const verbose of [verboseRecipe, verboseCheckpoint]) {
      expect(verbose.code).toBe(2);
      expect(verbose.stderr).toMatch(/^merge-train: .*\nInputError: [^\n]*\n\s+at /);
    }
  });
});
