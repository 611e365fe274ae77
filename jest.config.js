/**
 * One project per test layer: unit, integration (real Temporal and databases, no lab), lab (host
 * activities against the libvirt lab) and e2e (ferry's whole stack on the lab). `npm test` runs
 * them all (scripts/test says in which lanes).
 */
const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
  ],
};

const layer = (name) => ({
  displayName: name,
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: [`<rootDir>/test/${name}/**/*.test.ts`],
  transform,
  testEnvironment: 'node',
  slowTestThreshold: 30,
  setupFiles: ['<rootDir>/test/quiet-temporal-runtime.ts'],
});

module.exports = {
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  transform,
  testTimeout: 120_000,
  projects: [layer('unit'), layer('integration'), layer('lab'), layer('e2e')],
};
