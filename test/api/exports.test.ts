import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as api from '../../src/index.js';
import { Registry } from '../../src/util/registry.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const entryPoint = join(root, 'src', 'index.ts');

/** What a user of each stage calls, by stage: every name must be an exported function. */
const functionsByStage: Record<string, string[]> = {
  backend: ['selectBackend'],
  data: ['loadSplits', 'splitOff'],
  spec: ['defineFamily', 'validateSpec', 'featureSpaces', 'produces', 'consumes', 'dense', 'conv2d', 'batchNorm', 'initParams', 'disposeParams'],
  train: ['trainModel'],
  checkpoints: ['saveCheckpoint', 'loadCheckpoint', 'readCheckpointInfo'],
  statistics: ['collectSpaceMoments'],
  align: ['applyTransforms', 'permutationTransform', 'ccaTransform', 'activationMatching', 'weightMatching'],
  merge: ['mergeModels', 'mergeParams', 'constantMasks', 'fisherCache', 'diagonalFisher', 'learnAlphaMasks', 'interpolateModels'],
  evaluate: ['evaluateModel', 'evaluateModels', 'evaluateEnsemble'],
  settings: ['parseRecipe', 'loadRecipe', 'dataOf', 'trainSettings', 'alignSettings', 'mergeSettings'],
  stages: ['trainStage', 'statisticsStage', 'alignStage', 'jointAlignStage', 'mergeStage', 'groupMergeStage', 'evaluateStage', 'interpolateStage', 'runRecipe'],
};

/** The registries whose `register` adds a user's own method, with a built-in entry of each. */
const registries: Record<string, string> = {
  datasets: 'mnist',
  families: 'mlp',
  aligners: 'cca',
  batchNormModes: 'fold-scale',
  mergers: 'learned',
  alphaInits: 'fisher',
  strategies: 'hierarchical',
};

/** A renderer for every figure of a run (README's figure table), and the writers of whole reports. */
const reportFunctions = [
  'renderAccuracyChart',
  'renderInterpolationCurves',
  'renderAlphaTrainingCurves',
  'renderAlphaLayers',
  'renderAlphaMap',
  'renderAlphaHistograms',
  'renderFisherVsLearned',
  'renderCorrelationHistograms',
  'renderAccuracyVsModels',
  'renderMergeTree',
  'renderCompareChart',
  'writeFigure',
  'writeReport',
  'writeTables',
];

/** The values README.md's library example imports from 'merge-train'. */
function readmeImports(): string[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.split(/^## As a library\s*$/m)[1]?.split(/^## /m)[0] ?? '';
  const imports = [...section.matchAll(/import\s*\{([^}]*)\}\s*from\s*'merge-train'/g)];
  // Type-only imports have no value at run time; the README test's type check covers them.
  return imports.flatMap((match) => match[1]!.split(',').map((name) => name.trim()).filter((name) => name && !name.startsWith('type ')));
}

/**
 * Every declaration the entry point exports, namespaces (`report`) walked into, as `name (file:line)`
 * for those without a TSDoc comment of their own, found by the compiler's own reading of the sources.
 */
function undocumentedExports(): { checked: number; missing: string[] } {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  if (!config) throw new Error('tsconfig.json could not be read');
  const program = ts.createProgram([entryPoint], { ...config.options, noEmit: true });
  const checker = program.getTypeChecker();
  const missing: string[] = [];
  let checked = 0;
  const walk = (module: ts.Symbol, prefix: string) => {
    for (const exported of checker.getExportsOfModule(module)) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      for (const declaration of target.declarations ?? []) {
        if (ts.isSourceFile(declaration)) {
          walk(target, `${prefix}${exported.name}.`);
          continue;
        }
        checked++;
        if (ts.getJSDocCommentsAndTags(declaration).length > 0) continue;
        const file = declaration.getSourceFile();
        const line = file.getLineAndCharacterOfPosition(declaration.getStart()).line + 1;
        missing.push(`${prefix}${exported.name} (${file.fileName.slice(root.length)}:${line})`);
      }
    }
  };
  walk(checker.getSymbolAtLocation(program.getSourceFile(entryPoint)!)!, '');
  return { checked, missing };
}

describe('the package entry point (src/index.ts)', () => {
  const exports = api as Record<string, unknown>;

  it('exports the functions of every stage', () => {
    for (const [stage, names] of Object.entries(functionsByStage)) {
      for (const name of names) expect(typeof exports[name], `${stage}: ${name}`).toBe('function');
    }
    for (const name of ['TensorSet', 'StageContext', 'SpecLayers', 'InputError']) expect(typeof exports[name], name).toBe('function');
  });

  it('exports the registries, each with its built-in methods', () => {
    for (const [name, builtIn] of Object.entries(registries)) {
      const registry = exports[name];
      expect(registry, name).toBeInstanceOf(Registry);
      expect((registry as Registry<{ name: string; description: string }>).has(builtIn), `${name} has ${builtIn}`).toBe(true);
    }
  });

  it('exports a renderer for each figure under `report`', () => {
    for (const name of reportFunctions) expect(typeof (api.report as Record<string, unknown>)[name], `report.${name}`).toBe('function');
  });

  it("exports every name README.md's library example imports", () => {
    const names = readmeImports();
    expect(names.length).toBeGreaterThan(5);
    for (const name of names) expect(name in exports, name).toBe(true);
  });

  it('documents every export with a TSDoc comment on its declaration', () => {
    const { checked, missing } = undocumentedExports();
    expect(checked).toBeGreaterThan(200);
    expect(missing).toEqual([]);
  });
});
