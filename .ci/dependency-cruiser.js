// dependency-cruiser: the layer rule and no cycles, for `npm run check:deps`.
// Imports run one way, top to bottom; modules on one layer may import each
// other (but never in a cycle). src/index.ts, the public API, may import
// anything and nothing in src may import it. A file at the top of src/ is a
// base module; a new folder must be given a layer here before it may import
// anything.
const layers = [
  // Base modules: every file at the top of src/ but the public API.
  ['base', '^src/(?!index\\.ts$)[^/]+\\.ts$'],
  ['pg', '^src/pg/'],
  ['schema', '^src/schema/'],
  ['tenants', '^src/tenants/'],
  ['local', '^src/local/'],
  ['secrets', '^src/secrets/'],
  ['servers', '^src/servers/'],
  ['pools, context, runtime', '^src/(pools|context|runtime)/'],
  ['server, worker, provision, migrate, status', '^src/(server|worker|provision|migrate|status)/'],
  // Observes pools, worker, server and migrate: above them, below the applications.
  ['metrics', '^src/metrics/'],
  // The ERP domain of the reference application (catalogs, documents, posting, users and tokens):
  // repositories and services over the request context; the HTTP routes and the CLI sit above it.
  ['erp', '^src/erp/'],
  ['cli, reference', '^src/(cli|reference)/'],
];

const upward = layers.flatMap(([name, path], i) =>
  layers.slice(i + 1).map(([above, abovePath]) => ({
    name: 'layer-upward-import',
    comment: `${name} may not import ${above}: imports run one way (see the README's Development section)`,
    severity: 'error',
    from: { path },
    to: { path: abovePath },
  })),
);

export default {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'import cycles hide the order modules load in and tie layers together',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...upward,
    {
      name: 'no-import-of-public-api',
      comment: 'src/index.ts sits above everything; modules import the module that defines a name',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/index\\.ts$' },
      to: { path: '^src/index\\.ts$' },
    },
    {
      name: 'layer-unknown',
      comment: 'every module in src belongs to a layer: add a new folder to the layers in .ci/dependency-cruiser.js',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/index\\.ts$', ...layers.map(([, path]) => path)] },
      to: { path: '^src/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true, // `import type` counts: types follow the same layers
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
