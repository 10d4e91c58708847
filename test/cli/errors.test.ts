import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, it } from 'vitest';
import { runCli } from './runCli.js';
import { expectRefusal } from './expectRefusal.js';

describe('merge-train refuses bad input with one line and exit code 2', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'merge-train-cli-'));
  });

  const recipe = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('a missing recipe', async () => {
    expectRefusal(await runCli(['run', join(dir, 'nope.yaml')]), /recipe .*nope\.yaml not found/);
  });

  it('a recipe that is not YAML', async () => {
    expectRefusal(await runCli(['run', recipe('broken.yaml', 'name: x\n  seed: [1, 2\n')]), /broken\.yaml: not valid YAML/);
  });

  it('a recipe that is a list, not a mapping', async () => {
    expectRefusal(await runCli(['run', recipe('list.yaml', '- 1\n- 2\n')]), /list\.yaml: a recipe must be a mapping/);
  });

  it('an unknown field, with a did-you-mean', async () => {
    const result = await runCli(['run', recipe('typo.yaml', 'name: typo\nmerge:\n  int: fisher\n')]);
    expectRefusal(result, /typo\.yaml: unknown field merge\.int \(did you mean "init"\?\)/);
  });

  it('a field of the wrong type, naming its path', async () => {
    expectRefusal(await runCli(['run', recipe('type.yaml', 'name: t\ntrain:\n  epochs: many\n')]), /type\.yaml: train\.epochs: /);
  });

  it('an unknown dataset, listing the valid ones', async () => {
    const result = await runCli(['run', recipe('data.yaml', 'name: d\ndata:\n  dataset: mnits\n')]);
    expectRefusal(result, /unknown dataset "mnits" \(did you mean "mnist"\?\); valid: mnist, fashion-mnist/);
  });

  it('a bad value on the command line', async () => {
    expectRefusal(await runCli(['--epochs', 'ten', '--name', 'x']), /--epochs.*expected a number, got "ten"/);
  });

  it('a stage flag checked as the recipe field it sets', async () => {
    const result = await runCli(['merge', 'a.safetensors', 'b.safetensors', '--alpha', 'learned', '--steps', '2.5', '--out', join(dir, 'm.safetensors')]);
    expectRefusal(result, /command line: merge\.steps: expected an integer, got 2\.5/);
    expectRefusal(await runCli(['align', 'a.safetensors', 'b.safetensors', '--method', 'ccca', '--out', join(dir, 'b2.safetensors')]), /align\.methods\[0\]: expected one of none, permutation, cca, weight-matching, got "ccca" \(did you mean "cca"\?\)/);
  });

  it('an unknown option', async () => {
    expectRefusal(await runCli(['--epoch', '3']), /unknown option '--epoch'/);
  });

  it('a model setting the family does not have', async () => {
    expectRefusal(await runCli(['train', '--family', 'resnet', '--hidden', '5', '--out', join(dir, 'r.safetensors')]), /unknown field model\.config\.hidden; allowed here: blocks, widths, width, batchNorm/);
  });

  it('a VGG with more max-pools than the images allow', async () => {
    const result = await runCli(['train', '--family', 'vgg', '--dataset', 'mnist', '--out', join(dir, 'v.safetensors')]);
    expectRefusal(result, /5 max-pools needs inputs of at least 32x32, got 28x28/);
  });

  it('a checkpoint that is not safetensors', async () => {
    const path = recipe('model.safetensors', 'this is not a safetensors file at all');
    expectRefusal(await runCli(['eval', path]), /model\.safetensors is not a valid safetensors file/);
  });

  it('a checkpoint that does not exist', async () => {
    expectRefusal(await runCli(['eval', join(dir, 'missing.safetensors')]), /cannot read .*missing\.safetensors/);
  });
});
