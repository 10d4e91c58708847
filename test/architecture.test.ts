import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { aligners } from '../src/align/aligners.js';
import { batchNormModes } from '../src/align/batchNormModes.js';
import { alphaInits } from '../src/merge/alphaInits.js';
import { mergers } from '../src/merge/mergers.js';
import { families } from '../src/nn/families.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const depcruise = join(root, 'node_modules', '.bin', 'depcruise');

/** Runs dependency-cruiser with the project's rules on `src` under `cwd`. */
function cruise(cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(depcruise, ['src', '--config', join(root, '.dependency-cruiser.cjs'), '--output-type', 'err'], { cwd }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

describe('the import graph', () => {
  it('follows the layers, lowest first, and has no cycle (.dependency-cruiser.cjs)', async () => {
    const { code, output } = await cruise(root);
    expect(output).toMatch(/no dependency violations found/);
    expect(code).toBe(0);
  });

  it('is checked: an import from a lower layer to a higher one, or a cycle, fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'merge-train-layers-'));
    const write = (path: string, text: string) => {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text);
    };
    write('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true }, include: ['src'] }));
    write('src/run/plan.ts', 'export const plan = 1;\n');
    write('src/nn/spec.ts', "import { plan } from '../run/plan.js';\nexport const spec = plan;\n");
    write('src/util/a.ts', "import { b } from './b.js';\nexport const a = () => b;\n");
    write('src/util/b.ts', "import { a } from './a.js';\nexport const b = () => a;\n");
    const { code, output } = await cruise(dir);
    expect(code).not.toBe(0);
    expect(output).toMatch(/layer-nn: src\/nn\/spec\.ts → src\/run\/plan\.ts/);
    expect(output).toMatch(/no-cycles: src\/util\/a\.ts/);
  });
});

/** Every .ts file under `dir`. */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/** The string literals of a TypeScript file (not its comments). */
function stringLiterals(path: string): Set<string> {
  const found = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) found.add(node.text);
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true));
  return found;
}

describe('method and family names', () => {
  it('are each written in exactly one source file: the one that registers it', () => {
    const files = sources(join(root, 'src')).map((path) => ({ path: relative(root, path), literals: stringLiterals(path) }));
    const names = [aligners, batchNormModes, alphaInits, mergers, families].flatMap((registry) => registry.names());
    const writtenIn = Object.fromEntries(names.map((name) => [name, files.filter((f) => f.literals.has(name)).map((f) => f.path)]));
    for (const [name, paths] of Object.entries(writtenIn)) expect(paths, name).toHaveLength(1);
  });
});
