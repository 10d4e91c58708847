import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const readmePath = join(root, 'README.md');
const tsx = join(root, 'node_modules', '.bin', 'tsx');

/** The ```ts blocks under README.md's "As a library" heading (up to the next heading of its level), joined. */
function libraryExample(readme: string): string {
  const section = readme.split(/^## As a library\s*$/m)[1]?.split(/^## /m)[0];
  if (section === undefined) throw new Error('README.md has no "## As a library" section');
  const blocks = [...section.matchAll(/^```ts\s*\n([\s\S]*?)^```\s*$/gm)].map((match) => match[1]!);
  if (blocks.length === 0) throw new Error('README.md\'s "As a library" section has no ```ts block');
  return blocks.join('\n');
}

/** The compiler's complaints about `file`, one per line, as tsc would print them. */
function typeErrors(file: string): string {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  if (!config) throw new Error('tsconfig.json could not be read');
  const program = ts.createProgram([file], { ...config.options, noEmit: true });
  const diagnostics = ts.getPreEmitDiagnostics(program, program.getSourceFile(file));
  return ts.formatDiagnostics(diagnostics, { getCanonicalFileName: (name) => name, getCurrentDirectory: () => root, getNewLine: () => '\n' });
}

/** Runs `file` with tsx from the repository root; the child inherits the test's environment (one wasm thread). */
function runWithTsx(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(tsx, [file], { cwd: root, timeout: 110_000, maxBuffer: 16 * 2 ** 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

describe("README.md's library example", () => {
  // Inside the repository, so that its imports resolve as they would in a project that installed merge-train.
  const dir = mkdtempSync(join(root, '.readme-example-'));
  const file = join(dir, 'example.ts');

  beforeAll(() => {
    const example = libraryExample(readFileSync(readmePath, 'utf8'));
    expect(example).toMatch(/from 'merge-train'/);
    writeFileSync(file, example.replaceAll("from 'merge-train'", "from '../src/index.js'"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('type-checks against the entry point', () => {
    expect(typeErrors(file)).toBe('');
  });

  it('runs, exits 0 and prints test accuracies above chance', async () => {
    const { code, stdout, stderr } = await runWithTsx(file);
    expect(code, stderr).toBe(0);
    // Accuracies as percentages ("90.2%") or as an Evaluation printed whole ("accuracy: 0.902").
    const percentages = [...stdout.matchAll(/(\d+(?:\.\d+)?)%/g)].map((match) => Number(match[1]) / 100);
    const fractions = [...stdout.matchAll(/accuracy:\s*(0?\.\d+|1)\b/g)].map((match) => Number(match[1]));
    const accuracies = [...percentages, ...fractions];
    expect(accuracies.length, stdout).toBeGreaterThan(0);
    // MNIST has ten classes: chance is 10%.
    for (const accuracy of accuracies) expect(accuracy, stdout).toBeGreaterThan(0.5);
  });
});
