/**
 * The browser tier (`npm run test:browser`, docs/web.md): the built app as a process, driven
 * through Debian's Chromium by puppeteer-core. Its own config, not a project of jest.config.js, so
 * `npm test` stays runnable without a browser; .ci/run runs it as a step of its own.
 */
const base = require('./jest.config.js');
const { transform, transformIgnorePatterns } = base.projects[0];

module.exports = {
  globalSetup: base.globalSetup,
  globalTeardown: base.globalTeardown,
  maxWorkers: 2,
  testTimeout: 120000,
  projects: [
    {
      displayName: 'browser',
      testEnvironment: 'node',
      rootDir: '.',
      testMatch: ['<rootDir>/test/browser/**/*.browser-spec.ts'],
      transform,
      transformIgnorePatterns,
    },
  ],
};
