/**
 * The layers of src/, lowest first: a folder may import its own files and the folders of lower
 * layers, never a higher layer or another folder of its own layer. `npm test` checks this (and that
 * there are no import cycles) through test/architecture.test.ts; `npx depcruise src` prints it.
 */
const layers = [
  ['util'],
  ['linalg', 'io'],
  ['data'],
  ['nn'],
  ['align'],
  ['eval'],
  ['train'],
  ['merge'],
  ['backend'],
  ['artifacts'],
  ['interop'],
  ['report'],
  ['recipe'],
  ['stages'],
  ['pool'],
  ['run'],
  ['sweep'],
  ['cli'],
];

const forbidden = layers.flatMap((layer, rank) =>
  layer.map((folder) => {
    const barred = [...layers.slice(rank + 1).flat(), ...layer.filter((other) => other !== folder)];
    return {
      name: `layer-${folder}`,
      comment: `${folder} may import only ${layers.slice(0, rank).flat().join(', ') || 'nothing else'} (lower layers)`,
      severity: 'error',
      from: { path: `^src/${folder}/` },
      to: { path: `^src/(${barred.join('|')})/` },
    };
  }),
);

module.exports = {
  forbidden: [
    ...forbidden,
    {
      name: 'no-cycles',
      comment: 'modules must not import each other in a cycle',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    exclude: { path: '\\.wat$' },
  },
};
