/** One project per test layer; `npm test` runs all three, in this order. */
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
  projects: [layer('unit'), layer('integration'), layer('e2e')],
};
