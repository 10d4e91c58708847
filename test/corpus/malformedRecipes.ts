/**
 * A corpus of malformed recipes (issue 5): each one must be refused by `merge-train run <recipe>`
 * with exit code 2 and one line on stderr that names the recipe file, the field path and what was
 * expected. `expect` lists fragments of that line; the recipe path is checked separately.
 */

export interface MalformedRecipe {
  /** What is wrong with it (the test title). */
  title: string;
  /** The file's contents. */
  text: string | Uint8Array;
  /** The file name; the extension matters (.yaml by default). */
  file?: string;
  /** Command-line flags after the recipe path (overrides). */
  args?: string[];
  /** Fragments the one stderr line must contain (besides the recipe path). */
  expect: (string | RegExp)[];
}

/** `name: t` plus `body`: a recipe that is valid but for what `body` gets wrong. */
const named = (body: string) => `name: t\n${body}`;

/** An alias bomb: each level refers to the one before ten times. */
const aliasBomb = [
  'name: t',
  'a: &a [x, x, x, x, x, x, x, x, x, x]',
  'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
  'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
  'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
  'e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]',
  '',
].join('\n');

export const malformedRecipes: MalformedRecipe[] = [
  // --- Not YAML at all ---------------------------------------------------------------------
  { title: 'tab indentation', text: named('train:\n\tepochs: 3\n'), expect: ['not valid YAML', 'Tabs are not allowed', 'line 3'] },
  { title: 'unclosed flow sequence', text: named('align:\n  methods: [cca, none\n'), expect: ['not valid YAML', 'Flow sequence', 'end with a ]', 'line 4'] },
  { title: 'unclosed flow mapping', text: named('data: { dataset: mnist\n'), expect: ['not valid YAML', 'Flow map', 'end with a }', 'line 3'] },
  { title: 'duplicate top-level key', text: 'name: a\nseed: 1\nname: b\n', expect: ['not valid YAML', 'Map keys must be unique', 'line 3'] },
  { title: 'duplicate nested key', text: named('train:\n  epochs: 1\n  epochs: 2\n'), expect: ['not valid YAML', 'Map keys must be unique', 'line 4'] },
  { title: 'unclosed quoted string', text: 'name: "t\nseed: 1\n', expect: ['not valid YAML', 'Missing closing "quote', 'line 3'] },
  { title: 'bad indentation of a nested field', text: named('train:\n  epochs: 2\n    batchSize: 3\n'), expect: ['not valid YAML', 'Nested mappings are not allowed in compact mappings at line 3'] },
  { title: 'two YAML documents in one file', text: 'name: a\n---\nname: b\n', expect: ['not valid YAML: a second document starts at line 2', 'expected one recipe per file'] },
  { title: 'an unknown YAML tag', text: 'name: !secret t\n', expect: ['not valid YAML', 'Unresolved tag: !secret'] },
  { title: 'an alias to an anchor that does not exist', text: named('train: *defaults\n'), expect: ['not valid YAML', 'defaults'] },
  { title: 'an alias bomb', text: aliasBomb, expect: ['not valid YAML', 'alias count'] },
  { title: 'lists nested 20,000 deep', text: named(`model:\n  config:\n    hidden: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`), expect: ['not valid YAML: nested too deeply at line 4'] },
  { title: 'a list used as a key', text: named('? [a, b]\n: 1\n'), expect: ['(top level): expected field names, got a list as a key'] },
  { title: 'broken JSON', file: 'broken.json', text: '{"name": "t", "seed": 1', expect: ['not valid YAML', 'line 1'] },
  { title: 'JSON with a duplicate key', file: 'dup.json', text: '{"name": "t", "name": "u"}', expect: ['not valid YAML', 'Map keys must be unique'] },
  { title: 'a binary file', file: 'weights.bin', text: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01, 0xff, 0x00]), expect: ['not valid YAML', 'NUL bytes'] },

  // --- Not a mapping -------------------------------------------------------------------------
  { title: 'an empty file', text: '', expect: ['the recipe is empty', 'expected a mapping'] },
  { title: 'only comments', text: '# a recipe, one day\n', expect: ['the recipe is empty'] },
  { title: 'an explicit null', text: '~\n', expect: ['the recipe is empty'] },
  { title: 'a list at the top level', text: '- name: t\n- seed: 1\n', expect: ['a recipe must be a mapping of fields', 'got a list'] },
  { title: 'a string at the top level', text: 'just some words\n', expect: ['a recipe must be a mapping of fields', 'got string "just some words"'] },
  { title: 'a number at the top level', text: '42\n', expect: ['a recipe must be a mapping of fields', 'got number 42'] },

  // --- Missing and unknown fields ------------------------------------------------------------
  { title: 'no name', text: 'seed: 0\n', expect: ['name: missing; expected a string (run name'] },
  { title: 'unknown top-level field', text: named('seeds: 1\n'), expect: ['unknown field seeds (did you mean "seed"?)', 'allowed here: name, seed, repeats, backend, data, model, train, align, merge'] },
  { title: 'no repeats', text: named('repeats: 0\n'), expect: ['repeats: expected an integer > 0, got 0'] },
  { title: 'a fractional number of repeats', text: named('repeats: 2.5\n'), expect: ['repeats: expected an integer, got 2.5'] },
  { title: 'misspelt section', text: named('modle:\n  family: mlp\n'), expect: ['unknown field modle (did you mean "model"?)'] },
  { title: 'unknown train field', text: named('train:\n  epoch: 3\n'), expect: ['unknown field train.epoch (did you mean "epochs"?)', 'allowed here: models, epochs'] },
  { title: 'unknown split field', text: named('data:\n  split:\n    tain: 100\n'), expect: ['unknown field data.split.tain (did you mean "train"?)', 'allowed here: train, merge, test'] },
  { title: 'unknown augment field', text: named('train:\n  augment:\n    flips: true\n'), expect: ['unknown field train.augment.flips (did you mean "flip"?)'] },
  { title: 'unknown align field', text: named('align:\n  method: [cca]\n'), expect: ['unknown field align.method (did you mean "methods"?)'] },
  { title: 'unknown merge field', text: named('merge:\n  int: fisher\n'), expect: ['unknown field merge.int (did you mean "init"?)'] },
  { title: 'unknown mlp setting', text: named('model:\n  config:\n    hiden: [8]\n'), expect: ['unknown field model.config.hiden (did you mean "hidden"?)', 'allowed here: hidden'] },
  { title: 'an mlp setting given to resnet', text: named('model:\n  family: resnet\n  config:\n    hidden: [8]\n'), expect: ['unknown field model.config.hidden', 'allowed here: blocks, widths, width, batchNorm'] },
  { title: 'unknown resnet setting', text: named('model:\n  family: resnet\n  config:\n    block: [1]\n'), expect: ['unknown field model.config.block (did you mean "blocks"?)'] },
  { title: 'a __proto__ field', text: named('__proto__: {seed: 1}\n'), expect: ['unknown field __proto__'] },
  { title: 'a field name with a newline', text: named('"na\\nme": x\n'), expect: ['unknown field "na\\nme"'] },

  // --- Wrong types and values at the top level -----------------------------------------------
  { title: 'a number as the name', text: 'name: 5\n', expect: ['name: expected a string, got 5'] },
  { title: 'a name with a slash', text: 'name: runs/a\n', expect: ['name: expected letters, digits', 'got "runs/a"'] },
  { title: 'a name of dots', text: 'name: ".."\n', expect: ['name: expected a name that is not only dots', 'got ".."'] },
  { title: 'a negative seed', text: named('seed: -1\n'), expect: ['seed: expected an integer >= 0, got -1'] },
  { title: 'a fractional seed', text: named('seed: 1.5\n'), expect: ['seed: expected an integer, got 1.5'] },
  { title: 'a seed beyond the safe integers', text: named('seed: 1e20\n'), expect: ['seed: expected an integer <= 9007199254740991'] },
  { title: 'an unknown backend', text: named('backend: gpu\n'), expect: ['backend: expected one of auto, tensorflow-gpu, tensorflow, wasm, cpu, got "gpu"'] },
  { title: 'a misspelt backend', text: named('backend: wsam\n'), expect: ['backend: expected one of', 'got "wsam" (did you mean "wasm"?)'] },

  // --- data ----------------------------------------------------------------------------------
  { title: 'data as a string', text: named('data: mnist\n'), expect: ['data: expected a mapping of fields, got "mnist"'] },
  { title: 'an unknown dataset', text: named('data:\n  dataset: mnits\n'), expect: ['data.dataset: unknown dataset "mnits" (did you mean "mnist"?); valid: mnist, fashion-mnist, cifar10, cifar100'] },
  { title: 'a dataset given as a number', text: named('data:\n  dataset: 10\n'), expect: ['data.dataset: expected a string, got 10'] },
  { title: 'a split size as a word', text: named('data:\n  split: { train: lots }\n'), expect: ['data.split.train: expected a number, got "lots"'] },
  { title: 'an empty test split', text: named('data:\n  split: { test: 0 }\n'), expect: ['data.split.test: expected an integer > 0, got 0'] },
  { title: 'a fractional split size', text: named('data:\n  split: { merge: 0.5 }\n'), expect: ['data.split.merge: expected an integer, got 0.5'] },
  { title: 'a split as a list', text: named('data:\n  split: [5000, 3000, 2000]\n'), expect: ['data.split: expected a mapping of fields, got a list [5000,3000,2000]'] },
  {
    title: 'splits larger than the dataset (with defaults)',
    text: named('data:\n  split: { train: 9000 }\n'),
    expect: ['data.split: train 9000 + merge 1500 + test 2000 = 12500 examples, but mnist has 10000', 'merge, test took the dataset\'s default'],
  },
  {
    title: 'splits larger than the dataset (all given)',
    text: named('data:\n  dataset: fashion-mnist\n  split: { train: 50000, merge: 20000, test: 1000 }\n'),
    expect: ['data.split: train 50000 + merge 20000 + test 1000 = 71000 examples, but fashion-mnist has 70000', 'at most 70000'],
  },
  { title: 'an empty cache folder name', text: named('data:\n  cacheDir: ""\n'), expect: ['data.cacheDir: expected a string of at least 1 characters, got ""'] },

  // --- model ---------------------------------------------------------------------------------
  { title: 'an unknown family', text: named('model:\n  family: vgg16\n'), expect: ['model.family: unknown model family "vgg16" (did you mean "vgg"?); valid: mlp, vgg, resnet'] },
  { title: 'a model config as a list', text: named('model:\n  config: [256, 256]\n'), expect: ['model.config: expected a mapping of fields, got a list [256,256]'] },
  { title: 'mlp: no hidden layers', text: named('model:\n  config: { hidden: [] }\n'), expect: ['model.config.hidden: expected at least 1 item, got a list []'] },
  { title: 'mlp: a fractional width', text: named('model:\n  config: { hidden: [64, 2.5] }\n'), expect: ['model.config.hidden[1]: expected an integer, got 2.5'] },
  { title: 'mlp: a zero width', text: named('model:\n  config: { hidden: [0] }\n'), expect: ['model.config.hidden[0]: expected an integer > 0, got 0'] },
  {
    title: 'mlp: a width far beyond any memory',
    text: named('model:\n  config: { hidden: [100000000] }\n'),
    expect: ['model.config: this mlp model has 79,500,000,010 parameters (296.2 GiB of float32); expected at most 1,073,741,824 (4.0 GiB)'],
  },
  { title: 'mlp: widths as one string', text: named('model:\n  config: { hidden: "256,256" }\n'), expect: ['model.config.hidden: expected a list, got "256,256"'] },
  { title: 'vgg: a bad layout token', text: named('model:\n  family: vgg\n  config: { layout: [16, X, M] }\nmerge: { alphas: [uniform] }\n'), expect: ['model.config.layout[1]: expected vgg11, or a list of conv widths and "M" (max-pool), got "X"'] },
  { title: 'vgg: an unknown layout name', text: named('model:\n  family: vgg\n  config: { layout: vgg16 }\nmerge: { alphas: [uniform] }\n'), expect: ['model.config.layout: expected vgg11, or a list of conv widths and "M" (max-pool), got "vgg16"'] },
  { title: 'vgg: a fractional conv width', text: named('model:\n  family: vgg\n  config: { layout: [16.5, M] }\nmerge: { alphas: [uniform] }\n'), expect: ['model.config.layout[0]: expected vgg11, or a list', 'got 16.5'] },
  { title: 'vgg: only max-pools', text: named('model:\n  family: vgg\n  config: { layout: [M, M] }\nmerge: { alphas: [uniform] }\n'), expect: ['model.config.layout: expected at least one convolution width besides "M", got a list ["M","M"]'] },
  {
    title: 'vgg: more max-pools than MNIST images allow',
    text: named('model:\n  family: vgg\n  config: { layout: [8, M, 8, M, 8, M, 8, M, 8, M] }\nmerge: { alphas: [uniform] }\n'),
    expect: ['model.config: a VGG layout with 5 max-pools needs inputs of at least 32x32, got 28x28', 'for mnist inputs'],
  },
  { title: 'vgg: a zero width multiplier', text: named('model:\n  family: vgg\n  config: { width: 0 }\nmerge: { alphas: [uniform] }\n'), expect: ['model.config.width: expected a number > 0, got 0'] },
  { title: 'vgg: batchNorm as a word', text: named('model:\n  family: vgg\n  config: { batchNorm: "yes" }\nmerge: { alphas: [uniform] }\n'), expect: ['model.config.batchNorm: expected true or false, got "yes"'] },
  {
    title: 'resnet: blocks and widths of different lengths',
    text: named('model:\n  family: resnet\n  config: { blocks: [1, 1, 1], widths: [8, 16] }\nmerge: { alphas: [uniform] }\n'),
    expect: ['model.config.widths: expected one width per stage, as many as model.config.blocks (3), got a list [8,16]'],
  },
  { title: 'resnet: no stages', text: named('model:\n  family: resnet\n  config: { blocks: [] }\nmerge: { alphas: [uniform] }\n'), expect: ['model.config.blocks: expected at least 1 item'] },
  { title: 'resnet: a negative width', text: named('model:\n  family: resnet\n  config: { widths: [-16, 32, 64] }\nmerge: { alphas: [uniform] }\n'), expect: ['model.config.widths[0]: expected an integer > 0, got -16'] },

  // --- train ---------------------------------------------------------------------------------
  { title: 'train as a number', text: named('train: 10\n'), expect: ['train: expected a mapping of fields, got 10'] },
  { title: 'one base model', text: named('train:\n  models: 1\n'), expect: ['train.models: expected an integer >= 2, got 1'] },
  { title: 'zero epochs', text: named('train:\n  epochs: 0\n'), expect: ['train.epochs: expected an integer > 0, got 0'] },
  { title: 'epochs as a word', text: named('train:\n  epochs: ten\n'), expect: ['train.epochs: expected a number, got "ten"'] },
  { title: 'fractional epochs', text: named('train:\n  epochs: 2.5\n'), expect: ['train.epochs: expected an integer, got 2.5'] },
  { title: 'batch size 0', text: named('train:\n  batchSize: 0\n'), expect: ['train.batchSize: expected an integer > 0, got 0'] },
  { title: 'a negative batch size', text: named('train:\n  batchSize: -32\n'), expect: ['train.batchSize: expected an integer > 0, got -32'] },
  { title: 'learning rate 0', text: named('train:\n  learningRate: 0\n'), expect: ['train.learningRate: expected a number > 0, got 0'] },
  { title: 'a negative learning rate', text: named('train:\n  learningRate: -0.1\n'), expect: ['train.learningRate: expected a number > 0, got -0.1'] },
  { title: 'learning rate .nan', text: named('train:\n  learningRate: .nan\n'), expect: ['train.learningRate: expected a number, got NaN'] },
  { title: 'learning rate .inf', text: named('train:\n  learningRate: .inf\n'), expect: ['train.learningRate: expected a number, got Infinity'] },
  { title: 'a quoted learning rate', text: named('train:\n  learningRate: "0.05"\n'), expect: ['train.learningRate: expected a number, got "0.05"'] },
  { title: 'momentum above 1', text: named('train:\n  momentum: 1.5\n'), expect: ['train.momentum: expected a number <= 1, got 1.5'] },
  { title: 'negative weight decay', text: named('train:\n  weightDecay: -0.0005\n'), expect: ['train.weightDecay: expected a number >= 0, got -0.0005'] },
  { title: 'an unknown optimizer', text: named('train:\n  optimizer: sdg\n'), expect: ['train.optimizer: expected one of sgd, adam, got "sdg" (did you mean "sgd"?)'] },
  { title: 'an unknown schedule', text: named('train:\n  schedule: cosin\n'), expect: ['train.schedule: expected one of constant, cosine, linear, got "cosin" (did you mean "cosine"?)'] },
  { title: 'negative warm-up', text: named('train:\n  warmupEpochs: -1\n'), expect: ['train.warmupEpochs: expected a number >= 0, got -1'] },
  { title: 'augment flip as yes', text: named('train:\n  augment: { flip: yes }\n'), expect: ['train.augment.flip: expected true or false, got "yes"'] },
  { title: 'fractional crop padding', text: named('train:\n  augment: { cropPadding: 2.5 }\n'), expect: ['train.augment.cropPadding: expected an integer, got 2.5'] },
  { title: 'augment as a list', text: named('train:\n  augment: [flip]\n'), expect: ['train.augment: expected a mapping of fields, got a list ["flip"]'] },

  // --- align ---------------------------------------------------------------------------------
  { title: 'an unknown aligner', text: named('align:\n  methods: [ccaa]\n'), expect: ['align.methods[0]: expected one of none, permutation, cca, weight-matching, got "ccaa" (did you mean "cca"?)'] },
  { title: 'no aligners', text: named('align:\n  methods: []\n'), expect: ['align.methods: expected at least 1 item, got a list []'] },
  { title: 'aligners as one string', text: named('align:\n  methods: cca\n'), expect: ['align.methods: expected a list, got "cca"'] },
  { title: 'an aligner twice', text: named('align:\n  methods: [cca, none, cca]\n'), expect: ['align.methods: expected each method at most once, got a list ["cca","none","cca"]'] },
  { title: 'a negative ridge', text: named('align:\n  gamma: -0.001\n'), expect: ['align.gamma: expected a number >= 0, got -0.001'] },
  { title: 'ridge -.inf', text: named('align:\n  gamma: -.inf\n'), expect: ['align.gamma: expected a number, got -Infinity'] },
  { title: 'an unknown BatchNorm mode', text: named('align:\n  batchNorm: folded\n'), expect: ['align.batchNorm: expected one of fold-scale, transform, fold, got "folded" (did you mean "fold"?)'] },
  { title: 'alignment batch size 0', text: named('align:\n  batchSize: 0\n'), expect: ['align.batchSize: expected an integer > 0, got 0'] },

  // --- merge ---------------------------------------------------------------------------------
  { title: 'an unknown alpha kind', text: named('merge:\n  alphas: [uniform, fischer]\n'), expect: ['merge.alphas[1]: expected one of uniform, fisher, learned, got "fischer" (did you mean "fisher"?)'] },
  { title: 'an alpha kind twice', text: named('merge:\n  alphas: [learned, learned]\n'), expect: ['merge.alphas: expected each kind at most once'] },
  { title: 'an unknown alpha init', text: named('merge:\n  init: learned\n'), expect: ['merge.init: expected one of uniform, fisher, got "learned"'] },
  { title: 'an unknown Fisher mode', text: named('merge:\n  fisherMode: empiric\n'), expect: ['merge.fisherMode: expected one of expected, empirical, got "empiric" (did you mean "empirical"?)'] },
  { title: 'zero alpha steps', text: named('merge:\n  steps: 0\n'), expect: ['merge.steps: expected an integer > 0, got 0'] },
  { title: 'alpha learning rate 0', text: named('merge:\n  learningRate: 0\n'), expect: ['merge.learningRate: expected a number > 0, got 0'] },
  { title: 'validation fraction 1', text: named('merge:\n  validationFraction: 1\n'), expect: ['merge.validationFraction: expected a number < 1, got 1'] },
  { title: 'validation fraction 0', text: named('merge:\n  validationFraction: 0\n'), expect: ['merge.validationFraction: expected a number > 0, got 0'] },
  { title: 'validation fraction as a percentage', text: named('merge:\n  validationFraction: 20\n'), expect: ['merge.validationFraction: expected a number < 1, got 20'] },
  { title: 'evaluation every 0 steps', text: named('merge:\n  evalEvery: 0\n'), expect: ['merge.evalEvery: expected an integer > 0, got 0'] },
  { title: 'fractional BatchNorm reset examples', text: named('merge:\n  resetExamples: 2.5\n'), expect: ['merge.resetExamples: expected an integer, got 2.5'] },
  {
    title: 'learned alpha on a one-example merge split',
    text: named('data:\n  split: { merge: 1 }\nmerge:\n  alphas: [learned]\n'),
    expect: ['data.split.merge: learned: learned alpha', 'needs at least 2 examples; got 1'],
  },

  // --- many models ------------------------------------------------------------------------------
  {
    title: 'more models to merge than the run trains',
    text: named('train:\n  models: 3\nmany:\n  models: [2, 4]\n  strategies: [{ strategy: all-to-one, align: cca, alpha: uniform }]\n'),
    expect: ['many.models: 4 is more than the 3 base models the recipe trains (train.models)'],
  },
  {
    title: 'an unknown strategy',
    text: named('many:\n  models: [2]\n  strategies: [{ strategy: all-to-two, align: cca, alpha: uniform }]\n'),
    expect: ['many.strategies[0].strategy: expected one of all-to-one, hierarchical, merge-many, got "all-to-two" (did you mean "all-to-one"?)'],
  },
  {
    title: 'merge-many with an aligner that has no joint form',
    text: named('many:\n  models: [2]\n  strategies: [{ strategy: merge-many, align: cca, alpha: uniform }]\n'),
    expect: ['many.strategies: merge-many: cca has no joint form for many models'],
  },
  {
    title: 'an unknown reference rule',
    text: named('many:\n  models: [2]\n  reference: bestest\n  strategies: [{ strategy: all-to-one, align: cca, alpha: uniform }]\n'),
    expect: ['many.reference: expected one of first, best, worst, got "bestest"'],
  },
  {
    title: 'merging one model',
    text: named('many:\n  models: [1, 2]\n  strategies: [{ strategy: all-to-one, align: cca, alpha: uniform }]\n'),
    expect: ['many.models[0]: expected an integer >= 2, got 1'],
  },
  { title: 'many models without strategies', text: named('many:\n  models: [2]\n'), expect: ['many.strategies'] },
  { title: 'an override merging more models than trained', text: named('many:\n  models: [2]\n  strategies: [{ strategy: hierarchical, align: none, alpha: uniform }]\n'), args: ['--many', '2,3'], expect: ['many.models: 3 is more than the 2 base models'] },

  // --- command-line overrides on a valid recipe -------------------------------------------------
  { title: 'an override with an unknown aligner', text: named(''), args: ['--align', 'cca,permutaion'], expect: ['align.methods[1]: expected one of none, permutation, cca, weight-matching, got "permutaion" (did you mean "permutation"?)'] },
  { title: 'an override of epochs to 0', text: named(''), args: ['--epochs', '0'], expect: ['train.epochs: expected an integer > 0, got 0'] },
  { title: 'an override with an unknown family', text: named(''), args: ['--family', 'mpl'], expect: ['model.family: unknown model family "mpl" (did you mean "mlp"?)'] },
];
